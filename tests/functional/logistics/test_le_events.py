"""LE's events: signed, deduplicated by event id, applied in any order, never backwards."""

import json
import secrets
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from portal.integrations.contract import signature
from portal.models.logistics import BookingStatus, Lane, LeEvent, OutboundOrder
from portal.models.meta import utcnow
from portal.models.wechat import Notification
from portal.services.logistics import bookings as booking_service
from portal.services.logistics.policy import Policy
from portal.timefmt import SHANGHAI

from ...support import factories

PATH = "/api/le/events"


def _send(testapp, settings, event, status=200, secret=None):
    body = json.dumps(event).encode()
    ts, nonce = str(int(time.time())), secrets.token_hex(8)
    headers = {
        "Content-Type": "application/json", "X-Portal-Key": settings["portal.le_app_key"], "X-Portal-Timestamp": ts,
        "X-Portal-Nonce": nonce,
        "X-Portal-Signature": signature(secret or settings["portal.le_app_secret"], "POST", PATH, ts, nonce, body),
    }
    return testapp.post(PATH, body, headers=headers, status=status).json


def _event(type_, minutes=0, **data):
    at = (datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI) + timedelta(minutes=minutes)).isoformat()
    return {"event_id": "evt-" + secrets.token_hex(6), "type": type_, "occurred_at": at, "data": data}


@pytest.fixture
def booking(db, settings):
    driver = factories.driver(db, factories.wechat_user(db))
    policy = Policy.from_settings(settings)
    data = {"kind": "delivery", "product_code": "NAOH32", "quantity_kg": 20000, "vehicle_id": driver.vehicles[0].id,
            "planned_arrival_at": (utcnow() + timedelta(hours=1)).isoformat()}
    return booking_service.create_booking(db, driver, data, policy)


def test_a_bad_signature_is_refused(testapp, settings, booking):
    body = _send(testapp, settings, _event("truck.entered", booking_id=booking.id), status=401, secret="forged")
    assert body["error"]["code"] == "AUTH_BAD_SIGNATURE"
    assert booking.status is BookingStatus.registered


def test_a_whole_visit_in_order(testapp, settings, db, booking):
    for i, (type_, extra) in enumerate([
        ("truck.entered", {}), ("loading.started", {"lane_code": "L1"}), ("truck.loaded", {"actual_quantity_kg": 19950}),
        ("outbound_order.created", {"order_no": "SO1", "driver_id": booking.driver_id, "product_code": "NAOH32",
                                    "planned_quantity_kg": 20000, "actual_quantity_kg": 19950}),
        ("truck.exited", {}),
    ]):
        assert _send(testapp, settings, _event(type_, i, booking_id=booking.id, **extra)) == {"status": "applied"}
    assert booking.status is BookingStatus.completed and booking.actual_quantity_kg == 19950
    order = db.scalars(select(OutboundOrder)).one()
    assert (order.status, order.actual_quantity_kg, order.booking_id) == ("shipped", 19950, booking.id)
    assert [e.kind for e in booking.events][-5:] == ["truck.entered", "loading.started", "truck.loaded", "order", "truck.exited"]


def test_duplicates_are_recognised_and_out_of_order_events_never_move_backwards(testapp, settings, db, booking):
    exited = _event("truck.exited", 30, booking_id=booking.id)
    assert _send(testapp, settings, exited)["status"] == "applied"
    assert _send(testapp, settings, exited)["status"] == "duplicate"
    assert _send(testapp, settings, _event("truck.entered", 0, booking_id=booking.id))["status"] == "applied"
    assert booking.status is BookingStatus.completed  # entered arrived late: no step back
    assert booking.entered_at is not None and booking.exited_at is not None
    assert len(db.scalars(select(LeEvent)).all()) == 2


def test_events_for_an_ended_booking_are_ignored_but_recorded(testapp, settings, db, booking):
    booking_service.cancel_booking(db, booking, by="driver")
    assert _send(testapp, settings, _event("truck.entered", booking_id=booking.id))["status"] == "ignored"
    assert booking.status is BookingStatus.cancelled
    assert "未处理" in booking.events[-1].message
    assert _send(testapp, settings, _event("truck.entered", booking_id=999999))["status"] == "ignored"


def test_lanes_and_calls_reach_the_driver(testapp, settings, db, booking):
    lane = {"code": "L1", "name": "1号装车道", "status": "loading", "loading_count": 1, "waiting_count": 2,
            "queue": [{"booking_id": booking.id, "position": 2, "called": False}]}
    _send(testapp, settings, _event("lane.changed", 5, **lane))
    older = _event("lane.changed", 1, **{**lane, "status": "idle"})
    assert _send(testapp, settings, older)["status"] == "ignored"  # an older picture of the lane
    assert db.get(Lane, "L1").status == "loading" and booking.queue_position == 2
    assert _send(testapp, settings, _event("queue.called", 6, booking_id=booking.id, lane_code="L1"))["status"] == "applied"
    assert _send(testapp, settings, _event("queue.called", 7, booking_id=booking.id, lane_code="L1"))["status"] == "ignored"
    [notification] = db.scalars(select(Notification)).all()
    assert notification.topic == "装车叫号" and notification.data["thing3"]["value"] == "请前往1号装车道"
    assert notification.url.endswith("/h5/logistics/queue")
    auth = {"Authorization": f"Bearer {factories.token_for(db, booking.driver.user)}"}
    lanes = testapp.get("/api/logistics/lanes", headers=auth).json
    assert lanes["lanes"][0]["status_label"] == "装车中"
    assert lanes["my_queue"] == [{"booking_id": booking.id, "lane_code": "L1", "lane_name": "1号装车道", "position": 2, "called": True,
                                  "status": "registered", "status_label": "已登记"}]


def test_malformed_events_are_a_422(testapp, settings):
    body = _send(testapp, settings, {"event_id": "", "type": "truck.flew", "occurred_at": "yesterday", "data": []}, status=422)
    assert set(body["error"]["fields"]) == {"event_id", "type", "occurred_at", "data"}
