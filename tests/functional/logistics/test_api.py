"""The driver's JSON API: registration checks, refusals, isolation between drivers."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.models.logistics import Booking, BookingStatus, OutboundOrder, StockCheck
from portal.models.meta import utcnow
from portal.models.outbox import OutboxMessage
from portal.timefmt import SHANGHAI

from ...support import factories


@pytest.fixture
def driver_user(db):
    return factories.wechat_user(db)


def _auth(db, user):
    return {"Authorization": f"Bearer {factories.token_for(db, user)}"}


def _arrival(hours=2):
    return (utcnow() + timedelta(hours=hours)).astimezone(SHANGHAI).isoformat()


def test_a_driver_profile_is_validated_field_by_field(testapp, db, driver_user):
    auth = _auth(db, driver_user)
    bad = factories.driver_payload(id_card_no="110105194912310021", mobile="1380000", qualification_expires_on="2020-01-01")
    body = testapp.put_json("/api/logistics/driver", bad, headers=auth, status=400).json
    assert body["error"]["fields"] == {
        "id_card_no": "身份证号不正确，请核对", "mobile": "手机号格式不正确", "qualification_expires_on": "从业资格证已过期",
    }
    assert testapp.get("/api/logistics/driver", headers=auth).json["driver"] is None


def test_a_driver_registers_and_is_queued_for_le_with_masked_ids(testapp, db, driver_user):
    auth = _auth(db, driver_user)
    escort = {"name": "李四", "id_card_no": factories.ID_CARD, "qualification_no": "Q1", "qualification_expires_on": factories.in_days(365)}
    driver = testapp.put_json("/api/logistics/driver", factories.driver_payload(escort=escort), headers=auth).json["driver"]
    assert driver["id_card_no"] == "110***********002X" and driver["mobile"] == "138****0000"
    assert driver["sync"] == {"state": "pending", "label": "同步中", "error": None}
    assert driver["escort"]["name"] == "李四"
    rows = db.scalars(select(OutboxMessage.actor_name)).all()
    assert rows == ["le.sync_driver"]
    me = testapp.get("/api/me", headers=auth).json
    assert me["bindings"]["driver"]["name"] == "张三"


def test_vehicles_need_a_driver_profile_and_valid_plates(testapp, db, driver_user):
    auth = _auth(db, driver_user)
    factories.product(db)
    body = testapp.post_json("/api/logistics/vehicles", factories.vehicle_payload(), headers=auth, status=409).json
    assert body["error"]["code"] == "driver_required"
    testapp.put_json("/api/logistics/driver", factories.driver_payload(), headers=auth)
    bad = factories.vehicle_payload(plate_no="闽I1234", trailer_no="闽A12345", approved_products=["XYZ"], tank_capacity_kg=0)
    fields = testapp.post_json("/api/logistics/vehicles", bad, headers=auth, status=400).json["error"]["fields"]
    assert set(fields) == {"plate_no", "trailer_no", "approved_products", "tank_capacity_kg"}
    vehicle = testapp.post_json("/api/logistics/vehicles", factories.vehicle_payload(plate_no="闽AD12345"), headers=auth, status=201).json
    assert vehicle["vehicle"]["plate_no"] == "闽AD12345"
    testapp.post_json("/api/logistics/vehicles", factories.vehicle_payload(plate_no="闽AD12345"), headers=auth, status=409)


def _book(testapp, auth, vehicle_id, status=201, **overrides):
    payload = {"kind": "pickup", "product_code": "NAOH32", "quantity_kg": 20000, "vehicle_id": vehicle_id, "planned_arrival_at": _arrival(), **overrides}
    return testapp.post_json("/api/logistics/bookings", payload, headers=auth, status=status).json


def test_a_pickup_waits_for_the_mes_and_a_delivery_is_registered_at_once(testapp, db, driver_user):
    driver = factories.driver(db, driver_user)
    auth = _auth(db, driver_user)
    pickup = _book(testapp, auth, driver.vehicles[0].id)["booking"]
    assert pickup["status"] == "checking" and pickup["status_label"] == "核对库存中"
    assert db.scalars(select(StockCheck)).one().booking_id == pickup["id"]
    delivery = _book(testapp, auth, driver.vehicles[0].id, kind="delivery")["booking"]
    assert delivery["status"] == "registered" and delivery["expires_at"]
    actors = db.scalars(select(OutboxMessage.actor_name).order_by(OutboxMessage.id)).all()
    assert actors[-3:] == ["mes.check_stock", "le.sync_booking", "le.expire_booking"]
    expiry = db.scalars(select(OutboxMessage).where(OutboxMessage.actor_name == "le.expire_booking")).one()
    assert expiry.eta is not None  # a delayed message for the exact moment


@pytest.mark.parametrize("change, reason", [
    (lambda d, v: setattr(d, "qualification_expires_on", (utcnow() + timedelta(hours=1)).date()), "从业资格证"),
    (
        lambda d, v: setattr(d, "escort_qualification_expires_on", (utcnow() + timedelta(hours=1)).date()) or setattr(d, "escort_name", "李四"),
        "押运员从业资格证",
    ),
    (lambda d, v: setattr(v, "tank_inspection_expires_on", (utcnow() + timedelta(hours=1)).date()), "罐体检验"),
    (lambda d, v: setattr(v, "approved_products", ["HCL31"]), "罐体适装介质不含"),
    (lambda d, v: setattr(v, "tank_capacity_kg", 10000), "超过罐体容量"),
])
def test_each_loading_check_refusal_has_its_reason(testapp, db, driver_user, change, reason):
    driver = factories.driver(db, driver_user)
    change(driver, driver.vehicles[0])
    db.flush()
    body = _book(testapp, _auth(db, driver_user), driver.vehicles[0].id, status=422, planned_arrival_at=_arrival(hours=48))
    assert body["error"]["code"] == "check_failed" and reason in body["error"]["message"]
    assert db.scalars(select(Booking)).all() == []


def test_bad_booking_input_is_refused_per_field(testapp, db, driver_user):
    driver = factories.driver(db, driver_user)
    auth = _auth(db, driver_user)
    fields = _book(testapp, auth, driver.vehicles[0].id, status=400, kind="steal", quantity_kg="lots", planned_arrival_at="tomorrow")["error"]["fields"]
    assert set(fields) == {"kind", "quantity_kg", "planned_arrival_at"}
    past = _book(testapp, auth, driver.vehicles[0].id, status=400, planned_arrival_at=_arrival(hours=-1))
    assert past["error"]["fields"]["planned_arrival_at"] == "计划到厂时间须晚于现在"
    far = _book(testapp, auth, driver.vehicles[0].id, status=400, planned_arrival_at=_arrival(hours=24 * 30))
    assert "天内" in far["error"]["fields"]["planned_arrival_at"]
    assert _book(testapp, auth, driver.vehicles[0].id, status=400, product_code="NOPE")["error"]["fields"] == {"product_code": "未知或已停用的品名"}


def test_drivers_cannot_see_or_change_each_others_data(testapp, db):
    alice, bob = factories.driver(db), factories.driver(db)
    alice_auth, bob_auth = _auth(db, alice.user), _auth(db, bob.user)
    booking = _book(testapp, alice_auth, alice.vehicles[0].id)["booking"]
    order = OutboundOrder(order_no="SO202611260001", driver_id=alice.id, product_code="NAOH32", planned_quantity_kg=20000,
                          actual_quantity_kg=19980, status="shipped")
    db.add(order)
    db.flush()
    testapp.get(f"/api/logistics/bookings/{booking['id']}", headers=bob_auth, status=404)
    testapp.post_json(f"/api/logistics/bookings/{booking['id']}/cancel", {}, headers=bob_auth, status=404)
    testapp.put_json(f"/api/logistics/vehicles/{alice.vehicles[0].id}", factories.vehicle_payload(), headers=bob_auth, status=404)
    testapp.delete(f"/api/logistics/vehicles/{alice.vehicles[0].id}", headers=bob_auth, status=404)
    _book(testapp, bob_auth, alice.vehicles[0].id, status=404)  # booking with someone else's truck
    testapp.post_json("/api/logistics/orders/SO202611260001/sign", {"signed_quantity_kg": 19980}, headers=bob_auth, status=404)
    assert testapp.get("/api/logistics/bookings", headers=bob_auth).json["bookings"] == []
    assert testapp.get("/api/logistics/orders", headers=bob_auth).json["orders"] == []
    assert db.get(Booking, booking["id"]).status is BookingStatus.checking


def test_cancel_releases_and_tells_le(testapp, db, driver_user):
    driver = factories.driver(db, driver_user)
    auth = _auth(db, driver_user)
    booking = _book(testapp, auth, driver.vehicles[0].id, kind="delivery")["booking"]
    cancelled = testapp.post_json(f"/api/logistics/bookings/{booking['id']}/cancel", {}, headers=auth).json["booking"]
    assert cancelled["status"] == "cancelled" and cancelled["timeline"][-1]["message"] == "驾驶员取消"
    again = testapp.post_json(f"/api/logistics/bookings/{booking['id']}/cancel", {}, headers=auth, status=409).json
    assert "不能取消" in again["error"]["message"]


def test_sign_off_is_validated_against_the_shipped_quantity_and_happens_once(testapp, db, driver_user):
    driver = factories.driver(db, driver_user)
    auth = _auth(db, driver_user)
    db.add(OutboundOrder(order_no="SO1", driver_id=driver.id, product_code="NAOH32", planned_quantity_kg=20000, actual_quantity_kg=20000, status="shipped"))
    db.add(OutboundOrder(order_no="SO2", driver_id=driver.id, product_code="NAOH32", planned_quantity_kg=20000, status="created"))
    db.flush()
    far = testapp.post_json("/api/logistics/orders/SO1/sign", {"signed_quantity_kg": 19000}, headers=auth, status=400).json
    assert "相差超过 2%" in far["error"]["fields"]["signed_quantity_kg"]
    signed = testapp.post_json("/api/logistics/orders/SO1/sign", {"signed_quantity_kg": 19900, "note": "少量挂壁"}, headers=auth).json
    assert signed["order"]["status"] == "signed" and signed["order"]["sign_sync"]["state"] == "pending"
    testapp.post_json("/api/logistics/orders/SO1/sign", {"signed_quantity_kg": 19900}, headers=auth, status=409)
    testapp.post_json("/api/logistics/orders/SO2/sign", {"signed_quantity_kg": 19900}, headers=auth, status=409)
    listed = testapp.get("/api/logistics/orders", {"status": "signed"}, headers=auth).json["orders"]
    assert [o["order_no"] for o in listed] == ["SO1"]


def test_booking_lists_page_by_keyset(testapp, db, driver_user):
    driver = factories.driver(db, driver_user)
    auth = _auth(db, driver_user)
    # A truck books one window at a time: 5 h apart.
    ids = [_book(testapp, auth, driver.vehicles[0].id, kind="delivery", planned_arrival_at=_arrival(2 + 5 * n))["booking"]["id"]
           for n in range(5)]
    first = testapp.get("/api/logistics/bookings", {"limit": 2}, headers=auth).json
    assert [b["id"] for b in first["bookings"]] == ids[:-3:-1]
    second = testapp.get("/api/logistics/bookings", {"limit": 2, "before": first["next_before"]}, headers=auth).json
    assert [b["id"] for b in second["bookings"]] == [ids[2], ids[1]]
    testapp.get("/api/logistics/bookings", {"limit": "x"}, headers=auth, status=400)


def test_a_changed_or_removed_vehicle_shows_it_is_syncing_again(testapp, db, driver_user):
    driver = factories.driver(db, driver_user)
    vehicle = driver.vehicles[0]
    vehicle.mark_synced("LE-V-1")
    db.flush()
    auth = _auth(db, driver_user)
    changed = testapp.put_json(f"/api/logistics/vehicles/{vehicle.id}", factories.vehicle_payload(trailer_no="闽A4321挂"), headers=auth)
    assert changed.json["vehicle"]["sync"]["state"] == "pending"
    vehicle.mark_synced()
    db.flush()
    testapp.delete(f"/api/logistics/vehicles/{vehicle.id}", headers=auth)
    assert vehicle.sync_state.value == "pending" and not vehicle.active
    actors = db.scalars(select(OutboxMessage.actor_name).order_by(OutboxMessage.id)).all()
    assert actors[-2:] == ["le.sync_vehicle", "le.sync_vehicle"]
