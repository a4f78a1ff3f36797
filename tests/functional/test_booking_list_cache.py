"""The driver's booking list is cached per user data version; every change of what it shows,
whoever writes it, moves the version (migration 0005's triggers), so no answer is stale."""

from datetime import timedelta

import pytest
from sqlalchemy import event, text

from portal.models.meta import utcnow
from portal.services import logistics

from ..support import factories


@pytest.fixture
def driver(db):
    return factories.driver(db, factories.wechat_user(db))


@pytest.fixture
def auth(db, driver):
    return {"Authorization": f"Bearer {factories.token_for(db, driver.user)}"}


def _book(testapp, auth, driver, **overrides):
    payload = {
        "kind": "delivery", "product_code": "NAOH32", "quantity_kg": 20000, "vehicle_id": driver.vehicles[0].id,
        "planned_arrival_at": (utcnow() + timedelta(hours=2)).isoformat(), **overrides,
    }
    return testapp.post_json("/api/logistics/bookings", payload, headers=auth, status=201).json["booking"]


def _listed(testapp, auth, **params):
    return testapp.get("/api/logistics/bookings", params, headers=auth).json["bookings"]


def _version(db, driver):
    return db.scalar(text("SELECT data_version FROM wechat_users WHERE id = :id"), {"id": driver.user_id})


@pytest.fixture
def statements(engine):
    seen = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_a_repeated_list_is_served_from_the_cache(testapp, db, driver, auth, statements):
    _book(testapp, auth, driver)
    first = testapp.get("/api/logistics/bookings", headers=auth)
    assert any("FROM bookings" in s for s in statements)
    statements.clear()
    second = testapp.get("/api/logistics/bookings", headers=auth)
    assert second.body == first.body and statements and not any("FROM bookings" in s for s in statements)
    assert second.content_type == "application/json" and second.json["bookings"][0]["product_name"] == "32%液碱"


def test_each_query_has_its_own_entry(testapp, db, driver, auth):
    ids = [_book(testapp, auth, driver)["id"] for _ in range(3)]
    assert [b["id"] for b in _listed(testapp, auth)] == ids[::-1]
    assert [b["id"] for b in _listed(testapp, auth, limit=1)] == ids[-1:]
    assert [b["id"] for b in _listed(testapp, auth, before=ids[-1])] == ids[-2::-1]
    assert _listed(testapp, auth, status="cancelled") == []


def test_service_changes_show_at_once(testapp, db, driver, auth):
    booking = _book(testapp, auth, driver)
    assert _listed(testapp, auth)[0]["status"] == "registered"
    testapp.post_json(f"/api/logistics/bookings/{booking['id']}/cancel", {}, headers=auth)
    assert _listed(testapp, auth)[0]["status"] == "cancelled"


@pytest.mark.parametrize("change, field, expected", [
    ("UPDATE bookings SET status = 'entered' WHERE driver_id = :driver", "status", "entered"),
    ("UPDATE stock_checks SET sync_state = 'failed' WHERE booking_id IN (SELECT id FROM bookings WHERE driver_id = :driver)",
     "check", {"state": "failed", "label": "同步失败", "error": None}),
    ("UPDATE vehicles SET plate_no = '闽A99999' WHERE driver_id = :driver", "vehicle", "闽A99999"),
    ("UPDATE products SET name = '液碱（32%）' WHERE code = 'NAOH32'", "product_name", "液碱（32%）"),
])
def test_changes_written_in_sql_move_the_version(testapp, db, driver, auth, change, field, expected):
    _book(testapp, auth, driver, kind="pickup")
    before = _listed(testapp, auth)[0]
    version = _version(db, driver)
    db.execute(text(change), {"driver": driver.id})
    db.expire_all()  # requests share this test's session; in production each has its own
    assert _version(db, driver) != version
    after = _listed(testapp, auth)[0]
    shown = after[field]["plate_no"] if field == "vehicle" else after[field]
    assert shown == expected and after != before


def test_changes_that_the_list_does_not_show_keep_the_version(db, driver):
    version = _version(db, driver)
    db.execute(text("UPDATE vehicles SET tank_capacity_kg = 25000 WHERE driver_id = :driver"), {"driver": driver.id})
    db.execute(text("UPDATE products SET threshold_kg = 1 WHERE code = 'NAOH32'"))
    assert _version(db, driver) == version


def test_versions_come_from_one_sequence_and_only_grow(db, driver):
    other = factories.driver(db, factories.wechat_user(db))
    assert _version(db, other) > _version(db, driver)
    logistics.create_booking(db, driver, {
        "kind": "delivery", "product_code": "NAOH32", "quantity_kg": 1000, "vehicle_id": driver.vehicles[0].id,
        "planned_arrival_at": (utcnow() + timedelta(hours=2)).isoformat(),
    }, logistics.Policy.from_settings({}))
    db.flush()
    assert _version(db, driver) > _version(db, other)
