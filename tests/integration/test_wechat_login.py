"""Logging in with WeChat end to end: our app ↔ the WeChat simulator over real HTTP."""

import time
from urllib.parse import urlsplit

import pytest
import requests
import webtest
from sqlalchemy import select

from portal.db import Transaction
from portal.models.identity import ApiToken, WeChatUser

from ..support.testapp import build_app


@pytest.fixture
def app(settings, committed):
    return webtest.TestApp(build_app(settings), extra_environ={"HTTP_HOST": "portal.test"})


@pytest.fixture
def wechat(simulators):
    return simulators["wechat"]


def _authorize(app, openid, next_page="/h5/visitors"):
    """What the browser does: our login → WeChat's authorize page → back to our callback."""
    start = app.get("/auth/wechat/login", {"next": next_page}, status=302)
    authorize = start.location.split("#")[0]
    assert "scope=snsapi_base" in authorize and "state=" in authorize
    back = requests.get(authorize + "&sim_openid=" + openid, allow_redirects=False, timeout=5)
    assert back.status_code == 302
    callback = urlsplit(back.headers["Location"])
    assert callback.netloc == "portal.test" and callback.path == "/auth/wechat/callback"
    return callback.path + "?" + callback.query


def _users(session_factory):
    with Transaction(session_factory) as db:
        users = db.scalars(select(WeChatUser).order_by(WeChatUser.id)).all()
        db.expunge_all()
        return users


def test_oauth_login_creates_the_user_and_lands_on_the_page_asked_for(app, wechat, committed):
    person = wechat.add_user(nickname="张三")
    landing = app.get(_authorize(app, person.oa_openid), status=302)
    assert landing.location == "http://portal.test/h5/visitors"
    assert '<div id="app">' in app.get("/h5/visitors").text  # the H5 app (frontend/, built by make test)
    [user] = _users(committed)
    assert (user.oa_openid, user.mp_openid, user.login_count) == (person.oa_openid, None, 1)

    me = app.get("/api/me").json  # the H5 page's session cookie authenticates
    assert me["id"] == user.id and me["roles"] == ["visitor"]
    # Cookie-authenticated writes need the CSRF token from /api/me; without it (a stale page) the
    # answer says so, not "请先登录", which would send the page through the login again.
    stale = {"error": {"code": "csrf", "message": "页面已过期，请刷新后重试", "fields": {}}}
    assert app.patch_json("/api/me", {"display_name": "张三"}, status=403).json == stale
    assert app.patch_json("/api/me", {"display_name": "张三"}, headers={"X-CSRF-Token": "stale"}, status=403).json == stale
    app.patch_json("/api/me", {"display_name": "张三"}, headers={"X-CSRF-Token": me["csrf_token"]})
    assert _users(committed)[0].display_name == "张三"

    # A second login is the same user, with a fresh session.
    app.reset()
    app.get(_authorize(app, person.oa_openid), status=302)
    [user] = _users(committed)
    assert user.login_count == 2


def test_h5_pages_send_strangers_through_wechat_login(app):
    response = app.get("/h5/canteen", status=302)
    assert response.location.startswith("http://portal.test/auth/wechat/login?next=%2Fh5%2Fcanteen")


def test_a_foreign_or_replayed_state_is_refused(app, wechat, committed):
    person = wechat.add_user()
    callback = _authorize(app, person.oa_openid)
    other_browser = webtest.TestApp(app.app, extra_environ={"HTTP_HOST": "portal.test"})
    assert "登录已失效" in other_browser.get(callback, status=400).text
    app.get(callback, status=302)
    assert "登录已失效" in app.get(callback, status=400).text  # the state is single use
    assert len(_users(committed)) == 1


def test_a_reused_code_is_refused(app, wechat, committed):
    person = wechat.add_user()
    first = _authorize(app, person.oa_openid)
    app.get(first, status=302)
    code = first.split("code=")[1].split("&")[0]
    second = _authorize(app, person.oa_openid)
    replay = second.replace(second.split("code=")[1].split("&")[0], code)
    assert "授权码已被使用" in app.get(replay, status=400).text


def test_an_expired_code_is_refused(app, wechat, monkeypatch):
    person = wechat.add_user()
    callback = _authorize(app, person.oa_openid)
    monkeypatch.setattr(wechat, "clock", lambda: time.time() + 301)
    assert "授权码无效或已过期" in app.get(callback, status=400).text


def test_snapshot_page_users_are_not_logged_in(app, wechat, committed):
    person = wechat.add_user(snapshot=True)
    assert "使用完整服务" in app.get(_authorize(app, person.oa_openid), status=403).text
    assert _users(committed) == []


def test_a_disabled_user_cannot_log_in_again(app, wechat, committed):
    person = wechat.add_user()
    app.get(_authorize(app, person.oa_openid), status=302)
    with Transaction(committed) as db:
        from portal.services import identity

        identity.disable_user(db, db.scalars(select(WeChatUser)).one(), None)
    assert app.get("/api/me", status=403).json["error"]["code"] == "account_disabled"
    app.reset()
    assert "已被停用" in app.get(_authorize(app, person.oa_openid), status=403).text


def _js_login(app, code, status=200):
    return app.post_json("/api/auth/miniprogram", {"code": code}, status=status).json


def test_miniprogram_login_issues_our_token_and_keeps_the_session_key(app, wechat, committed):
    person = wechat.add_user(unionid=True)
    body = _js_login(app, wechat.issue_js_code(person.mp_openid))
    assert "session_key" not in str(body)
    me = app.get("/api/me", headers={"Authorization": f"Bearer {body['token']}"}).json
    assert me == body["me"]
    with Transaction(committed) as db:
        record = db.scalars(select(ApiToken)).one()
        assert record.channel == "miniprogram" and record.wechat_session_key
        assert record.token_hash != body["token"]  # only the hash is stored


def test_miniprogram_codes_are_single_use(app, wechat):
    person = wechat.add_user()
    code = wechat.issue_js_code(person.mp_openid)
    _js_login(app, code)
    assert _js_login(app, code, status=400)["error"]["code"] == "code_used"
    assert _js_login(app, "made-up", status=400)["error"]["code"] == "code_invalid"
    assert _js_login(app, "", status=400)["error"]["fields"] == {"code": "请提供 wx.login() 返回的 code"}


def test_high_risk_users_are_refused(app, wechat):
    person = wechat.add_user(high_risk=True)
    body = _js_login(app, wechat.issue_js_code(person.mp_openid), status=403)
    assert body["error"]["code"] == "high_risk_user"


def test_the_unionid_joins_the_official_account_and_the_miniprogram(app, wechat, committed):
    person = wechat.add_user(unionid=True)
    app.get(_authorize(app, person.oa_openid), status=302)
    _js_login(app, wechat.issue_js_code(person.mp_openid))
    [user] = _users(committed)
    assert (user.oa_openid, user.mp_openid, user.unionid) == (person.oa_openid, person.mp_openid, person.unionid)


def test_wechat_being_down_is_a_503_with_a_clear_message(app, wechat):
    person = wechat.add_user()
    wechat.faults.update(fail_next=1, fail_next_kind="5xx")
    body = _js_login(app, wechat.issue_js_code(person.mp_openid), status=503)
    assert body["error"] == {"code": "wechat_unavailable", "message": "微信登录暂时不可用，请稍后再试", "fields": {}}
