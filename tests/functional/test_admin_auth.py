"""Admin login, sessions, CSRF and area permissions on every admin page."""

import pytest
import webtest
from sqlalchemy import select

from portal.models.admin import AdminSession, AuditEntry, LoginAttempt
from portal.security import ADMIN_COOKIE, SESSION_COOKIE

from ..support import factories
from ..support.factories import csrf_from, login_admin
from ..support.testapp import build_app

#: Every admin page and the area it needs ("" = any admin).
PAGES = {
    "/admin/": "",
    "/admin/wechat-users": "visitors",
    "/admin/wechat-users/1": "visitors",
    "/admin/menu": "super",
    "/admin/notifications": "super",
    "/admin/dead-letters": "super",
    "/admin/dead-letters/1": "super",
    "/admin/outbox": "super",
    "/admin/audit": "super",
    "/admin/accounts": "super",
    "/admin/accounts/1": "super",
}
ACTIONS = ["/admin/wechat-users/1", "/admin/menu", "/admin/menu/1/publish", "/admin/dead-letters/1", "/admin/accounts", "/admin/accounts/1", "/admin/logout"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_admins_are_sent_to_the_login_page(testapp, path):
    response = testapp.get(path, status=302)
    assert response.location.startswith("http://example.com/admin/login?next=")


@pytest.mark.parametrize("path", ACTIONS)
def test_anonymous_posts_are_sent_to_the_login_page(testapp, path):
    response = testapp.post(path, {"action": "disable"}, status=302)
    assert response.location.startswith("http://example.com/admin/login")


@pytest.mark.parametrize("path, area", [(p, a) for p, a in PAGES.items() if a])
def test_admins_without_the_area_are_forbidden(testapp, db, path, area):
    factories.admin(db, "logistics", username="wuliu")
    login_admin(testapp, "wuliu")
    response = testapp.get(path, status=403)
    assert "没有访问该页面的权限" in response.text


def test_an_admin_of_the_area_gets_in_and_sees_only_their_navigation(testapp, db):
    factories.admin(db, "visitors", username="fangke")
    login_admin(testapp, "fangke")
    page = testapp.get("/admin/wechat-users")
    assert "公众号用户" in page.text
    assert "管理员账号" not in page.text  # super-only navigation hidden


def test_a_wrong_password_is_refused_with_a_message_and_recorded(testapp, db):
    factories.admin(db, "super", username="boss")
    response = login_admin(testapp, "boss", "wrong-password-1", status=400)
    assert "用户名或密码错误" in response.text
    assert ADMIN_COOKIE not in testapp.cookies
    attempts = db.scalars(select(LoginAttempt)).all()
    assert [(a.username, a.succeeded) for a in attempts] == [("boss", False)]


def test_an_unknown_user_gets_the_same_message(testapp, db):
    assert "用户名或密码错误" in login_admin(testapp, "nobody", "whatever-123", status=400).text


def test_five_failures_lock_the_account(testapp, db):
    factories.admin(db, "super", username="boss")
    for _ in range(5):
        login_admin(testapp, "boss", "wrong-password-1", status=400)
    response = login_admin(testapp, "boss", status=400)  # right password, but locked
    assert "临时锁定" in response.text


def test_too_many_failures_from_one_address_are_refused(testapp, db):
    for i in range(20):
        login_admin(testapp, f"guess{i}", "wrong-password-1", status=400)
    factories.admin(db, "super", username="boss")
    assert "登录失败次数过多" in login_admin(testapp, "boss", status=400).text


def test_login_without_the_csrf_token_is_refused(testapp, db):
    factories.admin(db, "super", username="boss")
    testapp.get("/admin/login")
    response = testapp.post("/admin/login", {"username": "boss", "password": factories.PASSWORD}, status=400)
    assert "页面已过期" in response.text
    assert db.scalars(select(AdminSession)).all() == []


def test_the_session_changes_at_login(testapp, db):
    factories.admin(db, "super", username="boss")
    page = testapp.get("/admin/login")
    anonymous_csrf = csrf_from(page)
    anonymous_cookie = testapp.cookies[SESSION_COOKIE]
    login_admin(testapp, "boss")
    first = testapp.cookies[ADMIN_COOKIE]
    assert testapp.cookies[SESSION_COOKIE] != anonymous_cookie
    assert csrf_from(testapp.get("/admin/wechat-users")) != anonymous_csrf

    testapp.reset()
    login_admin(testapp, "boss")
    assert testapp.cookies[ADMIN_COOKIE] != first
    assert len(db.scalars(select(AdminSession)).all()) == 2


def test_logout_ends_the_session(testapp, db):
    factories.admin(db, "super", username="boss")
    login_admin(testapp, "boss")
    token = testapp.cookies[ADMIN_COOKIE]
    page = testapp.get("/admin/")
    testapp.post("/admin/logout", {"csrf_token": csrf_from(page)}, status=302)
    testapp.set_cookie(ADMIN_COOKIE, token)  # a stolen copy of the cookie is worthless now
    testapp.get("/admin/", status=302)


def test_a_form_post_without_the_token_changes_nothing(testapp, db):
    factories.admin(db, "super", username="boss")
    user = factories.wechat_user(db)
    login_admin(testapp, "boss")
    testapp.post(f"/admin/wechat-users/{user.id}", {"action": "disable"}, status=400)
    assert user.is_active
    assert db.scalars(select(AuditEntry)).all() == [e for e in db.scalars(select(AuditEntry)) if e.action == "admin.create"]


def test_super_admins_create_accounts_with_clear_form_messages(testapp, db):
    factories.admin(db, "super", username="boss")
    login_admin(testapp, "boss")
    page = testapp.get("/admin/accounts")
    form = {"csrf_token": csrf_from(page), "username": "ab", "display_name": "王五", "password": "short", "areas": "canteen"}
    assert "用户名须为" in testapp.post("/admin/accounts", form, status=400).text
    form["username"] = "wangwu"
    assert "密码至少" in testapp.post("/admin/accounts", form, status=400).text
    form["password"] = "canteen-pass-2026"
    testapp.post("/admin/accounts", form, status=302)
    login = testapp.get("/admin/accounts")
    assert "wangwu" in login.text and "餐卡消费" in login.text


@pytest.mark.parametrize("flag", ["true", "1"])
def test_secure_cookies_makes_both_the_session_and_the_admin_cookie_secure(settings, db, tm, flag):
    app = webtest.TestApp(
        build_app({**settings, "portal.secure_cookies": flag}),
        extra_environ={
            "HTTP_HOST": "example.com", "HTTP_ORIGIN": "https://example.com", "wsgi.url_scheme": "https",
            "tm.active": True, "tm.manager": tm, "app.dbsession": db,
        },
    )
    factories.admin(db, "super", username="boss")
    response = login_admin(app, "boss")
    cookies = {header.split("=", 1)[0]: header for header in response.headers.getall("Set-Cookie")}
    assert "; secure" in cookies[SESSION_COOKIE].lower()
    assert "; secure" in cookies[ADMIN_COOKIE].lower()


def test_without_secure_cookies_neither_cookie_is_secure(testapp, db):
    factories.admin(db, "super", username="boss")
    response = login_admin(testapp, "boss")
    cookies = {header.split("=", 1)[0]: header for header in response.headers.getall("Set-Cookie")}
    assert "secure" not in cookies[SESSION_COOKIE].lower() and "secure" not in cookies[ADMIN_COOKIE].lower()
