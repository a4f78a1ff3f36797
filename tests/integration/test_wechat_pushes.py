"""Pushes to WeChat through the outbox and a real worker: the menu and notifications."""

import pytest
import webtest
from sqlalchemy import select

from portal import messaging
from portal.db import Transaction
from portal.models.identity import WeChatUser
from portal.models.ops import DeadLetter
from portal.models.outbox import OutboxMessage
from portal.models.sync import SyncState
from portal.models.wechat import Notification, NotificationKind, OfficialAccountMenu
from portal.services.notifications import notify

from ..support import factories
from ..support.factories import csrf_from
from ..support.testapp import build_app

TEMPLATE = "TEMPLATE-TEST-0001"


@pytest.fixture
def wechat(simulators):
    return simulators["wechat"]


def _menu_creates(wechat):
    return [e for e in wechat.effects("/cgi-bin/menu/create")]


def test_a_valid_menu_is_published_exactly_once(settings, worker, committed, wechat, broker, settle):
    with Transaction(committed) as db:
        factories.admin(db, "super", username="boss")
    app = webtest.TestApp(build_app(settings))
    factories.login_admin(app, "boss")
    page = app.get("/admin/menu")
    form = {
        "csrf_token": csrf_from(page),
        "b0.name": "智慧物流", "b0.type": "view", "b0.url": "https://portal.example.com/h5/logistics",
        "b1.name": "访客预约", "b1.type": "view", "b1.url": "https://portal.example.com/h5/visitors",
        "b2.name": "更多", "b2.type": "view",
        "b2.s0.name": "餐卡消费", "b2.s0.type": "view", "b2.s0.url": "https://portal.example.com/h5/canteen",
    }
    refused = app.post("/admin/menu", {**form, "b0.name": "智慧物流司机入口"}, status=400)
    assert "菜单名称不能超过 16 字节" in refused.text
    app.post("/admin/menu", form, status=302)
    with Transaction(committed) as db:
        menu_id = db.scalars(select(OfficialAccountMenu)).one().id

    page = app.get("/admin/menu")
    for _ in range(2):  # a double click
        app.post(f"/admin/menu/{menu_id}/publish", {"csrf_token": csrf_from(page)}, status=302)
    assert f"菜单 #{menu_id} 已提交发布，不能重复发布" in app.get("/admin/menu").text

    settle()
    with Transaction(committed) as db:
        assert db.get(OfficialAccountMenu, menu_id).sync_state is SyncState.synced
    assert wechat.menu["button"][2] == {"name": "更多", "sub_button": [{"type": "view", "name": "餐卡消费", "url": "https://portal.example.com/h5/canteen"}]}
    # Redelivery of the publish message changes nothing either.
    with Transaction(committed) as db:
        row = db.scalars(select(OutboxMessage).where(OutboxMessage.actor_name == "wechat.publish_menu")).one()
    broker.get_actor("wechat.publish_menu").send_with_options(args=(menu_id,), outbox_id=row.id)
    settle()
    assert len(_menu_creates(wechat)) == 1
    assert "已发布" in app.get("/admin/menu").text


def _user_for(committed, person):
    with Transaction(committed) as db:
        user = WeChatUser(oa_openid=person.oa_openid, display_name="测试", login_count=1)
        db.add(user)
        db.flush()
        return user.id


def _notify(committed, user_id, **kwargs):
    with Transaction(committed) as db:
        return notify(db, db.get(WeChatUser, user_id), topic="测试通知", template_id=TEMPLATE, **kwargs).id


def _notification(committed, notification_id):
    with Transaction(committed) as db:
        notification = db.get(Notification, notification_id)
        db.expunge(notification)
        return notification


def test_a_user_who_has_not_subscribed_is_recorded_as_not_sent(worker, committed, wechat, settle):
    person = wechat.add_user()  # has accepted no subscribe template
    notification_id = _notify(committed, _user_for(committed, person), kind=NotificationKind.subscribe, data={"thing1": "预约已通过"})
    settle()
    notification = _notification(committed, notification_id)
    assert notification.sync_state is SyncState.skipped and "43101" in notification.sync_error
    assert [e.path for e in wechat.ledger if e.path.startswith("/cgi-bin/message")] == ["/cgi-bin/message/subscribe/bizsend"]
    with Transaction(committed) as db:
        assert db.scalars(select(DeadLetter)).all() == []  # expected outcome, not an incident


def test_a_5xx_is_retried_and_long_values_are_cut_to_wechats_limit(worker, committed, wechat, settle):
    person = wechat.add_user()
    user_id = _user_for(committed, person)
    wechat.faults.update(fail_next=2, fail_next_kind="5xx")
    long_value = "您预约的 2026 年 11 月 26 日上午九点访问已经审批通过请准时到达"
    notification_id = _notify(committed, user_id, data={"thing1": long_value, "time2": "2026-11-26 09:00"}, url="https://portal.example.com/h5/visitors")
    settle()
    assert _notification(committed, notification_id).sync_state is SyncState.synced
    [sent] = [m for m in wechat.sent_messages if m["touser"] == person.oa_openid]
    assert sent["data"]["thing1"]["value"] == long_value[:20]
    assert _notification(committed, notification_id).external_ref == str(sent["msgid"])
    assert [e.status for e in wechat.ledger if e.path == "/cgi-bin/message/template/send"] == [503, 503, 200]


def test_an_expired_access_token_is_refreshed_once_and_shared(worker, committed, wechat, settle):
    person = wechat.add_user()
    user_id = _user_for(committed, person)
    first = _notify(committed, user_id, data={"thing1": "一"})
    settle()
    assert _notification(committed, first).sync_state is SyncState.synced
    wechat.expire_access_tokens()
    wechat.ledger.clear()
    second = _notify(committed, user_id, data={"thing1": "二"})
    settle()
    assert _notification(committed, second).sync_state is SyncState.synced
    calls = [(e.path, (e.response or {}).get("errcode", 0)) for e in wechat.ledger]
    assert calls == [
        ("/cgi-bin/message/template/send", 40001),
        ("/cgi-bin/stable_token", 0),
        ("/cgi-bin/message/template/send", 0),
    ]
    # Every process reads the refreshed token from Redis.
    assert messaging.runtime().wechat().client.cache.get() is not None
