"""The schema exists only through Alembic: the migrations match the models, both ways, and
convert the rows they find."""

from contextlib import contextmanager
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from portal.cli import alembic_config
from portal.models import Base
from portal.models.logistics import (
    Booking,
    BookingEvent,
    BookingKind,
    BookingStatus,
    Driver,
    Lane,
    LeEvent,
    OutboundOrder,
    Vehicle,
)
from portal.models.meta import utcnow
from portal.services.logistics import visits

from ..conftest import DATABASE_URL
from ..support import factories


def _diff(engine):
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)


def test_the_migrated_test_database_matches_the_models(engine):
    assert _diff(engine) == []


@contextmanager
def _scratch_postgresql(suffix):
    """The URL of an empty PostgreSQL database of its own, dropped after."""
    url = make_url(DATABASE_URL)
    scratch = url.set(database=f"{url.database}_{suffix}")
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{scratch.database}"'))
    try:
        yield scratch.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        admin.dispose()


def test_migrations_upgrade_downgrade_and_upgrade_again_on_postgresql():
    with _scratch_postgresql("migrations") as url:
        config = alembic_config({"sqlalchemy.url": url})
        command.upgrade(config, "head")
        command.downgrade(config, "base")
        command.upgrade(config, "head")
        engine = sa.create_engine(url)
        assert _diff(engine) == []
        engine.dispose()


def test_migrations_run_on_sqlite_for_the_embedded_default(tmp_path):
    url = f"sqlite:///{tmp_path / 'portal.sqlite'}"
    config = alembic_config({"sqlalchemy.url": url})
    command.upgrade(config, "head")
    engine = sa.create_engine(url)
    assert _diff(engine) == []
    command.downgrade(config, "base")
    assert sa.inspect(engine).get_table_names() == ["alembic_version"]


# -- 0006: a visit as facts --------------------------------------------------------------------


def _visits_as_0005_left_them(db):
    """Bookings, orders, timeline lines, lanes and events as portal recorded them before 0006."""
    # Built from the models directly: the services would defer messages to the suite's broker.
    product = factories.product(db)
    payload = factories.driver_payload(qualification_expires_on=date(2030, 6, 30))
    driver = Driver(user=factories.wechat_user(db), **payload)
    vehicle = Vehicle(driver=driver, **{**factories.vehicle_payload(), "tank_inspection_expires_on": date(2030, 5, 1)})
    db.add_all([driver, vehicle])
    now = utcnow()

    def booking(status, **stamps):
        record = Booking(driver=driver, vehicle=vehicle, product=product, kind=BookingKind.delivery,
                         quantity_kg=12000, planned_arrival_at=now, status=status, reserved_kg=0, **stamps)
        db.add(record)
        return record

    done = booking(BookingStatus.completed, entered_at=now - timedelta(hours=3), loaded_at=now - timedelta(hours=2),
                   exited_at=now - timedelta(hours=1), lane_code="L1", actual_quantity_kg=12000)
    loading = booking(BookingStatus.loading, entered_at=now - timedelta(minutes=30), lane_code="L2")
    waiting = booking(BookingStatus.registered, called_at=now - timedelta(minutes=5), lane_code="L1", queue_position=1)
    db.flush()
    db.add_all([
        # A late weighing made the booking and its order disagree (issue 9, defect 4).
        OutboundOrder(order_no="SO-DONE", booking_id=done.id, driver_id=driver.id, product_code="NAOH32",
                      planned_quantity_kg=12000, actual_quantity_kg=9999, status="shipped", created_at=now - timedelta(hours=2)),
        # Listed as shipped without a quantity (issue 9, defect 7).
        OutboundOrder(order_no="SO-NONE", driver_id=driver.id, product_code="NAOH32", planned_quantity_kg=1, status="shipped",
                      created_at=now),
        BookingEvent(booking_id=done.id, kind="truck.entered", message="车辆已入厂", at=now),
        Lane(code="L1", name="1号装车道", status="loading", loading_count=1, waiting_count=1, updated_at=now),
        LeEvent(event_id="evt-old", type="truck.exited", occurred_at=now, received_at=now, data={"booking_id": done.id},
                result="applied"),
    ])
    db.flush()
    return now, done.id, loading.id, waiting.id


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_facts_migration_converts_the_visits_it_finds(database, tmp_path):
    with _scratch_postgresql("facts") if database == "postgresql" else _nothing(f"sqlite:///{tmp_path / 'p.sqlite'}") as url:
        config = alembic_config({"sqlalchemy.url": url})
        command.upgrade(config, "head")
        engine = sa.create_engine(url)
        with Session(engine) as db:
            now, done, loading, waiting = _visits_as_0005_left_them(db)
            db.commit()
        command.downgrade(config, "0005")
        command.upgrade(config, "head")

        with Session(engine) as db:
            stored = {b.id: _visit(b) for b in db.scalars(sa.select(Booking))}
            for booking in db.scalars(sa.select(Booking)):
                if visits.in_visit(booking):
                    visits.project(db, booking)
            db.flush()
            assert {b.id: _visit(b) for b in db.scalars(sa.select(Booking))} == stored  # the facts say what the rows said
            assert sorted(db.get(Booking, done).facts) == ["entered", "exited", "lane", "loaded", "order", "quantity"]
            assert sorted(db.get(Booking, loading).facts) == ["entered", "lane", "loading"]
            orders = {o.order_no: (o.status, o.actual_quantity_kg) for o in db.scalars(sa.select(OutboundOrder))}
            assert orders == {"SO-DONE": ("shipped", 12000), "SO-NONE": ("created", None)}
            line = db.scalars(sa.select(BookingEvent).where(BookingEvent.kind == "truck.entered")).one()
            assert (line.at, line.received_at) == (now - timedelta(hours=3), now)  # when it happened; when we heard
            assert db.get(LeEvent, "evt-old").booking_id == done
            assert db.get(Lane, "L1").queue == [{"booking_id": waiting, "position": 1, "called": True}]
            db.rollback()
        engine.dispose()


@contextmanager
def _nothing(url):
    yield url


def _visit(booking):
    return (booking.status, booking.entered_at, booking.called_at, booking.loaded_at, booking.exited_at, booking.lane_code,
            booking.queue_position, booking.actual_quantity_kg)
