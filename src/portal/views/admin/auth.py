"""Admin login and logout."""

from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from portal.refusal import Refusal
from portal.security import ADMIN_COOKIE
from portal.services import admin_accounts

from . import client_ip


def _safe_next(value):
    return value if value and value.startswith("/admin") and not value.startswith("//") else "/admin/"


def _set_cookie(request, response, token):
    secure = request.registry.catalogue.settings.secure_cookies
    response.set_cookie(ADMIN_COOKIE, token, httponly=True, secure=secure, samesite="Lax", path="/admin", max_age=12 * 3600)


@view_config(route_name="admin.login", request_method="GET", renderer="admin/login.html")
def login_form(request):
    return {"username": "", "error": None, "next": _safe_next(request.params.get("next"))}


@view_config(route_name="admin.login", request_method="POST", renderer="admin/login.html")
def login(request):
    username = request.POST.get("username", "")
    next_page = _safe_next(request.POST.get("next"))
    try:
        admin = admin_accounts.authenticate(request.dbsession, username, request.POST.get("password", ""), ip=client_ip(request))
    except Refusal as refusal:
        request.response.status = 400
        return {"username": username, "error": refusal.message, "next": next_page}
    token = admin_accounts.start_session(
        request.dbsession, admin, ip=client_ip(request), user_agent=request.user_agent
    )
    # Rotate: the pre-login session (and its CSRF token) is dropped.
    request.session.invalidate()
    request.session.flash(f"欢迎，{admin.display_name}", "success")
    response = HTTPFound(next_page)
    _set_cookie(request, response, token)
    return response


@view_config(route_name="admin.logout", request_method="POST", permission="admin")
def logout(request):
    admin_accounts.end_session(request.dbsession, request.admin_session)
    request.session.invalidate()
    response = HTTPFound(request.route_url("admin.login"))
    response.delete_cookie(ADMIN_COOKIE, path="/admin")
    return response
