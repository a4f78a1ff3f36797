"""What callers see when something is wrong: JSON under /api, pages elsewhere, always Chinese."""

import logging

from pyramid.csrf import get_csrf_token
from pyramid.exceptions import BadCSRFToken, PredicateMismatch
from pyramid.httpexceptions import HTTPBadRequest, HTTPFound, HTTPMethodNotAllowed
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config
from pyramid_openapi3.exceptions import RequestValidationError, ResponseValidationError

from portal.contract import NoCredentials, NotInDocument, ParameterProblem, label_of
from portal.refusal import Refusal
from portal.security import csrf_refused

from .api import error_response
from .api.callbacks import SIGNED_BY

log = logging.getLogger(__name__)

#: An H5 page's write without its CSRF token (portal.security.csrf_refused).
STALE_PAGE = "页面已过期，请刷新后重试"


def _is_api(request):
    return request.path_info.startswith("/api/")


def _page(request, status, title, message):
    request.response.status = status
    return {"title": title, "message": message}


_METHODS = ("get", "put", "post", "patch", "delete")


def _not_allowed(request):
    """405 with ``Allow``: the methods the API contract documents for the matched path (RFC 9110)."""
    response = error_response(405, "method_not_allowed", "不支持该请求方法")
    spec = request.registry.settings["pyramid_openapi3"]["spec"]
    pattern = request.matched_route.pattern if request.matched_route else None
    if pattern is not None and pattern in spec["paths"]:
        response.headers["Allow"] = ", ".join(m.upper() for m in spec["paths"][pattern].keys() if m in _METHODS)
    return response


def utf8_url_tween_factory(handler, registry):
    """Refuse a URL whose percent-encoding is not UTF-8 before anything (pyramid_tm, the security
    policy, routing) tries to decode it and fails outside every error view."""

    def utf8_url_tween(request):
        try:
            # Decoding is the check: both raise on bytes that are not UTF-8.
            _ = request.path_info, request.GET
        except UnicodeDecodeError:
            if request.environ.get("PATH_INFO", "").startswith("/api/"):
                return error_response(400, "invalid", "请求地址含有无效的字符（须为 UTF-8 编码）")
            return HTTPBadRequest(text="请求地址含有无效的字符。", charset="utf-8")
        return handler(request)

    return utf8_url_tween


@exception_view_config(Refusal, renderer="error.html")
def refused(refusal, request):
    """A service or view refused the request: the API's error shape, or the error page."""
    if _is_api(request):
        return error_response(refusal.status, refusal.code, refusal.message, refusal.fields)
    return _page(request, refusal.status, "无法完成请求", refusal.message)


@forbidden_view_config(renderer="error.html")
def forbidden(exc, request):
    if _is_api(request):
        identity = request.wechat_identity
        if identity is None:
            if csrf_refused(request):
                return error_response(403, "csrf", STALE_PAGE)
            return error_response(401, "unauthenticated", "请先登录")
        if not identity.is_active:
            return error_response(403, "account_disabled", "您的账号已被停用，如有疑问请联系管理员")
        return error_response(403, "forbidden", "您没有权限执行此操作")
    if request.path_info.startswith("/admin"):
        if request.admin_session is None:
            return HTTPFound(request.route_url("admin.login", _query={"next": request.path_qs}))
        return _page(request, 403, "无权访问", "您的账号没有访问该页面的权限，请联系超级管理员。")
    if request.path_info.startswith("/h5"):
        identity = request.wechat_identity
        if identity is not None and not identity.is_active:
            return _page(request, 403, "账号已停用", "您的账号已被停用，如有疑问请联系管理员。")
        return HTTPFound(request.route_url("wechat.login", _query={"next": request.path_qs}))
    return _page(request, 403, "无权访问", "您没有访问该页面的权限。")


@notfound_view_config(renderer="error.html")
def not_found(exc, request):
    if _is_api(request):
        if isinstance(exc, PredicateMismatch) and request.matched_route is not None:
            # The path exists; no view takes this method (TRACE, PUT on a GET-only path …).
            return _not_allowed(request)
        return error_response(404, "not_found", "请求的资源不存在")
    return _page(request, 404, "页面不存在", "您访问的页面不存在。")


@exception_view_config(BadCSRFToken, renderer="error.html")
def bad_csrf(exc, request):
    # A fresh token for the next try: the page may have been open for a long time.
    get_csrf_token(request)
    if _is_api(request):
        return error_response(403, "csrf", STALE_PAGE)
    return _page(request, 400, "页面已过期", "页面已过期或来源不明，请返回刷新后重新提交。")


@exception_view_config(HTTPMethodNotAllowed, renderer="error.html")
def method_not_allowed(exc, request):
    if _is_api(request):
        return _not_allowed(request)
    return _page(request, 405, "请求方式错误", "不支持该请求方式。")


@exception_view_config(UnicodeDecodeError, renderer="error.html")
def undecodable_body(exc, request):
    """A body that is not UTF-8, read as text by a view. (The body of an /api view is refused
    before that, by the API contract: see contract_request_refused.)"""
    try:
        request.body.decode("utf-8")
    except UnicodeDecodeError:
        log.info("body of %s %s is not UTF-8", request.method, request.path_info)
    else:
        return internal_error(exc, request)  # not the body's fault
    if _is_api(request):
        return error_response(400, "invalid_json", "请求内容不是有效的 JSON（须为 UTF-8 编码）")
    return _page(request, 400, "请求无效", "提交的内容编码不正确，请返回刷新后重试。")


@exception_view_config(Exception, renderer="error.html")
def internal_error(exc, request):
    log.exception("unhandled error on %s %s", request.method, request.path_info)
    if _is_api(request):
        return error_response(500, "internal_error", "服务器内部错误，请稍后再试")
    return _page(request, 500, "服务器错误", "服务器内部错误，请稍后再试。")


# -- the API contract (portal/openapi.yaml) ------------------------------------------------------
# These replace pyramid_openapi3's own views for its two exceptions (this configuration is the
# top level, so it overrides what the package's includeme registered for the same context).

_TYPES = {
    "integer": "须为整数", "number": "须为数字", "string": "须为字符串", "boolean": "须为 true 或 false",
    "array": "须为数组", "object": "须为对象",
}
_FORMATS = {
    "date": "格式应为 YYYY-MM-DD",
    "date-time": "格式应为带时区的 ISO 8601 时间，如 2026-11-26T09:00:00+08:00",
    "int32": "超出整数范围", "int64": "超出整数范围",
}


def _schema_message(error):
    """A short Chinese message for one JSON Schema error (jsonschema's ValidationError)."""
    kind, limit = error.validator, error.validator_value
    if kind in ("anyOf", "oneOf") and error.context:
        # What the first alternative says (a date or nothing picked: the date's format).
        return _schema_message(min(error.context, key=lambda e: list(e.relative_schema_path)))
    if kind == "type":
        return _TYPES.get(limit, "类型不正确") if isinstance(limit, str) else "类型不正确"
    if kind == "required":
        return "必填"
    if kind == "enum":
        return "可选值：" + "、".join("null" if v is None else str(v) for v in limit)
    if kind == "format":
        return _FORMATS.get(limit, "格式不正确")
    if kind == "pattern":
        return "格式不正确"
    if kind == "minimum":
        return f"不能小于 {limit}"
    if kind == "maximum":
        return f"不能大于 {limit}"
    if kind == "minLength":
        return "不能为空" if limit == 1 else f"不能少于 {limit} 个字"
    if kind == "maxLength":
        return f"不能超过 {limit} 个字"
    if kind == "minItems":
        return "至少选择一项" if limit == 1 else f"至少 {limit} 项"
    if kind == "maxItems":
        return f"最多 {limit} 项"
    if kind == "minProperties":
        return "不能为空" if limit == 1 else f"至少 {limit} 项"
    if kind == "maxProperties":
        return f"最多 {limit} 项"
    if kind == "additionalProperties":
        return "不支持的字段"
    return "不符合接口约定"


def _field(parts):
    return ".".join(str(part) for part in parts)


def _schema_problems(schema_errors, label, prefix=()):
    """``(field path, message, label)`` for JSON Schema errors; a missing property is named
    itself. ``label(path)`` names a field as the document titles it."""
    for error in schema_errors:
        path = tuple(error.path)
        if error.validator == "required" and isinstance(error.instance, dict):
            for name in error.validator_value:
                if name not in error.instance:
                    yield _field((*prefix, *path, name)), "必填", label((*path, name))
        else:
            yield _field((*prefix, *path)) or "body", _schema_message(error), label(path)


def _sentence(label, problem, path):
    """One field's problem said of it: 请填写品名, 数量须为整数 (a field the document gives no
    title is named by its path)."""
    if label is None:
        return f"{path}：{problem}"
    if problem == "必填":
        return f"请填写{label}"
    if problem.startswith("可选值："):
        return f"{label}的{problem}"
    return f"{label}{problem}"


_PARAMETER_PROBLEMS = {"missing": "必填", "empty": "格式不正确"}
_BODY_PROBLEMS = {
    "missing": "请求内容须为 JSON 对象",
    "media_type": "请求内容须为 JSON（Content-Type: application/json）",
    "not_json": "请求内容不是有效的 JSON",
    "schema": "请求内容须为 JSON 对象",  # when the body itself has the wrong type
}


def _contract_refusal(errors):
    """(code, message, fields) for the parameter and body problems portal.contract found. The
    message says the first field's problem in a sentence, with the field's title in the document."""
    fields, labels, problem = {}, {}, None
    for error in errors:
        found = ()
        if isinstance(error, ParameterProblem):
            if error.kind == "schema":
                found = _schema_problems(error.schema_errors, lambda path, error=error: error.label, (error.name,))
            elif error.kind == "cast":  # "abc" for an integer
                found = [(error.name, _TYPES[error.cast_to], error.label)]
            else:
                found = [(error.name, _PARAMETER_PROBLEMS[error.kind], error.label)]
        # The rest is the body's (BodyProblem).
        elif error.kind == "not_utf8":
            # Nothing else is said about such a request: its text cannot even be shown.
            return "invalid_json", "请求内容不是有效的 JSON（须为 UTF-8 编码）", {}
        elif error.kind == "schema" and not any(not e.path and e.validator == "type" for e in error.schema_errors):
            found = _schema_problems(error.schema_errors, lambda path, error=error: label_of(error.schema, path))
        else:
            problem = problem or _BODY_PROBLEMS[error.kind]
        for path, message, label in found:
            if path not in fields:
                fields[path], labels[path] = message, label
    if problem or not fields:
        return "invalid_json", problem or _BODY_PROBLEMS["schema"], fields
    first = next(iter(fields))
    message = _sentence(labels[first], fields[first], first)
    if len(fields) > 1:
        message += f"，另有 {len(fields) - 1} 项需修改"
    return "invalid", message, fields


@exception_view_config(RequestValidationError)
def contract_request_refused(exc, request):
    """A request the API contract refuses (portal.contract.RequestRefused): 400 in our error shape
    (401 without credentials, 404/405 for what the document does not have)."""
    log.info("request refused by the API contract on %s %s: %s", request.method, request.path_info, exc)
    if missing := next((error for error in exc.errors if isinstance(error, NotInDocument)), None):
        # A method the document does not have for this path (HEAD on a GET): nothing to check
        # our answer against either.
        request.environ["pyramid_openapi3.validate_response"] = False
        if missing.path_documented:
            return _not_allowed(request)
        return error_response(404, "not_found", "请求的资源不存在")
    if any(isinstance(error, NoCredentials) for error in exc.errors):
        if csrf_refused(request):
            return error_response(403, "csrf", STALE_PAGE)
        return error_response(401, "unauthenticated", "请先登录")
    code, message, fields = _contract_refusal(exc.errors)
    if code == "invalid" and request.environ.get(SIGNED_BY):
        # A contract system's callback (its signature already checked): an event that does not
        # follow the document is a 422, as docs/contract.md says.
        return error_response(422, "invalid_event", "事件格式不正确", fields)
    return error_response(400, code, message, fields)


@exception_view_config(ResponseValidationError)
def contract_response_broken(exc, request):
    """Our own answer does not follow the API contract: a bug, logged in full; the caller gets a 500."""
    log.error(
        "response of %s %s (route %s, status %s) does not follow the API contract: %s\nbody: %s",
        request.method, request.path_info, getattr(request.matched_route, "name", None),
        exc.response.status, exc, exc.response.body[:2000].decode("utf-8", "replace"),
    )
    return error_response(500, "internal_error", "服务器内部错误，请稍后再试")
