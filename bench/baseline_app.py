"""The bare baselines of the HTTP benchmarks: Pyramid and SQLAlchemy, nothing else.

Served exactly like portal (``gunicorn --paste bench/baseline.ini`` with the same worker
settings) against the same database (``DATABASE_URL``):

* ``GET /read`` reads one row by primary key and answers it as JSON;
* ``POST /write`` inserts one row from a JSON body and commits;
* ``POST /book`` does the rows of a pickup booking by hand: it finds the driver of the bearer
  token (one query), then writes into portal's own tables, with SQLAlchemy Core in one
  transaction, the four rows our ``POST /api/logistics/bookings`` writes — the booking, its
  timeline event, its stock check and the outbox row of the check's message — and answers the
  booking's id. No validation beyond what the types need, no business checks, no ORM, no
  message sent to Redis: the floor under the same rows.
"""

import gc
import hashlib
import os
from datetime import datetime, timezone

import sqlalchemy as sa
from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPUnauthorized
from sqlalchemy import DateTime, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

#: The outbox rows of /book name an actor nobody runs, so they stay apart from portal's.
BOOK_ACTOR = "baseline.check_stock"


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "bench_baseline_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def create_table(url):
    """The baseline's table with its one row to read (id 1)."""
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    with sessionmaker(engine).begin() as db:
        db.add(Row(name="baseline", quantity=1, created_at=datetime.now(timezone.utc)))
    engine.dispose()


def _json(row):
    return {"id": row.id, "name": row.name, "quantity": row.quantity, "created_at": row.created_at.isoformat()}


def read(request):
    with request.registry["sessions"]() as db:
        return _json(db.get(Row, 1))


def write(request):
    body = request.json_body
    with request.registry["sessions"].begin() as db:
        row = Row(name=body["name"], quantity=body["quantity"], created_at=datetime.now(timezone.utc))
        db.add(row)
        db.flush()
        answer = _json(row)
    request.response.status = 201
    return answer


class Booking:
    """Portal's tables as SQLAlchemy Core sees them (reflected), and the statements of /book."""

    def __init__(self, engine):
        tables = sa.MetaData()
        tables.reflect(engine, only=["api_tokens", "wechat_users", "drivers", "bookings", "booking_events", "stock_checks",
                                     "outbox_messages"])
        t = tables.tables
        self.engine = engine
        self.driver = (
            sa.select(t["drivers"].c.id)
            .select_from(t["api_tokens"].join(t["wechat_users"]).join(t["drivers"]))
            .where(
                t["api_tokens"].c.token_hash == sa.bindparam("token_hash"), t["api_tokens"].c.revoked_at.is_(None),
                t["api_tokens"].c.expires_at > sa.func.now(), t["wechat_users"].c.status == "active",
            )
        )
        self.booking = sa.insert(t["bookings"]).returning(t["bookings"].c.id)
        self.event = sa.insert(t["booking_events"])
        self.check = sa.insert(t["stock_checks"]).returning(t["stock_checks"].c.id)
        self.message = sa.insert(t["outbox_messages"])

    def __call__(self, request):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        with self.engine.connect() as db:
            driver_id = db.scalar(self.driver, {"token_hash": hashlib.sha256(token.encode()).hexdigest()})
        if scheme.lower() != "bearer" or driver_id is None:
            raise HTTPUnauthorized()
        body = request.json_body
        now = datetime.now(timezone.utc)
        with self.engine.begin() as db:
            booking_id = db.scalar(self.booking, {
                "driver_id": driver_id, "vehicle_id": int(body["vehicle_id"]), "product_code": body["product_code"],
                "kind": body["kind"], "quantity_kg": int(body["quantity_kg"]),
                "planned_arrival_at": datetime.fromisoformat(body["planned_arrival_at"]), "status": "checking",
                "reserved_kg": 0, "le_state": "none", "created_at": now, "sync_state": "pending",
            })
            db.execute(self.event, {
                "booking_id": booking_id, "at": now, "kind": "created",
                "message": f"提交提货登记：{body['product_code']} {body['quantity_kg']} 千克",
            })
            check_id = db.scalar(self.check, {"booking_id": booking_id, "created_at": now, "sync_state": "pending"})
            db.execute(self.message, {
                "actor_name": BOOK_ACTOR, "queue_name": "default", "args": [check_id], "created_at": now,
                "dispatch_count": 0, "attempts": 0,
            })
        request.response.status = 201
        return {"booking": {"id": booking_id, "status": "checking", "stock_check_id": check_id}}


def main(global_config, **settings):
    config = Configurator(settings=settings)
    engine = create_engine(os.environ["DATABASE_URL"])
    config.registry["sessions"] = sessionmaker(engine, expire_on_commit=False)
    config.add_route("read", "/read", request_method="GET")
    config.add_route("write", "/write", request_method="POST")
    config.add_route("book", "/book", request_method="POST")
    config.add_view(read, route_name="read", renderer="json")
    config.add_view(write, route_name="write", renderer="json")
    config.add_view(Booking(engine), route_name="book", renderer="json")
    app = config.make_wsgi_app()
    gc.freeze()  # as portal does (portal.main): the same collector settings on both sides
    return app
