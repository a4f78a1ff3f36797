"""No double bookings by accident: ``Idempotency-Key`` answers a repeat with the first answer, and
a truck holds one active booking per kind, product and time window. (Races: tests/integration.)"""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.models.idempotency import IdempotentRequest
from portal.models.logistics import Booking
from portal.models.meta import utcnow
from portal.services import idempotency
from portal.services.logistics import bookings as booking_service
from portal.services.logistics.policy import Policy
from portal.timefmt import SHANGHAI

from ...support import factories

KEY = "3f1c2d4e-8a9b-4c7d-9e0f-1a2b3c4d5e6f"


@pytest.fixture
def driver(db):
    return factories.driver(db)


def _auth(db, driver, key=None):
    headers = {"Authorization": f"Bearer {factories.token_for(db, driver.user)}"}
    return headers | ({"Idempotency-Key": key} if key else {})


def _payload(driver, hours=2, **overrides):
    arrival = (utcnow() + timedelta(hours=hours)).astimezone(SHANGHAI).isoformat()
    return {"kind": "pickup", "product_code": "NAOH32", "quantity_kg": 20000, "vehicle_id": driver.vehicles[0].id,
            "planned_arrival_at": arrival, **overrides}


def _post(testapp, headers, payload, status=201):
    return testapp.post_json("/api/logistics/bookings", payload, headers=headers, status=status)


def _bookings(db):
    return db.scalar(select(func.count()).select_from(Booking))


def test_a_repeat_with_the_same_key_gets_the_first_answer_and_books_once(testapp, db, driver):
    payload = _payload(driver)
    first = _post(testapp, _auth(db, driver, KEY), payload)
    # The same request again, its keys in another order, as a retry after a lost answer would be.
    again = _post(testapp, _auth(db, driver, KEY), dict(reversed(payload.items())))
    assert again.body == first.body and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.content_type == "application/json" and again.charset == "utf-8"
    assert _bookings(db) == 1 and first.json["booking"]["status"] == "checking"
    # Even once the booking moved on, the repeat is the first answer.
    booking_service.cancel_booking(db, db.get(Booking, first.json["booking"]["id"]), by="driver")
    assert _post(testapp, _auth(db, driver, KEY), payload).body == first.body


def test_a_key_reused_for_another_request_is_refused(testapp, db, driver):
    _post(testapp, _auth(db, driver, KEY), _payload(driver))
    body = _post(testapp, _auth(db, driver, KEY), _payload(driver, hours=30), status=422).json
    assert body["error"]["code"] == "idempotency_key_reused"
    assert body["error"]["fields"] == {"Idempotency-Key": "已用于内容不同的请求"}
    assert _bookings(db) == 1


def test_keys_are_each_users_own(testapp, db, driver):
    other = factories.driver(db)
    mine = _post(testapp, _auth(db, driver, KEY), _payload(driver)).json["booking"]
    theirs = _post(testapp, _auth(db, other, KEY), _payload(other)).json["booking"]
    assert mine["id"] != theirs["id"] and _bookings(db) == 2


@pytest.mark.parametrize("key", ["", "x" * 65, "含中文", "a b"])
def test_a_malformed_key_is_refused_by_the_contract(testapp, db, driver, key):
    body = _post(testapp, _auth(db, driver) | {"Idempotency-Key": key}, _payload(driver), status=400).json
    assert body["error"]["code"] == "invalid" and "Idempotency-Key" in body["error"]["fields"]
    assert _bookings(db) == 0


def test_an_expired_key_is_claimed_afresh(db, driver, settings):
    policy = Policy.from_settings(settings)

    def book(hours):
        return lambda: (201, str(booking_service.create_booking(db, driver, _payload(driver, hours), policy).id))

    status, first, replayed = idempotency.answer_once(db, driver.user_id, KEY, "first", book(2))
    assert (status, replayed) == (201, False)
    later = utcnow() + idempotency.KEPT_FOR
    status, second, replayed = idempotency.answer_once(db, driver.user_id, KEY, "second", book(30), now=later)
    assert (status, replayed) == (201, False) and second != first and _bookings(db) == 2
    assert db.scalar(select(IdempotentRequest.fingerprint)) == "second"


# -- one active booking per truck, kind, product and window -----------------------------------


def test_the_same_trip_booked_twice_is_refused_with_the_first_named(testapp, db, driver):
    first = _post(testapp, _auth(db, driver), _payload(driver)).json["booking"]
    body = _post(testapp, _auth(db, driver), _payload(driver, hours=3), status=409).json
    assert body["error"]["code"] == "duplicate_booking"
    assert f"#{first['id']}，核对库存中" in body["error"]["message"] and "请勿重复登记" in body["error"]["message"]
    assert body["error"]["fields"] == {"planned_arrival_at": f"与登记 #{first['id']} 的时段重叠"}
    assert _bookings(db) == 1


def test_other_windows_kinds_products_and_ended_bookings_do_not_count(testapp, db, driver):
    auth = _auth(db, driver)
    factories.product(db, "HCL31", "31%盐酸")
    driver.vehicles[0].approved_products = ["NAOH32", "HCL31"]
    first = _post(testapp, auth, _payload(driver)).json["booking"]
    _post(testapp, auth, _payload(driver, hours=6.5))  # after the first's 240-minute window
    _post(testapp, auth, _payload(driver, kind="delivery"))
    _post(testapp, auth, _payload(driver, product_code="HCL31"))
    booking_service.cancel_booking(db, db.get(Booking, first["id"]), by="driver")
    _post(testapp, auth, _payload(driver))  # the cancelled one no longer holds its window
    assert _bookings(db) == 5


def test_a_registered_booking_holds_its_window_until_it_expires(testapp, db, driver):
    auth = _auth(db, driver)
    delivery = _post(testapp, auth, _payload(driver, kind="delivery")).json["booking"]
    assert delivery["status"] == "registered"
    # Its window: planned arrival (in 2 h) + 240 minutes. Windows overlapping its start and its end.
    _post(testapp, auth, _payload(driver, hours=0.1, kind="delivery"), status=409)
    _post(testapp, auth, _payload(driver, hours=5.9, kind="delivery"), status=409)
    _post(testapp, auth, _payload(driver, hours=6.1, kind="delivery"))
