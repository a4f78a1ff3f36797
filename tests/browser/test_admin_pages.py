"""Admin pages in a real browser: login → 公众号用户管理 → grant staff."""

from sqlalchemy import select

from portal.db import Transaction
from portal.models.admin import AuditEntry
from portal.models.identity import WeChatUser

from ..support import factories


def test_an_admin_grants_staff_in_the_browser(live_app, page, committed, tmp_path):
    with Transaction(committed) as db:
        factories.admin(db, "visitors", username="fangke")
        for i in range(3):
            factories.wechat_user(db, name=f"访客{i}")
        user_id = factories.wechat_user(db, name="王工程师").id

    page.goto(live_app + "/admin/wechat-users")
    assert page.url.startswith(live_app + "/admin/login")  # anonymous → login
    page.fill("#username", "fangke")
    page.fill("#password", "wrong-password-9")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.inner_text("[role=alert]")

    page.fill("#password", factories.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_app + "/admin/wechat-users")
    assert "共 4 条" in page.content()

    page.fill("input[name=q]", "王工程师")
    page.click("text=查询")
    page.wait_for_selector("text=共 1 条")
    page.click(f"a[href$='/admin/wechat-users/{user_id}']")
    page.wait_for_selector("#user-staff")
    assert page.inner_text("#user-staff") == "否"

    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.click("text=设为内部工作人员")
    page.wait_for_selector("text=已授予内部工作人员权限")
    assert page.inner_text("#user-staff") == "是"
    assert dialogs and "内部工作人员" in dialogs[0]
    page.screenshot(path=str(tmp_path / "granted.png"), full_page=True)

    with Transaction(committed) as db:
        assert db.get(WeChatUser, user_id).is_staff
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "wechat_user.grant_staff")).one()
        assert (entry.admin_username, entry.target_id) == ("fangke", str(user_id))


def test_a_dismissed_confirmation_changes_nothing(live_app, page, committed):
    with Transaction(committed) as db:
        factories.admin(db, "super", username="boss")
        user_id = factories.wechat_user(db, name="李四").id
    page.goto(live_app + "/admin/login")
    page.fill("#username", "boss")
    page.fill("#password", factories.PASSWORD)
    page.click("button[type=submit]")
    page.goto(live_app + f"/admin/wechat-users/{user_id}")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("text=停用")
    assert page.inner_text("#user-status") == "正常"
    with Transaction(committed) as db:
        assert db.get(WeChatUser, user_id).is_active
