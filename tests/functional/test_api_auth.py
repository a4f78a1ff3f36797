"""Bearer tokens, disabled users, staff-only endpoints and the H5 cookie with CSRF."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select

from portal.models.identity import WeChatUser
from portal.models.logistics import Driver
from portal.models.meta import utcnow
from portal.services import identity

from ..support import factories


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_no_token_is_a_json_401(testapp):
    body = testapp.get("/api/me", status=401).json
    assert body == {"error": {"code": "unauthenticated", "message": "请先登录", "fields": {}}}


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer ", "Basic abc"])
def test_a_bad_token_is_a_401(testapp, header):
    testapp.get("/api/me", headers={"Authorization": header}, status=401)


def test_each_token_acts_only_as_its_own_user(testapp, db):
    alice, bob = factories.wechat_user(db, name="Alice"), factories.wechat_user(db, name="Bob")
    alice_token, bob_token = factories.token_for(db, alice), factories.token_for(db, bob)
    assert testapp.get("/api/me", headers=_auth(alice_token)).json["id"] == alice.id
    assert testapp.get("/api/me", headers=_auth(bob_token)).json["id"] == bob.id
    testapp.patch_json("/api/me", {"display_name": "小爱"}, headers=_auth(alice_token))
    assert (alice.display_name, bob.display_name) == ("小爱", "Bob")


def test_expired_and_revoked_tokens_are_refused(testapp, db):
    user = factories.wechat_user(db)
    expired = factories.token_for(db, user, expires_in=-1)
    testapp.get("/api/me", headers=_auth(expired), status=401)
    token = factories.token_for(db, user)
    testapp.post("/api/auth/logout", headers=_auth(token))
    testapp.get("/api/me", headers=_auth(token), status=401)


def test_a_disabled_user_gets_a_clear_403_everywhere(testapp, db):
    user = factories.wechat_user(db, staff=True)
    token = factories.token_for(db, user)
    identity.disable_user(db, user, None)
    for path in ("/api/me", "/api/_test/staff"):
        body = testapp.get(path, headers=_auth(token), status=403).json
        assert body["error"]["code"] == "account_disabled" and "停用" in body["error"]["message"]
    testapp.patch_json("/api/me", {"display_name": "x"}, headers=_auth(token), status=403)
    assert "账号已停用" in testapp.get("/h5/", headers=_auth(token), status=403).text
    identity.enable_user(db, user, None)
    testapp.get("/api/me", headers=_auth(token), status=200)


def test_staff_only_endpoints_refuse_everyone_else(testapp, db):
    visitor, staff = factories.wechat_user(db), factories.wechat_user(db, staff=True)
    body = testapp.get("/api/_test/staff", headers=_auth(factories.token_for(db, visitor)), status=403).json
    assert body["error"] == {"code": "forbidden", "message": "您没有权限执行此操作", "fields": {}}
    assert testapp.get("/api/_test/staff", headers=_auth(factories.token_for(db, staff))).json == {"staff": staff.id}


def test_me_reports_roles_and_validates_changes(testapp, db):
    user = factories.wechat_user(db, staff=True)
    token = factories.token_for(db, user)
    me = testapp.get("/api/me", headers=_auth(token)).json
    assert me["roles"] == ["visitor", "staff"] and me["bindings"] == {"driver": None}
    assert "csrf_token" not in me
    body = testapp.patch_json("/api/me", {"display_name": "很" * 33}, headers=_auth(token), status=400).json
    assert body["error"]["fields"] == {"display_name": "称呼不能超过 32 个字"}
    testapp.patch("/api/me", "not json", headers={**_auth(token), "Content-Type": "application/json"}, status=400)


def test_unknown_api_paths_are_json_404s(testapp):
    assert testapp.get("/api/nothing", status=404).json["error"]["code"] == "not_found"


@pytest.mark.parametrize("ago, touched", [(timedelta(hours=1), True), (timedelta(minutes=1), False)])
def test_a_token_notes_its_use_at_most_every_five_minutes(testapp, db, ago, touched):
    user = factories.wechat_user(db)
    token, record = identity.issue_token(db, user, "miniprogram")
    record.last_used_at = before = utcnow() - ago
    db.flush()
    testapp.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    db.refresh(record)
    assert (record.last_used_at > before) is touched


# -- H5 pages: the session cookie, and X-CSRF-Token on writes ---------------------------------------


def _h5_browser(testapp_for, app, wechat):
    """A phone's browser logged in through WeChat's web authorization: (browser, user id, its CSRF token)."""
    browser = testapp_for(app)
    start = browser.get("/auth/wechat/login", {"next": "/h5/logistics"}, status=302)
    person = wechat.add_user()
    back = requests.get(start.location.split("#")[0] + "&sim_openid=" + person.oa_openid, allow_redirects=False, timeout=5)
    callback = urlsplit(back.headers["Location"])
    browser.get(f"{callback.path}?{callback.query}", status=302)
    me = browser.get("/api/me").json
    return browser, me["id"], me["csrf_token"]


#: The H5 pages' writes, with a body each accepts.
H5_WRITES = [
    ("PATCH", "/api/me", lambda: {"display_name": "张师傅"}, 200),
    ("PUT", "/api/logistics/driver", factories.driver_payload, 200),
]


@pytest.mark.parametrize("method, path, body, status", H5_WRITES, ids=[path for _, path, _, _ in H5_WRITES])
def test_an_h5_write_needs_its_own_sessions_csrf_token(testapp_for, app, db, simulators, method, path, body, status):
    factories.product(db)
    mine, user_id, token = _h5_browser(testapp_for, app, simulators["wechat"])
    _, _, other_token = _h5_browser(testapp_for, app, simulators["wechat"])
    assert other_token != token

    def write(headers, expected):
        return getattr(mine, f"{method.lower()}_json")(path, body(), headers=headers, status=expected)

    for headers in ({}, {"X-CSRF-Token": "not-the-token"}, {"X-CSRF-Token": token[:-1]}, {"X-CSRF-Token": other_token}):
        # Its own answer (not 401): the page fetches a fresh token and keeps what was typed.
        refused = write(headers, 403).json
        assert refused["error"]["code"] == "csrf", headers
    assert db.get(WeChatUser, user_id).display_name != "张师傅"
    assert db.scalars(select(Driver).where(Driver.user_id == user_id)).all() == []
    write({"X-CSRF-Token": token}, status)
