"""The driver's booking list is cached per user data version; every change of what it shows,
whoever writes it, moves the version (migration 0005's triggers), so no answer is stale."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import event, text

from portal.caching import VersionedCache
from portal.cli import alembic_config
from portal.models.meta import utcnow
from portal.services.logistics import bookings as booking_service
from portal.services.logistics.policy import Policy

from ...support import factories


@pytest.fixture
def driver(db):
    return factories.driver(db, factories.wechat_user(db))


@pytest.fixture
def auth(db, driver):
    return {"Authorization": f"Bearer {factories.token_for(db, driver.user)}"}


def _book(testapp, auth, driver, hours=2, **overrides):
    payload = {
        "kind": "delivery", "product_code": "NAOH32", "quantity_kg": 20000, "vehicle_id": driver.vehicles[0].id,
        "planned_arrival_at": (utcnow() + timedelta(hours=hours)).isoformat(), **overrides,
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
    ids = [_book(testapp, auth, driver, hours=2 + 5 * n)["id"] for n in range(3)]  # one truck: a window each
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
    booking_service.create_booking(db, driver, {
        "kind": "delivery", "product_code": "NAOH32", "quantity_kg": 1000, "vehicle_id": driver.vehicles[0].id,
        "planned_arrival_at": (utcnow() + timedelta(hours=2)).isoformat(),
    }, Policy.from_settings({}))
    db.flush()
    assert _version(db, driver) > _version(db, other)


def test_the_embedded_default_keeps_versions_with_sqlite_triggers(tmp_path):
    url = f"sqlite:///{tmp_path / 'portal.sqlite'}"
    command.upgrade(alembic_config({"sqlalchemy.url": url}), "head")
    engine = sa.create_engine(url)
    version = "SELECT data_version FROM wechat_users WHERE id = 1"
    with engine.begin() as db:
        db.execute(text("""INSERT INTO wechat_users (id, display_name, status, is_staff, first_login_at, last_login_at, login_count)
                           VALUES (1, '司机', 'active', 0, '2026-11-26', '2026-11-26', 1), (2, '司机', 'active', 0, '2026-11-26', '2026-11-26', 1)"""))
        for user in (1, 2):
            db.execute(text("""INSERT INTO drivers (id, user_id, name, id_card_no, mobile, licence_no, qualification_no,
                                   qualification_expires_on, created_at, updated_at, sync_state)
                               VALUES (:u, :u, '司机', :id_card, '13800000000', 'L', 'Q', :until, '2026-11-26', '2026-11-26',
                                       'synced')"""),
                       {"u": user, "id_card": f"x{user}", "until": factories.in_days(365)})
        db.execute(text("INSERT INTO products (code, name, threshold_kg, active) VALUES ('NAOH32', '32%液碱', 0, 1)"))
        db.execute(text("""INSERT INTO vehicles (id, driver_id, plate_no, trailer_no, tank_capacity_kg, approved_products,
                               transport_permit_no, tank_inspection_expires_on, active, created_at, sync_state)
                           VALUES (1, 1, '闽A12345', '闽A1234挂', 30000, '["NAOH32"]', 'P', :until, 1, '2026-11-26', 'synced')"""),
                   {"until": factories.in_days(365)})
        before = db.scalar(text(version))
        db.execute(text("""INSERT INTO bookings (id, driver_id, vehicle_id, product_code, kind, quantity_kg, planned_arrival_at,
                               status, reserved_kg, le_state, created_at, sync_state)
                           VALUES (1, 1, 1, 'NAOH32', 'pickup', 1000, '2026-11-27', 'checking', 0, 'none', '2026-11-26', 'pending')"""))
        steps = [db.scalar(text(version))]
        for change in (
            "INSERT INTO stock_checks (booking_id, created_at, sync_state) VALUES (1, '2026-11-26', 'pending')",
            "UPDATE stock_checks SET sync_state = 'synced'",
            "UPDATE bookings SET status = 'registered'",
            "UPDATE vehicles SET plate_no = '闽A54321'",
            "UPDATE products SET name = '液碱'",
        ):
            db.execute(text(change))
            steps.append(db.scalar(text(version)))
        db.execute(text("UPDATE vehicles SET tank_capacity_kg = 1"))
        assert db.scalar(text(version)) == steps[-1]
        assert db.scalar(text("SELECT data_version FROM wechat_users WHERE id = 2")) == 0  # not theirs
    assert before < steps[0] < steps[1] < steps[2] < steps[3] < steps[4] < steps[5]
    engine.dispose()


def test_a_cache_of_size_zero_builds_every_answer():
    built = []
    cache = VersionedCache(0)
    for _ in range(2):
        assert cache.get_or_build("key", lambda: built.append(1) or b"answer") == b"answer"
    assert len(built) == 2
