"""The bare baselines of the actor pipeline, Dramatiq actors with no outbox and no ORM.

* ``register``: one signed HTTP call to the LE simulator per message, no database (how the
  benchmark started).
* ``check_stock`` → ``register_checked``: the same work as portal's pipeline, done bare. Per
  booking two messages and two signed calls through portal's own contract clients (the MES
  stock question, the LE registration with the same body), each followed by one UPDATE of the
  booking's row in portal's ``bookings`` table with SQLAlchemy Core; the first sends the second
  straight to the broker.

Run like portal's workers, with the same processes and threads, on the same Redis (another
namespace): ``dramatiq baseline_actor:broker --path bench``. ``BENCH_REDIS_URL``,
``DATABASE_URL`` and the ``PORTAL_LE_*`` / ``PORTAL_MES_*`` address and credentials (as for
portal) say where.
"""

import gc
import json
import os
import secrets
import time
from datetime import timedelta
from functools import cache

import dramatiq
import requests
import sqlalchemy as sa
from dramatiq.brokers.redis import RedisBroker

from portal.integrations.contract import signature
from portal.integrations.le import LeClient
from portal.integrations.mes import MesClient

NAMESPACE = "portal-bench-baseline"
#: The reservation window portal applies by default (portal.logistics_reservation_minutes).
WINDOW = timedelta(minutes=240)

broker = RedisBroker(url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"), namespace=NAMESPACE)
_http = requests.Session()


@dramatiq.actor(broker=broker, max_retries=0, time_limit=60_000)
def register(booking_id):
    """Register booking ``booking_id`` with LE: the same call portal's ``le.sync_booking`` makes."""
    body = json.dumps({
        "booking_id": booking_id, "kind": "pickup", "product_code": "NAOH32", "quantity_kg": 1000, "plate_no": "闽A00001",
    }, ensure_ascii=False).encode()
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": f"baseline-{booking_id}",
        "X-Portal-Key": os.environ["PORTAL_LE_APP_KEY"],
        "X-Portal-Timestamp": timestamp,
        "X-Portal-Nonce": nonce,
        "X-Portal-Signature": signature(os.environ["PORTAL_LE_APP_SECRET"], "POST", "/v1/bookings", timestamp, nonce, body),
    }
    _http.post(os.environ["PORTAL_LE_URL"] + "/v1/bookings", data=body, headers=headers, timeout=10).raise_for_status()


# -- the same work as portal's pipeline ----------------------------------------------------------


@cache
def _engine():
    return sa.create_engine(os.environ["DATABASE_URL"])


@cache
def _client(system):
    """One contract client per system, shared by the threads as portal's runtime shares them."""
    kind = {"le": LeClient, "mes": MesClient}[system]
    prefix = f"PORTAL_{system.upper()}_"
    return kind(system, os.environ[prefix + "URL"], os.environ[prefix + "APP_KEY"], os.environ[prefix + "APP_SECRET"])


#: Accept (or reject) the pickup on the MES figure and open its window, in one statement that
#: also returns what LE must be told.
_DECIDE = sa.text("""
    UPDATE bookings b
    SET status = CASE WHEN :stock_kg >= b.quantity_kg THEN 'registered' ELSE 'rejected' END,
        reserved_kg = CASE WHEN :stock_kg >= b.quantity_kg THEN b.quantity_kg ELSE 0 END,
        expires_at = greatest(b.planned_arrival_at, now()) + :window,
        sync_state = 'pending'
    FROM vehicles v
    WHERE b.id = :booking_id AND v.id = b.vehicle_id AND b.status = 'checking'
    RETURNING b.status, b.kind, b.product_code, b.quantity_kg, b.driver_id, b.vehicle_id, v.plate_no, v.trailer_no,
              b.planned_arrival_at, b.expires_at
""")
_REGISTERED = sa.text("""
    UPDATE bookings SET le_state = 'registered', external_ref = :card_no, sync_state = 'synced', synced_at = now()
    WHERE id = :booking_id
""")


@dramatiq.actor(broker=broker, max_retries=0, time_limit=60_000)
def check_stock(booking_id, product_code):
    """Ask the MES for the product's stock, decide, and pass an accepted booking on to LE."""
    stock_kg = _client("mes").stock_kg(product_code)
    with _engine().begin() as db:
        row = db.execute(_DECIDE, {"booking_id": booking_id, "stock_kg": stock_kg, "window": WINDOW}).one()
    if row.status == "registered":
        register_checked.send(booking_id, {
            "booking_id": booking_id, "kind": row.kind, "product_code": row.product_code, "quantity_kg": row.quantity_kg,
            "driver_id": row.driver_id, "vehicle_id": row.vehicle_id, "plate_no": row.plate_no, "trailer_no": row.trailer_no,
            "planned_arrival_at": row.planned_arrival_at.isoformat(), "expires_at": row.expires_at.isoformat(),
        })


@dramatiq.actor(broker=broker, max_retries=0, time_limit=60_000)
def register_checked(booking_id, payload):
    """Register the booking with LE (the body portal's LE client sends) and note its card."""
    card_no = _client("le").write("/v1/bookings", payload, idempotency_key=f"baseline-booking-{booking_id}-register")["card_no"]
    with _engine().begin() as db:
        db.execute(_REGISTERED, {"booking_id": booking_id, "card_no": card_no})


gc.freeze()  # as portal's worker does: the same collector settings on both sides
