"""What callers see when something is wrong: JSON under /api, pages elsewhere, always Chinese."""

import logging

from pyramid.csrf import get_csrf_token
from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPFound, HTTPMethodNotAllowed
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config

from .api import error_response

log = logging.getLogger(__name__)


def _is_api(request):
    return request.path_info.startswith("/api/")


def _page(request, status, title, message):
    request.response.status = status
    return {"title": title, "message": message}


@forbidden_view_config(renderer="error.html")
def forbidden(exc, request):
    if exc.content_type == "application/json":
        return exc  # a view's own refusal (api_error), already explained
    if _is_api(request):
        token = request.api_token
        if token is None:
            return error_response(401, "unauthenticated", "请先登录")
        if not token.user.is_active:
            return error_response(403, "account_disabled", "您的账号已被停用，如有疑问请联系管理员")
        return error_response(403, "forbidden", "您没有权限执行此操作")
    if request.path_info.startswith("/admin"):
        if request.admin_session is None:
            return HTTPFound(request.route_url("admin.login", _query={"next": request.path_qs}))
        return _page(request, 403, "无权访问", "您的账号没有访问该页面的权限，请联系超级管理员。")
    if request.path_info.startswith("/h5"):
        token = request.api_token
        if token is not None and not token.user.is_active:
            return _page(request, 403, "账号已停用", "您的账号已被停用，如有疑问请联系管理员。")
        return HTTPFound(request.route_url("wechat.login", _query={"next": request.path_qs}))
    return _page(request, 403, "无权访问", "您没有访问该页面的权限。")


@notfound_view_config(renderer="error.html")
def not_found(request):
    if _is_api(request):
        return error_response(404, "not_found", "请求的资源不存在")
    return _page(request, 404, "页面不存在", "您访问的页面不存在。")


@exception_view_config(BadCSRFToken, renderer="error.html")
def bad_csrf(exc, request):
    # A fresh token for the next try: the page may have been open for a long time.
    get_csrf_token(request)
    if _is_api(request):
        return error_response(400, "csrf", "请求已过期，请刷新页面后重试")
    return _page(request, 400, "页面已过期", "页面已过期或来源不明，请返回刷新后重新提交。")


@exception_view_config(HTTPMethodNotAllowed, renderer="error.html")
def method_not_allowed(exc, request):
    if _is_api(request):
        return error_response(405, "method_not_allowed", "不支持该请求方法")
    return _page(request, 405, "请求方式错误", "不支持该请求方式。")


@exception_view_config(Exception, renderer="error.html")
def internal_error(exc, request):
    log.exception("unhandled error on %s %s", request.method, request.path_info)
    if _is_api(request):
        return error_response(500, "internal_error", "服务器内部错误，请稍后再试")
    return _page(request, 500, "服务器错误", "服务器内部错误，请稍后再试。")

