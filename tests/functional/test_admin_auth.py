"""Admin login, lockout, sessions and CSRF (area permissions on every admin route: test_admin_areas)."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.models.admin import AdminSession, AuditEntry, LoginAttempt
from portal.models.meta import utcnow
from portal.security import ADMIN_COOKIE, SESSION_COOKIE
from portal.services.admin_accounts import ADDRESS_LIMIT, ADDRESS_WINDOW, LOCK_AFTER, LOCK_FOR

from ..support import factories
from ..support.factories import csrf_from, login_admin
from ..support.testapp import build_app


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


@pytest.mark.parametrize("before, locked", [(LOCK_AFTER - 2, False), (LOCK_AFTER - 1, True)])
def test_the_fifth_failure_in_a_row_locks_not_the_fourth(testapp, db, before, locked):
    admin = factories.admin(db, "super", username="boss")
    admin.failed_logins = before  # the failures before this one, as stored
    db.flush()
    login_admin(testapp, "boss", "wrong-password-1", status=400)
    assert (admin.locked_until is not None) is locked
    response = login_admin(testapp, "boss", status=400 if locked else 302)
    assert ("临时锁定" in response.text) is locked
    assert admin.failed_logins == 0  # a lock, or a success, starts the count again


def test_a_lock_lasts_its_period_and_then_lets_the_right_password_in(testapp, db):
    admin = factories.admin(db, "super", username="boss")
    admin.failed_logins = LOCK_AFTER - 1
    db.flush()
    login_admin(testapp, "boss", "wrong-password-1", status=400)
    assert admin.locked_until - utcnow() > LOCK_FOR - timedelta(minutes=1)
    # The clock moves by moving the stored times: 90 seconds before the end, then just after it.
    admin.locked_until = utcnow() + timedelta(seconds=90)
    db.flush()
    assert "账号已被临时锁定，请 2 分钟后再试" in login_admin(testapp, "boss", status=400).text
    assert admin.failed_logins == 0  # attempts while locked count for nothing
    admin.locked_until = utcnow() - timedelta(seconds=1)
    db.flush()
    login_admin(testapp, "boss")
    assert admin.locked_until is None


def _failures_from_this_address(db, count, ago=timedelta(0)):
    """Failed attempts from the test client's address (``client_ip``: webtest gives none), as stored."""
    db.add_all(LoginAttempt(username=f"guess{i}", ip="unknown", succeeded=False, at=utcnow() - ago) for i in range(count))
    db.flush()


@pytest.mark.parametrize("before, refused", [(ADDRESS_LIMIT - 1, False), (ADDRESS_LIMIT, True)])
def test_an_address_is_refused_from_its_twentieth_failure(testapp, db, before, refused):
    factories.admin(db, "super", username="boss")
    _failures_from_this_address(db, before)
    response = login_admin(testapp, "boss", status=400 if refused else 302)
    assert ("登录失败次数过多" in response.text) is refused


def test_failures_older_than_the_window_do_not_count(testapp, db):
    factories.admin(db, "super", username="boss")
    _failures_from_this_address(db, ADDRESS_LIMIT, ago=ADDRESS_WINDOW + timedelta(seconds=1))
    login_admin(testapp, "boss")


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
def test_secure_cookies_makes_both_the_session_and_the_admin_cookie_secure(settings, db, testapp_for, flag):
    app = testapp_for(build_app({**settings, "portal.secure_cookies": flag}), HTTP_ORIGIN="https://example.com", **{"wsgi.url_scheme": "https"})
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
