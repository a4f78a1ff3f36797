"""LE's events through ``POST /api/le/events``, signed: deduplicated by event id, applied by when
they happened (never by when they arrived), documents kept with their booking."""

import json
import secrets
import time
from datetime import timedelta

import pytest
import webtest
from sqlalchemy import select

from portal.db import Transaction
from portal.integrations.contract import signature
from portal.models.logistics import Booking, BookingStatus, Lane, LeEvent, LeEventResult, OrderStatus, OutboundOrder
from portal.models.meta import utcnow
from portal.models.wechat import Notification
from portal.services.logistics import bookings as booking_service
from portal.services.logistics import stock as stock_service
from portal.services.logistics.policy import Policy
from portal.timefmt import api_time

from ...support import factories
from ...support.factories import login_admin

PATH = "/api/le/events"
#: When the visits below happen: an hour after the bookings are made (today, whenever the tests run).
VISIT_START = (utcnow() + timedelta(hours=1)).replace(second=0, microsecond=0)
LE_KINDS = ("truck.entered", "called", "loading.started", "truck.loaded", "order", "truck.exited")


def _send(testapp, settings, event, status=200, secret=None):
    body = json.dumps(event).encode()
    ts, nonce = str(int(time.time())), secrets.token_hex(8)
    headers = {
        "Content-Type": "application/json", "X-Portal-Key": settings["portal.le_app_key"], "X-Portal-Timestamp": ts,
        "X-Portal-Nonce": nonce,
        "X-Portal-Signature": signature(secret or settings["portal.le_app_secret"], "POST", PATH, ts, nonce, body),
    }
    return testapp.post(PATH, body, headers=headers, status=status).json


def _at(minutes):
    return VISIT_START + timedelta(minutes=minutes)


def _event(type_, minutes=0, **data):
    return {"event_id": "evt-" + secrets.token_hex(6), "type": type_, "occurred_at": _at(minutes).isoformat(), "data": data}


def _order(booking, order_no="SO1", minutes=0, **fields):
    data = {"order_no": order_no, "booking_id": booking.id, "driver_id": booking.driver_id, "product_code": "NAOH32",
            "planned_quantity_kg": booking.quantity_kg, **fields}
    return _event("outbound_order.created", minutes, **data)


def _new_booking(db, settings, driver=None, kind="delivery", hours=1):
    """A booking arriving in ``hours``; a truck's second booking must not overlap its first."""
    driver = driver or factories.driver(db, factories.wechat_user(db))
    policy = Policy.from_settings(settings)
    data = {"kind": kind, "product_code": "NAOH32", "quantity_kg": 20000, "vehicle_id": driver.vehicles[0].id,
            "planned_arrival_at": (utcnow() + timedelta(hours=hours)).isoformat()}
    booking = booking_service.create_booking(db, driver, data, policy)
    if kind == "pickup":
        stock_service.decide_stock(db, booking.stock_checks[-1], 10_000_000, policy)
    return booking


@pytest.fixture
def booking(db, settings):
    return _new_booking(db, settings)


def _timeline(testapp, db, booking):
    auth = {"Authorization": f"Bearer {factories.token_for(db, booking.driver.user)}"}
    return testapp.get(f"/api/logistics/bookings/{booking.id}", headers=auth).json["booking"]["timeline"]


def _orders(testapp, db, driver, **params):
    auth = {"Authorization": f"Bearer {factories.token_for(db, driver.user)}"}
    return testapp.get("/api/logistics/orders", params, headers=auth).json["orders"]


def _sign(testapp, db, driver, order_no, quantity, status=200):
    auth = {"Authorization": f"Bearer {factories.token_for(db, driver.user)}"}
    return testapp.post_json(f"/api/logistics/orders/{order_no}/sign", {"signed_quantity_kg": quantity}, headers=auth,
                             status=status).json


def test_a_bad_signature_is_refused(testapp, settings, booking):
    body = _send(testapp, settings, _event("truck.entered", booking_id=booking.id), status=401, secret="forged")
    assert body["error"]["code"] == "AUTH_BAD_SIGNATURE"
    assert booking.status is BookingStatus.registered


def test_a_whole_visit_in_order(testapp, settings, db):
    booking = _new_booking(db, settings, kind="pickup")
    assert booking.reserved_kg == 20000
    for i, (type_, extra) in enumerate([
        ("truck.entered", {}), ("queue.called", {"lane_code": "L1"}), ("loading.started", {"lane_code": "L1"}),
        ("truck.loaded", {"actual_quantity_kg": 19950}), ("outbound_order.created", {}), ("truck.exited", {}),
    ]):
        event = _order(booking, minutes=i, actual_quantity_kg=19950) if type_ == "outbound_order.created" else (
            _event(type_, i, booking_id=booking.id, **extra))
        assert _send(testapp, settings, event) == {"status": "applied"}
    assert (booking.status, booking.actual_quantity_kg, booking.lane_code, booking.reserved_kg) == (
        BookingStatus.completed, 19950, "L1", 0)
    assert (booking.entered_at, booking.called_at, booking.loaded_at, booking.exited_at) == (_at(0), _at(1), _at(3), _at(5))
    order = db.scalars(select(OutboundOrder)).one()
    assert (order.status, order.actual_quantity_kg, order.booking_id, order.shipped_at) == ("shipped", 19950, booking.id, _at(4))
    timeline = _timeline(testapp, db, booking)
    assert [line["kind"] for line in timeline][-6:] == list(LE_KINDS)
    assert [line["at"] for line in timeline][-6:] == [api_time(_at(i)) for i in range(6)]


def test_duplicates_are_answered_as_such_and_change_nothing(testapp, settings, db, booking):
    exited = _event("truck.exited", 30, booking_id=booking.id)
    assert _send(testapp, settings, exited)["status"] == "applied"
    assert _send(testapp, settings, exited)["status"] == "duplicate"
    assert _send(testapp, settings, _event("truck.entered", 0, booking_id=booking.id))["status"] == "applied"
    assert booking.status is BookingStatus.completed
    assert (booking.entered_at, booking.exited_at) == (_at(0), _at(30))
    assert [e.result for e in db.scalars(select(LeEvent).order_by(LeEvent.occurred_at))] == ["applied", "applied"]


def test_events_for_an_ended_booking_are_ignored_but_recorded(testapp, settings, db, booking):
    booking_service.cancel_booking(db, booking, by="driver")
    assert _send(testapp, settings, _event("truck.entered", booking_id=booking.id))["status"] == "ignored"
    assert booking.status is BookingStatus.cancelled
    db.expire(booking, ["events"])
    assert "未处理" in booking.events[-1].message
    assert _send(testapp, settings, _event("truck.entered", booking_id=999999))["status"] == "ignored"
    notes = dict(db.execute(select(LeEvent.booking_id, LeEvent.note)).all())
    assert notes == {booking.id: "登记状态为“已取消”", 999999: "未知的登记"}


def test_lanes_and_calls_reach_the_driver(testapp, settings, db, booking):
    lane = {"code": "L1", "name": "1号装车道", "status": "loading", "loading_count": 1, "waiting_count": 2,
            "queue": [{"booking_id": booking.id, "position": 2, "called": False}]}
    _send(testapp, settings, _event("lane.changed", 5, **lane))
    older = _event("lane.changed", 1, **{**lane, "status": "idle"})
    assert _send(testapp, settings, older)["status"] == "ignored"  # an older picture of the lane
    assert db.get(Lane, "L1").status == "loading" and booking.queue_position == 2
    assert _send(testapp, settings, _event("queue.called", 6, booking_id=booking.id, lane_code="L1"))["status"] == "applied"
    assert _send(testapp, settings, _event("queue.called", 4, booking_id=booking.id, lane_code="L1"))["status"] == "ignored"
    [notification] = db.scalars(select(Notification)).all()
    assert notification.topic == "装车叫号" and notification.data["thing3"]["value"] == "请前往1号装车道"
    assert notification.url.endswith("/h5/logistics/queue")
    auth = {"Authorization": f"Bearer {factories.token_for(db, booking.driver.user)}"}
    lanes = testapp.get("/api/logistics/lanes", headers=auth).json
    assert lanes["lanes"][0]["status_label"] == "装车中"
    assert lanes["my_queue"] == [{"booking_id": booking.id, "lane_code": "L1", "lane_name": "1号装车道", "position": 2, "called": True,
                                  "status": "registered", "status_label": "已登记"}]
    # Called again later (the truck did not come): the driver is told again.
    assert _send(testapp, settings, _event("queue.called", 9, booking_id=booking.id, lane_code="L1"))["status"] == "applied"
    assert len(db.scalars(select(Notification)).all()) == 2 and booking.called_at == _at(9)


def test_a_lane_listing_a_truck_it_no_longer_holds_leaves_its_place(testapp, settings, db, booking):
    """The truck's place is what the latest picture of its lane says."""
    def picture(minutes, *queued):
        queue = [{"booking_id": b, "position": i, "called": False} for i, b in enumerate(queued, 1)]
        return _event("lane.changed", minutes, code="L2", name="2号装车道", status="idle", loading_count=0,
                      waiting_count=len(queue), queue=queue)

    _send(testapp, settings, picture(3))  # the truck has left the queue …
    assert _send(testapp, settings, picture(1, booking.id))["status"] == "applied"  # … the older picture still tells its lane
    assert (booking.lane_code, booking.queue_position) == ("L2", None)
    _send(testapp, settings, picture(5, 999999, booking.id))
    assert (booking.lane_code, booking.queue_position) == ("L2", 2)


def test_malformed_events_are_a_422(testapp, settings):
    body = _send(testapp, settings, {"event_id": "", "type": "truck.flew", "occurred_at": "yesterday", "data": []}, status=422)
    assert set(body["error"]["fields"]) == {"event_id", "type", "occurred_at", "data"}


# -- issue 9, defect 2: an order number sent again for another booking -------------------------------


def test_an_order_number_held_by_another_drivers_booking_is_a_conflict_and_stays_put(testapp, settings, db):
    alice, bob = _new_booking(db, settings), _new_booking(db, settings)
    assert _send(testapp, settings, _order(alice, "SO-A1", actual_quantity_kg=19900)) == {"status": "applied"}
    claim = _order(bob, "SO-A1", minutes=5, actual_quantity_kg=18000)
    refused = _send(testapp, settings, claim, status=409)["error"]
    assert refused["code"] == "ORDER_CONFLICT" and f"登记 #{alice.id}" in refused["message"]
    assert set(refused["fields"]) == {"data.order_no"}
    # A repeat of the same event is the same answer; LE must not take it as accepted.
    assert _send(testapp, settings, claim, status=409)["error"]["code"] == "ORDER_CONFLICT"

    order = db.scalars(select(OutboundOrder)).one()
    assert (order.booking_id, order.driver_id, order.actual_quantity_kg) == (alice.id, alice.driver_id, 19900)
    assert [o["order_no"] for o in _orders(testapp, db, alice.driver)] == ["SO-A1"]
    assert _orders(testapp, db, bob.driver) == []
    _sign(testapp, db, bob.driver, "SO-A1", 18000, status=404)
    assert (bob.status, bob.actual_quantity_kg, bob.facts) == (BookingStatus.registered, None, {})
    assert all(line.kind != "order" for line in bob.events)
    event = db.get(LeEvent, claim["event_id"])
    assert (event.result, event.booking_id) == (LeEventResult.conflict, bob.id) and f"#{alice.id}" in event.note
    _sign(testapp, db, alice.driver, "SO-A1", 19900)


def test_an_order_naming_another_drivers_booking_or_booking_is_a_conflict(testapp, settings, db, booking):
    other = factories.driver(db)
    claim = _order(booking, "SO-X", driver_id=other.id, actual_quantity_kg=1000)
    assert _send(testapp, settings, claim, status=409)["error"]["code"] == "ORDER_CONFLICT"
    assert db.scalars(select(OutboundOrder)).all() == []
    # The same driver's order moved to another of their bookings is refused too.
    second = _new_booking(db, settings, driver=booking.driver, hours=30)
    _send(testapp, settings, _order(booking, "SO-Y", actual_quantity_kg=1000))
    assert _send(testapp, settings, _order(second, "SO-Y", minutes=3), status=409)["error"]["code"] == "ORDER_CONFLICT"
    assert db.scalars(select(OutboundOrder.booking_id)).one() == booking.id


def test_operators_see_the_conflicts_from_the_booking(testapp, settings, db):
    alice, bob = _new_booking(db, settings), _new_booking(db, settings)
    _send(testapp, settings, _order(alice, "SO-OP"))
    _send(testapp, settings, _order(bob, "SO-OP", minutes=1), status=409)
    _send(testapp, settings, _event("truck.entered", 2, booking_id=bob.id))
    factories.admin(db, "logistics", username="wuliu")
    login_admin(testapp, "wuliu")
    page = testapp.get(f"/admin/logistics/bookings/{bob.id}")
    assert "1 条冲突" in page.text
    events = page.click(href=f"le-events\\?booking={bob.id}")
    rows = events.html.select("#le-events tr")[1:]
    assert [row["class"] for row in rows] == [["result-applied"], ["result-conflict"]]
    assert f"单号 SO-OP 属于另一位驾驶员（登记 #{alice.id}）" in rows[1].text and "冲突" in rows[1].text
    conflicts = testapp.get("/admin/logistics/le-events", {"result": "conflict"}).html.select("#le-events tr")[1:]
    assert len(conflicts) == 1 and "开具出库单" in conflicts[0].text


def test_a_conflict_is_recorded_by_the_real_request_transaction(app, settings, committed):
    """The 409 is an answer, not a rolled-back error: the conflict stays for operators."""
    with Transaction(committed) as db:
        alice, bob = _new_booking(db, settings), _new_booking(db, settings)
        alice_id, bob_id = alice.id, bob.id
        first, claim = _order(alice, "SO-TX"), _order(bob, "SO-TX", minutes=1)
    browser = webtest.TestApp(app, extra_environ={"HTTP_HOST": "example.com"})
    _send(browser, settings, first)
    assert _send(browser, settings, claim, status=409)["error"]["code"] == "ORDER_CONFLICT"
    with Transaction(committed) as db:
        assert db.get(LeEvent, claim["event_id"]).result is LeEventResult.conflict
        assert db.scalars(select(OutboundOrder.booking_id)).one() == alice_id
        assert db.get(Booking, bob_id).facts == {}


# -- issue 9, defect 4: stale events change finished bookings ----------------------------------------


def test_late_events_after_a_complete_visit_change_nothing(testapp, settings, db):
    booking = _new_booking(db, settings, kind="pickup")
    for event in (
        _event("truck.entered", 10, booking_id=booking.id), _event("loading.started", 20, booking_id=booking.id, lane_code="L1"),
        _event("truck.loaded", 30, booking_id=booking.id, actual_quantity_kg=12000),
        _order(booking, "SO-L", 31, actual_quantity_kg=12000), _event("truck.exited", 40, booking_id=booking.id),
    ):
        assert _send(testapp, settings, event)["status"] == "applied"
    before = _timeline(testapp, db, booking)

    for late in (
        _event("truck.entered", 5, booking_id=booking.id),  # before the recorded entry (a new event id)
        _event("loading.started", 15, booking_id=booking.id, lane_code="L2"),
        _event("truck.loaded", 25, booking_id=booking.id, actual_quantity_kg=9999),
        _order(booking, "SO-L", 29, actual_quantity_kg=9999),
        _event("truck.exited", 35, booking_id=booking.id),
    ):
        assert _send(testapp, settings, late) == {"status": "ignored"}
    assert _timeline(testapp, db, booking) == before
    kinds = [line["kind"] for line in before]
    assert kinds.index("truck.entered") < kinds.index("truck.exited") == len(kinds) - 1
    assert (booking.status, booking.lane_code, booking.actual_quantity_kg, booking.reserved_kg) == (
        BookingStatus.completed, "L1", 12000, 0)
    assert (booking.entered_at, booking.exited_at) == (_at(10), _at(40))
    [order] = _orders(testapp, db, booking.driver)
    assert (order["status"], order["actual_quantity_kg"]) == ("shipped", 12000)
    assert _sign(testapp, db, booking.driver, "SO-L", 12000)["order"]["status"] == "signed"


def test_the_latest_weighing_defines_the_booking_and_its_order(testapp, settings, db):
    booking = _new_booking(db, settings)
    _send(testapp, settings, _order(booking, "SO-W", 10, actual_quantity_kg=9999))
    _send(testapp, settings, _event("truck.loaded", 12, booking_id=booking.id, actual_quantity_kg=12000))
    order = db.scalars(select(OutboundOrder)).one()
    assert (booking.actual_quantity_kg, order.actual_quantity_kg, order.shipped_at) == (12000, 12000, _at(12))
    _sign(testapp, db, booking.driver, "SO-W", 12000)
    # Signed: a later weighing moves the booking, never the signed document.
    _send(testapp, settings, _event("truck.loaded", 14, booking_id=booking.id, actual_quantity_kg=12100))
    assert (booking.actual_quantity_kg, order.actual_quantity_kg, order.status) == (12100, 12000, OrderStatus.signed)


@pytest.mark.parametrize("same_moment", [False, True], ids=["minutes-apart", "same-moment"])
def test_two_weighings_in_either_order_end_the_same(testapp, settings, db, same_moment):
    first, second = _new_booking(db, settings, kind="pickup"), _new_booking(db, settings, kind="pickup")

    def weighings(booking):
        return [_event("truck.loaded", 20, booking_id=booking.id, actual_quantity_kg=12000),
                _event("truck.loaded", 20 if same_moment else 25, booking_id=booking.id, actual_quantity_kg=12500)]

    a, b = weighings(first), weighings(second)
    # The same event ids for both bookings' pairs, so that a tie is decided alike.
    b[0]["event_id"], b[1]["event_id"] = a[0]["event_id"] + "-2", a[1]["event_id"] + "-2"
    for event in a:
        _send(testapp, settings, event)
    for event in reversed(b):
        _send(testapp, settings, event)
    ends = [(x.status, x.actual_quantity_kg, x.loaded_at, x.reserved_kg) for x in (first, second)]
    assert ends[0] == ends[1] and ends[0][0] is BookingStatus.loaded and ends[0][3] == 0
    if not same_moment:
        assert ends[0][1:3] == (12500, _at(25))


# -- issue 9, defect 5: the timeline follows arrival, not occurrence ----------------------------------


def test_a_visit_delivered_in_reverse_reads_in_the_order_it_happened(testapp, settings, db, booking):
    visit = [
        _event("truck.entered", 0, booking_id=booking.id), _event("queue.called", 1, booking_id=booking.id, lane_code="L1"),
        _event("loading.started", 2, booking_id=booking.id, lane_code="L1"),
        _event("truck.loaded", 3, booking_id=booking.id, actual_quantity_kg=19950),
        _order(booking, "SO-R", 4, actual_quantity_kg=19950), _event("truck.exited", 5, booking_id=booking.id),
    ]
    received = utcnow()
    for event in reversed(visit):
        assert _send(testapp, settings, event)["status"] == "applied"
    timeline = _timeline(testapp, db, booking)
    assert [(line["kind"], line["at"]) for line in timeline][-6:] == [(kind, api_time(_at(i))) for i, kind in enumerate(LE_KINDS)]
    assert booking.status is BookingStatus.completed
    # Operators also see when each report reached us.
    db.expire(booking, ["events"])
    assert all(line.received_at >= received for line in booking.events if line.kind in LE_KINDS)


# -- issue 9, defect 7: an order without a shipped quantity ---------------------------------------------


def test_an_order_without_a_quantity_waits_and_ships_when_the_weighing_arrives(testapp, settings, db, booking):
    driver = booking.driver
    assert _send(testapp, settings, _order(booking, "SO-Q", 3)) == {"status": "applied"}
    [order] = _orders(testapp, db, driver)
    assert (order["status"], order["status_label"], order["actual_quantity_kg"]) == ("created", "待发货", None)
    assert _orders(testapp, db, driver, status="shipped") == []
    assert _sign(testapp, db, driver, "SO-Q", 20000, status=409)["error"]["code"] == "not_shipped"
    _send(testapp, settings, _event("truck.exited", 9, booking_id=booking.id))
    assert _orders(testapp, db, driver, status="shipped") == []  # leaving says nothing of the quantity

    _send(testapp, settings, _event("truck.loaded", 2, booking_id=booking.id, actual_quantity_kg=19800))
    [order] = _orders(testapp, db, driver, status="shipped")
    assert (order["status_label"], order["actual_quantity_kg"], order["shipped_at"]) == ("已发货", 19800, api_time(_at(2)))
    assert _sign(testapp, db, driver, "SO-Q", 19800)["order"]["status"] == "signed"


def test_a_later_order_event_with_the_quantity_ships_the_order(testapp, settings, db, booking):
    _send(testapp, settings, _order(booking, "SO-Q2", 3))
    assert _send(testapp, settings, _order(booking, "SO-Q2", 4, actual_quantity_kg=19700)) == {"status": "applied"}
    [order] = _orders(testapp, db, booking.driver, status="shipped")
    assert (order["order_no"], order["actual_quantity_kg"]) == ("SO-Q2", 19700)
    assert booking.actual_quantity_kg == 19700
