"""Logging in from the mini-program, and logging out."""

from pyramid.view import view_config

from portal.messaging import runtime
from portal.refusal import Refusal
from portal.services import identity
from portal.timefmt import api_time

from . import json_body
from .me import present_me


@view_config(route_name="api.auth.miniprogram", request_method="POST", renderer="json", require_csrf=False, openapi=True)
def miniprogram_login(request):
    """``{"code": <wx.login() code>}`` → our token; WeChat's session_key stays on the server."""
    code = json_body(request).get("code")
    if not isinstance(code, str) or not code.strip():
        raise Refusal("invalid", "缺少登录凭证 code", {"code": "请提供 wx.login() 返回的 code"})
    user, token, record = identity.login_with_miniprogram(request.dbsession, runtime().wechat(), code.strip())
    return {"token": token, "expires_at": api_time(record.expires_at), "me": present_me(request, user)}


@view_config(
    route_name="api.auth.logout", request_method="POST", renderer="json", permission="wechat", require_csrf=False, openapi=True
)
def logout(request):
    identity.revoke_token(request.dbsession, request.wechat_identity.token_id)
    request.session.pop("wechat_token", None)
    return {"ok": True}
