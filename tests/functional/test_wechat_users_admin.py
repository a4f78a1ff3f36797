"""公众号用户管理: list, search, paginate, view, disable/enable, grant/revoke staff — audited."""

from sqlalchemy import select

from portal.models.admin import AuditEntry

from ..support import factories
from ..support.factories import csrf_from, login_admin


def _login(testapp, db):
    admin = factories.admin(db, "visitors", username="fangke")
    login_admin(testapp, "fangke")
    return admin


def test_the_list_paginates_and_searches(testapp, db):
    _login(testapp, db)
    users = [factories.wechat_user(db, name=f"司机{i:02d}") for i in range(25)]
    first = testapp.get("/admin/wechat-users")
    assert "共 25 条，第 1/2 页" in first.text
    second = testapp.get("/admin/wechat-users?page=2")
    assert second.text.count("司机") == 5
    found = testapp.get("/admin/wechat-users", {"q": "司机07"})
    assert "共 1 条" in found.text and "司机07" in found.text
    by_openid = testapp.get("/admin/wechat-users", {"q": users[3].oa_openid})
    assert "司机03" in by_openid.text
    assert "共 0 条" in testapp.get("/admin/wechat-users", {"staff": "yes"}).text
    assert users[0].oa_openid not in first.text  # masked in lists


def _act(testapp, user, action):
    page = testapp.get(f"/admin/wechat-users/{user.id}")
    return testapp.post(f"/admin/wechat-users/{user.id}", {"action": action, "csrf_token": csrf_from(page)}, status=302).follow()


def test_disable_enable_grant_and_revoke_are_applied_and_audited(testapp, db):
    admin = _login(testapp, db)
    user = factories.wechat_user(db, name="张三")
    token = factories.token_for(db, user)

    page = _act(testapp, user, "grant_staff")
    assert "已授予内部工作人员权限" in page.text and user.is_staff
    page = _act(testapp, user, "disable")
    assert "已停用该用户" in page.text and not user.is_active
    # Tokens stay, but every request with them is refused while the user is disabled.
    assert testapp.get("/api/me", headers={"Authorization": f"Bearer {token}"}, status=403)
    assert "用户已是该状态" in _act(testapp, user, "disable").text
    _act(testapp, user, "enable")
    _act(testapp, user, "revoke_staff")
    assert user.is_active and not user.is_staff

    entries = db.scalars(
        select(AuditEntry).where(AuditEntry.target_type == "wechat_user").order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in entries] == [
        "wechat_user.grant_staff", "wechat_user.disable", "wechat_user.enable", "wechat_user.revoke_staff",
    ]
    assert entries[0].before == {"status": "active", "is_staff": False}
    assert entries[0].after == {"status": "active", "is_staff": True}
    assert {e.admin_username for e in entries} == {admin.username}
    assert "授予内部工作人员权限：张三" in testapp.get(f"/admin/wechat-users/{user.id}").text


def test_an_unknown_user_is_a_404_page(testapp, db):
    _login(testapp, db)
    assert "页面不存在" in testapp.get("/admin/wechat-users/999999", status=404).text
