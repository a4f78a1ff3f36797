"""What a driver is told (通知司机), end to end: the change in our app → the outbox → a real
worker → the WeChat simulator, whose messages say what was sent, to whom, with which link.

Official Account users get template messages; mini-program users get subscribe messages while
they have subscriptions left (one per 允许), and nothing — recorded as 未发送 — once none is left.
"""

from datetime import datetime, timedelta

import pytest
import webtest
from sqlalchemy import or_, select

from portal.db import Transaction
from portal.models.logistics import Booking, Driver
from portal.models.meta import utcnow
from portal.models.outbox import OutboxMessage
from portal.models.sync import SyncState
from portal.models.wechat import Notification
from portal.services.logistics import bookings as booking_service
from portal.services.logistics import drivers as driver_service
from portal.services.logistics.policy import Policy
from portal.timefmt import SHANGHAI, local_time, today

from ...support import factories
from ...support.testapp import build_app
from ...support.waiting import wait_for
from .test_flow import Driver_, _arrival, _booking, _new_driver

SITE = "http://portal.test"  # portal.public_url of the tests
TEMPLATE = "TEMPLATE-LOGISTICS-0001"
BOOKING_RESULT, BOOKING_ENDED = "SUBSCRIBE-BOOKING-RESULT", "SUBSCRIBE-BOOKING-ENDED"


@pytest.fixture
def wechat(simulators):
    return simulators["wechat"]


def _messages(wechat, openid):
    return [m for m in wechat.sent_messages if m["touser"] == openid]


def _said(message):
    """A message's keys and values, as WeChat shows them."""
    return {key: item["value"] for key, item in message["data"].items()}


def _told(wechat, openid, state, count=1):
    """The messages to ``openid`` whose 状态 is ``state``, once there are ``count`` of them."""
    return wait_for(lambda: len(found := [m for m in _messages(wechat, openid) if _said(m)["thing2"] == state]) == count and found,
                    message=f"{count} message(s) {state}")


def _book(phone, vehicle_id, kind="delivery", quantity_kg=10000, hours=2):
    """A booking arriving in ``hours``: a truck's bookings of one kind and product must not overlap."""
    booking = phone.call("POST", "/api/logistics/bookings", 201, json={
        "kind": kind, "product_code": "NAOH32", "quantity_kg": quantity_kg, "vehicle_id": vehicle_id,
        "planned_arrival_at": _arrival(hours)})
    return booking["booking"]["id"]


def _short(instant):
    """An answer's time as the messages write it: 11-26 13:00, Beijing time."""
    return local_time(datetime.fromisoformat(instant), "%m-%d %H:%M")


def _settle(committed):
    """Every message due so far has run (expiries wait for their time)."""

    def settled():
        with Transaction(committed) as db:
            due = or_(OutboxMessage.eta.is_(None), OutboxMessage.eta <= utcnow())
            return not db.scalar(select(OutboxMessage.id).where(OutboxMessage.done_at.is_(None), OutboxMessage.dead_at.is_(None), due))

    wait_for(settled, timeout=30, message="the outbox to settle")


# -- Official Account users: template messages ---------------------------------------------------


def test_a_driver_is_told_of_the_registration_the_call_and_the_document_once_each(portal, worker, committed, simulators, wechat, broker):
    le = simulators["le"]
    person = wechat.add_user()
    phone, vehicle_id = _new_driver(portal, committed, oa_openid=person.oa_openid)
    booking_id = _book(phone, vehicle_id, kind="pickup", quantity_kg=25000)
    booking = wait_for(lambda: (b := _booking(phone, booking_id))["card_no"] and b)

    [registered] = _told(wechat, person.oa_openid, "登记成功")
    assert registered["kind"] == "template" and registered["template_id"] == TEMPLATE
    assert registered["url"] == f"{SITE}/h5/logistics/bookings/{booking_id}/result"
    said = _said(registered)
    assert said["thing1"] == "提货 32%液碱 25 吨" and said["thing3"] == f"卡号 {booking['card_no']}"
    assert said["thing4"] == f"请于 {_short(booking['expires_at'])} 前入厂"
    assert said["time5"].startswith(utcnow().astimezone(SHANGHAI).strftime("%Y-%m-%d"))

    le.play_visit(booking_id, actual_quantity_kg=24960)
    [called] = _told(wechat, person.oa_openid, "装车叫号")
    assert called["url"] == f"{SITE}/h5/logistics/queue" and _said(called)["thing3"] == "请前往1号装车道"
    [shipped] = _told(wechat, person.oa_openid, "已出库待签收")
    [order] = phone.call("GET", "/api/logistics/orders")["orders"]
    assert shipped["url"] == f"{SITE}/h5/logistics/orders/{order['order_no']}/sign"
    assert _said(shipped)["thing1"] == "提货 32%液碱 24.96 吨" and _said(shipped)["thing3"] == order["order_no"]

    # The same document listed again by LE, and the visit's events sent again under new ids: nothing more.
    phone.call("POST", "/api/logistics/orders/refresh", 202)
    for sent in list(le.sent_events):
        le.send_event(sent["event"]["type"], sent["event"]["data"], occurred_at=sent["event"]["occurred_at"])
    _settle(committed)
    states = [_said(m)["thing2"] for m in _messages(wechat, person.oa_openid)]
    assert sorted(states) == sorted(["登记成功", "装车叫号", "已出库待签收"])  # the worker's threads send in any order


def test_a_rejection_and_an_operators_cancellation_and_退卡_say_why(portal, worker, committed, simulators, wechat, settings, broker):
    mes = simulators["mes"]
    person = wechat.add_user()
    phone, vehicle_id = _new_driver(portal, committed, oa_openid=person.oa_openid)

    mes.set_stock("NAOH32", 110_000)  # 10 t above the threshold: 25 t is refused
    rejected_id = _book(phone, vehicle_id, kind="pickup", quantity_kg=25000)
    [rejected] = _told(wechat, person.oa_openid, "登记被拒")
    assert rejected["url"] == f"{SITE}/h5/logistics/bookings/{rejected_id}/result"
    assert _said(rejected)["thing3"] == "32%液碱库存不足" and _said(rejected)["thing4"] == "请减少数量或改日再登记"
    reason = _booking(phone, rejected_id)["reason"]
    assert reason == "32%液碱可用库存不足，本次 25 吨未能登记，请减少数量或改日再登记"  # no stock figures for the driver

    cancelled_id, expired_id, own_id = (_book(phone, vehicle_id, hours=2 + 5 * i) for i in range(3))
    wait_for(lambda: all(_booking(phone, b)["card_no"] for b in (cancelled_id, expired_id, own_id)))
    policy = Policy.from_settings(settings)
    with Transaction(committed) as db:
        admin = factories.admin(db, "logistics")
        booking_service.admin_cancel_booking(db, db.get(Booking, cancelled_id), admin, policy, reason="车辆故障，调度取消")
        booking_service.admin_expire_booking(db, db.get(Booking, expired_id), admin, policy, reason="车辆故障")
    phone.call("POST", f"/api/logistics/bookings/{own_id}/cancel")  # the driver knows: no message

    [cancelled] = _told(wechat, person.oa_openid, "登记已取消")
    assert cancelled["url"] == f"{SITE}/h5/logistics/bookings/{cancelled_id}"
    assert _said(cancelled)["thing3"] == "原因：车辆故障，调度取消"
    [expired] = _told(wechat, person.oa_openid, "已退卡")
    assert expired["url"] == f"{SITE}/h5/logistics/bookings/{expired_id}" and _said(expired)["thing3"] == "原因：车辆故障"
    _settle(committed)
    texts = [" ".join(_said(m).values()) for m in _messages(wechat, person.oa_openid)]
    assert len(texts) == 1 + 3 + 2 and not any("逾期" in text or "未在" in text for text in texts)


def test_退卡_on_expiry_says_the_deadline_missed(portal, worker, committed, wechat, settings):
    person = wechat.add_user()
    phone, vehicle_id = _new_driver(portal, committed, oa_openid=person.oa_openid)
    booking_id = _book(phone, vehicle_id)
    booking = wait_for(lambda: (b := _booking(phone, booking_id))["card_no"] and b)
    with Transaction(committed) as db:
        expires_at = db.get(Booking, booking_id).expires_at
        assert booking_service.expire_booking(db, booking_id, Policy.from_settings(settings), now=expires_at + timedelta(seconds=1))
    [expired] = _told(wechat, person.oa_openid, "已退卡")
    assert _said(expired)["thing3"] == f"未在 {_short(booking['expires_at'])} 前入厂" and _said(expired)["thing4"] == "请重新登记"
    assert expired["url"] == f"{SITE}/h5/logistics/bookings/{booking_id}"


# -- certificates: the daily job ---------------------------------------------------------------------


def test_the_daily_job_warns_once_per_document_and_expiry_date(worker, committed, wechat, catalogue, broker):
    job = catalogue.jobs["certificate-expiry-warnings"]
    assert job.seconds == 24 * 3600
    person = wechat.add_user()
    soon, later = today() + timedelta(days=10), today() + timedelta(days=45)
    with Transaction(committed) as db:
        escort = {"name": "李四", "id_card_no": factories.ID_CARD, "qualification_no": "Q1",
                  "qualification_expires_on": (today() + timedelta(days=30)).isoformat()}
        driver = factories.driver(db, factories.wechat_user(db, oa_openid=person.oa_openid),
                                  qualification_expires_on=soon.isoformat(), escort=escort)
        driver_service.update_vehicle(db, driver.vehicles[0], factories.vehicle_payload(tank_inspection_expires_on=today().isoformat()))
        driver_service.add_vehicle(db, driver, factories.vehicle_payload(plate_no="闽A54321", tank_inspection_expires_on=later.isoformat()))
        driver_id, plate = driver.id, driver.vehicles[0].plate_no

    job.run()
    job.run()  # the next day's run, say: nothing new to tell
    _settle(committed)
    warned = {_said(m)["thing3"]: m for m in _told(wechat, person.oa_openid, "证件即将到期", count=3)}
    assert set(warned) == {
        f"从业资格证 {soon.isoformat()} 到期", f"押运员资格证 {escort['qualification_expires_on']} 到期", f"罐体检验 {today().isoformat()} 到期",
    }
    assert warned[f"从业资格证 {soon.isoformat()} 到期"]["url"] == f"{SITE}/h5/logistics/driver"
    assert _said(warned[f"罐体检验 {today().isoformat()} 到期"])["thing1"] == f"车辆 {plate}"
    assert warned[f"罐体检验 {today().isoformat()} 到期"]["url"] == f"{SITE}/h5/logistics/vehicles"

    # Renewed, but to a date within the warning days again: that date is told once more.
    renewed = today() + timedelta(days=25)
    with Transaction(committed) as db:
        record = db.get(Driver, driver_id)
        driver_service.save_driver(db, record.user, factories.driver_payload(qualification_expires_on=renewed.isoformat(), escort=escort))
    job.run()
    _settle(committed)
    assert len(_told(wechat, person.oa_openid, "证件即将到期", count=4)) == 4
    assert f"从业资格证 {renewed.isoformat()} 到期" in [_said(m)["thing3"] for m in _messages(wechat, person.oa_openid)]


def test_certificates_far_from_expiry_or_expired_are_not_warned(worker, committed, wechat, catalogue, broker):
    person = wechat.add_user()
    with Transaction(committed) as db:
        factories.driver(db, factories.wechat_user(db, oa_openid=person.oa_openid),
                         qualification_expires_on=(today() + timedelta(days=31)).isoformat())
    catalogue.jobs["certificate-expiry-warnings"].run()
    _settle(committed)
    assert _messages(wechat, person.oa_openid) == []


# -- mini-program users: subscribe messages, one per 允许 ------------------------------------------


def _credits(phone):
    return {s["template_id"]: s["credits"] for s in phone.call("GET", "/api/me/subscriptions")["subscriptions"]}


def _notifications(committed, user_id):
    with Transaction(committed) as db:
        rows = db.scalars(select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)).all()
        db.expunge_all()
        return rows


def test_a_mini_program_driver_gets_subscribe_messages_while_subscriptions_last(portal, worker, committed, wechat, settings, broker):
    person = wechat.add_user()
    with Transaction(committed) as db:
        factories.product(db)
        user = factories.wechat_user(db, oa_openid=None, mp_openid=person.mp_openid)
        user_id, token = user.id, factories.token_for(db, user)
    phone = Driver_(portal, token)
    phone.call("PUT", "/api/logistics/driver", json=factories.driver_payload())
    vehicle_id = phone.call("POST", "/api/logistics/vehicles", 201, json=factories.vehicle_payload())["vehicle"]["id"]
    assert _credits(phone)[BOOKING_RESULT] == 0

    # The driver taps 允许 for 登记结果 in wx.requestSubscribeMessage (WeChat counts it), and the
    # mini-program reports the result to us.
    wechat.subscribe(person.mp_openid, [BOOKING_RESULT])
    answer = phone.call("POST", "/api/me/subscriptions", json={"results": {BOOKING_RESULT: "accept", BOOKING_ENDED: "reject"}})
    credits = {s["template_id"]: s["credits"] for s in answer["subscriptions"]}
    assert (credits[BOOKING_RESULT], credits[BOOKING_ENDED]) == (1, 0) and credits == _credits(phone)

    first = _book(phone, vehicle_id)
    card = wait_for(lambda: _booking(phone, first)["card_no"])
    [sent] = wait_for(lambda: _messages(wechat, person.mp_openid))
    assert (sent["kind"], sent["template_id"]) == ("miniprogram", BOOKING_RESULT)
    assert sent["page"] == f"pages/index/index?path=/h5/logistics/bookings/{first}/result"
    assert _said(sent)["thing2"] == "登记成功" and _said(sent)["thing3"] == f"卡号 {card}"
    assert _credits(phone)[BOOKING_RESULT] == 0 and person.mp_subscriptions[BOOKING_RESULT] == 0

    # No subscription left: the second registration is not sent, and says so on the admin page.
    second = _book(phone, vehicle_id, hours=7)
    wait_for(lambda: _booking(phone, second)["card_no"])
    _settle(committed)
    skipped = _notifications(committed, user_id)[-1]
    assert (skipped.topic, skipped.sync_state) == ("登记成功", SyncState.skipped)
    assert skipped.sync_error == "用户未在小程序中同意接收该消息（没有可用的订阅次数），未发送"
    assert len(wechat.effects("/cgi-bin/message/subscribe/send")) == 1 and len(_messages(wechat, person.mp_openid)) == 1

    # The mini-program reported an acceptance WeChat does not know of: WeChat refuses (43101),
    # the message is recorded as not sent, and our count follows WeChat's.
    phone.call("POST", "/api/me/subscriptions", json={"results": {BOOKING_ENDED: "accept"}})
    with Transaction(committed) as db:
        booking_service.admin_cancel_booking(db, db.get(Booking, second), factories.admin(db, "logistics"),
                                             Policy.from_settings(settings), reason="车辆故障")
    ended = wait_for(lambda: (n := _notifications(committed, user_id)[-1]).topic == "登记已取消" and n.sync_state is SyncState.skipped and n)
    assert "43101" in ended.sync_error and _credits(phone)[BOOKING_ENDED] == 0
    assert [e.response["errcode"] for e in wechat.ledger if e.path == "/cgi-bin/message/subscribe/send"] == [0, 43101]

    admin_app = webtest.TestApp(build_app(settings))
    with Transaction(committed) as db:
        factories.admin(db, "super", username="ops")
    factories.login_admin(admin_app, "ops")
    page = admin_app.get("/admin/notifications", {"state": "skipped"}).text
    assert page.count("未发送") >= 2 and "小程序订阅消息" in page and "没有可用的订阅次数" in page
