"""H5 pages inside WeChat: web authorization (OAuth) and the built front end (``frontend/``).

The front end is a single-page app (Vue + Vant, built by Vite into ``portal.h5_dist``): every
page path under ``/h5/`` answers its ``index.html``, which must never be cached, and the hashed
files under ``/h5/assets/`` are cached for a year, as their names change with their content.
A stranger opening a page is sent through WeChat's silent authorization first (the forbidden
view in ``portal.views.errors``) and comes back to the page opened.
"""

import mimetypes
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.response import FileResponse
from pyramid.view import view_config

from portal.messaging import runtime
from portal.refusal import Refusal
from portal.services import identity

#: Where ``make frontend`` (``npm run build`` in frontend/) writes the build, in a checkout.
DEFAULT_DIST = Path(__file__).resolve().parents[3] / "frontend" / "dist"
#: Vite's output names: letters, digits, dashes, underscores and dots, never a path.
ASSET_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
IMMUTABLE = "public, max-age=31536000, immutable"


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


def dist_dir(request):
    return Path(request.registry.catalogue.settings.h5_dist or DEFAULT_DIST)


def _not_built(request, path):
    # For whoever runs the server: a page that says what to do instead of a traceback.
    request.response.status = 503
    return {
        "title": "页面尚未构建",
        "message": f"未找到前端构建文件 {path}。请在项目目录运行 make frontend"
        "（即在 frontend/ 中运行 npm ci 与 npm run build），或用 PORTAL_H5_DIST 指定构建目录。",
    }


@view_config(route_name="h5.page", request_method="GET", renderer="error.html", permission="wechat")
def h5_page(request):
    """Every page of the app: the router in the browser reads the path."""
    index = dist_dir(request) / "index.html"
    if not index.is_file():
        return _not_built(request, index)
    response = FileResponse(str(index), request=request, content_type="text/html")
    response.cache_control = "no-cache"
    return response


@view_config(route_name="h5.asset", request_method="GET", renderer="error.html")
def h5_asset(request):
    """A hashed build file: public, and the same bytes for as long as its name lives."""
    name = request.matchdict["name"]
    path = dist_dir(request) / "assets" / name
    if not ASSET_NAME.match(name) or not path.is_file():
        if not (dist_dir(request) / "index.html").is_file():
            return _not_built(request, path)
        raise HTTPNotFound()
    content_type, _ = mimetypes.guess_type(name)
    response = FileResponse(str(path), request=request, content_type=content_type or "application/octet-stream")
    response.cache_control = IMMUTABLE
    return response
