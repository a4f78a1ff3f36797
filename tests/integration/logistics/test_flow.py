"""Smart logistics end to end: driver JSON calls → our app (served over HTTP) → outbox → a real
worker → the LE and MES simulators → LE's events back to our app."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import select, update

from portal import outbox
from portal.db import Transaction
from portal.integrations.base import TransientError
from portal.models.logistics import Booking, BookingStatus, Product, StockCheck
from portal.models.meta import utcnow
from portal.models.sync import SyncState
from portal.services.logistics import bookings as booking_service
from portal.services.logistics import stock as stock_service
from portal.services.logistics.policy import Policy
from portal.timefmt import SHANGHAI

from ...support import factories
from ...support.waiting import wait_for


class Driver_:
    """A driver's phone: a bearer token and JSON calls."""

    def __init__(self, base, token):
        self.base, self.session = base, requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method, path, status=200, **kwargs):
        response = self.session.request(method, self.base + path, timeout=15, **kwargs)
        assert response.status_code == status, response.text
        return response.json()


def _new_driver(portal, committed, products=("NAOH32",), oa_openid=None):
    with Transaction(committed) as db:
        for code in products:
            factories.product(db, code)
        user = factories.wechat_user(db, **({"oa_openid": oa_openid} if oa_openid else {}))
        token = factories.token_for(db, user)
    phone = Driver_(portal, token)
    phone.call("PUT", "/api/logistics/driver", json=factories.driver_payload(id_card_no=factories.unique_id_card()))
    vehicle = phone.call("POST", "/api/logistics/vehicles", 201, json=factories.vehicle_payload(approved_products=list(products)))
    return phone, vehicle["vehicle"]["id"]


def _arrival(hours=2):
    return (utcnow() + timedelta(hours=hours)).astimezone(SHANGHAI).isoformat()


def _booking(phone, booking_id):
    return phone.call("GET", f"/api/logistics/bookings/{booking_id}")["booking"]


def test_registration_and_a_whole_pickup_visit(portal, worker, committed, simulators, settle):
    le, mes = simulators["le"], simulators["mes"]
    phone, vehicle_id = _new_driver(portal, committed)
    settle()
    driver = phone.call("GET", "/api/logistics/driver")["driver"]
    assert driver["sync"]["state"] == "synced" and driver["le_code"] == f"LE-D-{driver['id']:06d}" and driver["id"] in le.drivers
    assert phone.call("GET", "/api/logistics/vehicles")["vehicles"][0]["sync"]["state"] == "synced"

    report = phone.call("POST", "/api/logistics/entry-reports", 201,
                        json={"vehicle_id": vehicle_id, "expected_on": utcnow().astimezone(SHANGHAI).date().isoformat(), "purpose": "首次提货"})
    settle()
    assert phone.call("GET", "/api/logistics/entry-reports")["entry_reports"][0]["report_no"]
    assert report["entry_report"]["id"] in le.entry_reports

    booking = phone.call("POST", "/api/logistics/bookings", 201, json={
        "kind": "pickup", "product_code": "NAOH32", "quantity_kg": 25000, "vehicle_id": vehicle_id, "planned_arrival_at": _arrival()})["booking"]
    assert booking["status"] == "checking"
    settle()
    registered = _booking(phone, booking["id"])
    assert registered["status"] == "registered" and registered["le_sync"]["state"] == "synced" and registered["card_no"]
    assert [e.path for e in mes.effects()] == [] and any(e.path == "/v1/stock" for e in mes.ledger)
    with Transaction(committed) as db:
        product = db.get(Product, "NAOH32")
        assert product.stock_kg == 1_250_000 and stock_service.reserved_kg(db, "NAOH32") == 25000

    le.play_visit(booking["id"], actual_quantity_kg=24980)
    settle()
    done = _booking(phone, booking["id"])
    assert (done["status"], done["actual_quantity_kg"]) == ("completed", 24980)
    # In the order things happened: our steps at our times, LE's at theirs — whole seconds, so
    # a visit played at once may start in the very second of our registration, before it.
    times = [datetime.fromisoformat(t["at"]) for t in done["timeline"]]
    assert times == sorted(times)
    kinds = [t["kind"] for t in done["timeline"]]
    ours = ["created", "stock_ok", "registered", "le_registered"]
    visit = ["truck.entered", "called", "loading.started", "truck.loaded", "order", "truck.exited"]
    assert [k for k in kinds if k in ours] == ours and [k for k in kinds if k in visit] == visit
    with Transaction(committed) as db:
        assert stock_service.reserved_kg(db, "NAOH32") == 0  # released once loaded
    [order] = phone.call("GET", "/api/logistics/orders")["orders"]
    assert (order["status"], order["actual_quantity_kg"], order["booking_id"]) == ("shipped", 24980, booking["id"])

    # 到货签收 → LE, once.
    phone.call("POST", f"/api/logistics/orders/{order['order_no']}/sign", json={"signed_quantity_kg": 24900, "note": "客户已签"})
    settle()
    assert phone.call("GET", "/api/logistics/orders")["orders"][0]["sign_sync"]["state"] == "synced"
    assert le.orders[order["order_no"]]["signed_quantity_kg"] == 24900
    assert len(le.effects(f"/v1/outbound-orders/{order['order_no']}/sign")) == 1

    # Lanes: the driver sees LE's lanes after a refresh.
    with Transaction(committed) as db:
        outbox.defer(db, "le.refresh_lanes")
    settle()
    assert len(phone.call("GET", "/api/logistics/lanes")["lanes"]) == 3


def test_documents_refresh_on_demand(portal, worker, committed, simulators, settle):
    le = simulators["le"]
    phone, vehicle_id = _new_driver(portal, committed)
    booking = phone.call("POST", "/api/logistics/bookings", 201, json={
        "kind": "delivery", "product_code": "NAOH32", "quantity_kg": 10000, "vehicle_id": vehicle_id, "planned_arrival_at": _arrival()})["booking"]
    settle()
    assert _booking(phone, booking["id"])["card_no"]
    le.event_faults.update(drop_rate=1.0)  # LE's events are lost: only the refresh can bring the order
    le.play_visit(booking["id"])
    assert phone.call("GET", "/api/logistics/orders")["orders"] == []
    assert phone.call("POST", "/api/logistics/orders/refresh", 202)["ok"]
    settle()
    orders = phone.call("GET", "/api/logistics/orders")["orders"]
    assert orders[0]["booking_id"] == booking["id"] and orders[0]["status"] == "shipped"


def test_fifty_concurrent_pickups_never_reserve_more_than_the_stock_allows(portal, worker, committed, simulators, settle):
    mes = simulators["mes"]
    # 10 t of each 30 t... : stock 400 t, threshold 100 t → at most 300 t may be reserved = 12 bookings of 25 t.
    mes.set_stock("NAOH32", 400_000)
    phones = [_new_driver(portal, committed) for _ in range(10)]
    barrier = threading.Barrier(50)

    def book(i):
        phone, vehicle_id = phones[i % 10]
        barrier.wait()
        # Each truck's five bookings in five time windows: one per window is all a truck may hold.
        return phone.call("POST", "/api/logistics/bookings", 201, json={
            "kind": "pickup", "product_code": "NAOH32", "quantity_kg": 25000, "vehicle_id": vehicle_id,
            "planned_arrival_at": _arrival(hours=2 + 5 * (i // 10))})["booking"]["id"]

    with ThreadPoolExecutor(50) as pool:
        ids = list(pool.map(book, range(50)))

    settle()
    with Transaction(committed) as db:
        statuses = db.scalars(select(Booking.status).where(Booking.id.in_(ids))).all()
        reserved = stock_service.reserved_kg(db, "NAOH32")
    assert statuses.count(BookingStatus.registered) == 12
    assert statuses.count(BookingStatus.rejected) == 38
    assert reserved == 300_000 <= 400_000 - 100_000


def _registered_delivery(phone, vehicle_id, settle):
    booking = phone.call("POST", "/api/logistics/bookings", 201, json={
        "kind": "delivery", "product_code": "NAOH32", "quantity_kg": 10000, "vehicle_id": vehicle_id, "planned_arrival_at": _arrival()})["booking"]
    settle()
    assert _booking(phone, booking["id"])["card_no"]
    return booking["id"]


def test_expiry_at_the_exact_moment_releases_tells_le_once_and_notifies(portal, worker, committed, simulators, settings, broker, settle):
    le, wechat = simulators["le"], simulators["wechat"]
    phone, vehicle_id = _new_driver(portal, committed, oa_openid=wechat.add_user().oa_openid)
    booking_id = _registered_delivery(phone, vehicle_id, settle)
    with Transaction(committed) as db:
        db.execute(update(Booking).where(Booking.id == booking_id).values(expires_at=utcnow() + timedelta(seconds=2)))
        outbox.defer(db, "le.expire_booking", booking_id, eta=utcnow() + timedelta(seconds=2))
    # The delayed message's moment, then what it set off.
    wait_for(lambda: _booking(phone, booking_id)["status"] == "expired", timeout=30, message="the expiry")
    settle()
    done = _booking(phone, booking_id)
    assert done["le_sync"]["state"] == "synced" and "退卡" in done["reason"]
    assert len(le.effects(f"/v1/bookings/{booking_id}/cancel")) == 1
    assert le.bookings[booking_id]["status"] == "cancelled"
    assert any(m["kind"] == "template" and "退卡" in m["data"]["thing2"]["value"] for m in wechat.sent_messages)
    # The sweep and the original delayed message find nothing more to do.
    assert booking_service.expire_overdue(committed, Policy.from_settings(settings)) == 0


def test_mes_or_le_down_the_booking_waits_visibly_and_completes_later(portal, worker, committed, simulators, settle):
    le, mes = simulators["le"], simulators["mes"]
    phone, vehicle_id = _new_driver(portal, committed)
    settle()
    mes.faults.update(fail_next=2, fail_next_kind="5xx")
    le.faults.update(fail_next=2, fail_next_kind="timeout", hold_seconds=2.5)
    booking = phone.call("POST", "/api/logistics/bookings", 201, json={
        "kind": "pickup", "product_code": "NAOH32", "quantity_kg": 25000, "vehicle_id": vehicle_id, "planned_arrival_at": _arrival()})["booking"]
    waiting = wait_for(lambda: (b := _booking(phone, booking["id"]))["check"]["error"] and b)
    assert waiting["status"] == "checking" and "MES" in waiting["check"]["error"]
    settle()
    done = _booking(phone, booking["id"])
    assert (done["status"], done["check"]["state"], done["le_sync"]["state"]) == ("registered", "synced", "synced")
    assert done["card_no"]
    # LE applied the registration once although two answers were lost.
    assert len(le.effects("/v1/bookings")) == 1


# -- found by the chaos run (chaos/): cancellations racing the MES and LE ---------------------------


def _committed_booking(committed, settings, kind):
    with Transaction(committed) as db:
        driver = factories.driver(db)
        booking = booking_service.create_booking(db, driver, {
            "kind": kind, "product_code": "NAOH32", "quantity_kg": 25000, "vehicle_id": driver.vehicles[0].id,
            "planned_arrival_at": _arrival()}, Policy.from_settings(settings))
        return booking.id


def test_a_cancellation_while_the_mes_is_asked_is_not_overwritten(committed, settings):
    """check_stock reads the booking, asks the MES, then decides under the booking's lock: a
    cancellation committed meanwhile must stand, not be replaced by a registration."""
    booking_id = _committed_booking(committed, settings, "pickup")
    with Transaction(committed) as db:
        check = db.scalar(select(StockCheck).where(StockCheck.booking_id == booking_id))
        assert check.booking.status is BookingStatus.checking  # read before asking the MES
        with Transaction(committed) as phone:
            booking_service.cancel_booking(phone, phone.get(Booking, booking_id), by="driver")
        stock_service.decide_stock(db, check, 1_250_000, Policy.from_settings(settings))
    with Transaction(committed) as db:
        booking = db.get(Booking, booking_id)
        assert (booking.status, booking.reserved_kg, booking.expires_at) == (BookingStatus.cancelled, 0, None)
        assert [event.kind for event in booking.events] == ["created", "cancelled"]


def test_a_booking_cancelled_after_its_registration_answer_was_lost_is_cancelled_at_le(committed, simulators, settings, broker):
    """LE registered the booking but the answer never came back, so le_state is still "none";
    the driver cancels before the retry. LE must still be told, or it keeps a live gate card."""
    le = simulators["le"]
    sync_booking = broker.get_actor("le.sync_booking")
    booking_id = _committed_booking(committed, settings, "delivery")
    le.faults.update(fail_next=1, fail_next_kind="timeout", hold_seconds=2.5)
    with pytest.raises(TransientError):
        sync_booking(booking_id)  # a worker's delivery of the registration message, run here
    assert le.bookings[booking_id]["status"] == "registered"
    with Transaction(committed) as db:
        booking = db.get(Booking, booking_id)
        assert booking.le_state == "none"
        booking_service.cancel_booking(db, booking, by="driver")
    sync_booking(booking_id)  # the cancellation's message
    assert le.bookings[booking_id]["status"] == "cancelled"
    assert len(le.effects("/v1/bookings")) == 1 and len(le.effects(f"/v1/bookings/{booking_id}/cancel")) == 1
    with Transaction(committed) as db:
        booking = db.get(Booking, booking_id)
        assert (booking.le_state, booking.sync_state) == ("cancelled", SyncState.synced)


def test_an_admin_cancellation_reaches_le_with_its_reason(portal, worker, committed, simulators, settings, settle):
    le = simulators["le"]
    phone, vehicle_id = _new_driver(portal, committed)
    booking_id = _registered_delivery(phone, vehicle_id, settle)
    with Transaction(committed) as db:
        admin = factories.admin(db, "logistics")
        booking_service.admin_cancel_booking(db, db.get(Booking, booking_id), admin, Policy.from_settings(settings), reason="车辆故障，调度取消")
    settle()
    assert _booking(phone, booking_id)["le_sync"]["state"] == "synced"
    [cancel] = le.effects(f"/v1/bookings/{booking_id}/cancel")
    assert cancel.body == {"reason": "cancelled_by_admin", "note": "车辆故障，调度取消"}
