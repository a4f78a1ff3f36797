"""H5 pages inside WeChat: web authorization (OAuth) and the entrance page."""

import secrets
from urllib.parse import urlsplit

from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from portal.messaging import runtime
from portal.refusal import Refusal
from portal.services import identity


def _safe_next(value):
    """Only our own pages: a relative path, never another host."""
    if not value or not value.startswith("/") or value.startswith("//") or urlsplit(value).netloc:
        return "/h5/"
    return value


@view_config(route_name="wechat.login", request_method="GET")
def wechat_login(request):
    """Send the browser to WeChat's authorize page; ``state`` ties the answer to this session."""
    state = secrets.token_urlsafe(24)
    request.session["oauth_state"] = state
    request.session["oauth_next"] = _safe_next(request.params.get("next"))
    redirect_uri = request.registry.catalogue.settings.public_url.rstrip("/") + request.route_path("wechat.callback")
    return HTTPFound(runtime().wechat().authorize_url(redirect_uri, state))


@view_config(route_name="wechat.callback", request_method="GET", renderer="error.html")
def wechat_callback(request):
    expected = request.session.pop("oauth_state", None)
    next_page = request.session.pop("oauth_next", "/h5/")
    state = request.params.get("state")
    if not expected or not state or not secrets.compare_digest(expected, state):
        request.response.status = 400
        return {"title": "登录已失效", "message": "登录状态已失效或来源不明，请从公众号菜单重新进入。"}
    try:
        user, token, _ = identity.login_with_oauth(request.dbsession, runtime().wechat(), request.params.get("code"))
    except Refusal as exc:
        request.response.status = exc.status
        return {"title": "登录失败", "message": exc.message}
    # A new session at login: nothing from before survives, the CSRF token included.
    request.session.invalidate()
    request.session["wechat_token"] = token
    return HTTPFound(next_page)


@view_config(route_name="h5.home", renderer="h5/home.html", permission="wechat")
@view_config(route_name="h5.area", renderer="h5/home.html", permission="wechat")
def h5_home(request):
    areas = {area.name: area.label for area in request.registry.catalogue.areas.values()}
    user = request.wechat_user
    return {"user": user, "areas": areas, "current": request.matchdict.get("area"), "roles": identity.roles(user)}
