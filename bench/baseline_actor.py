"""The bare baseline of the actor pipeline: one Dramatiq actor that makes one signed HTTP call
to the LE simulator per message — no database, no outbox.

Run like portal's workers, with the same processes and threads, on the same Redis (another
namespace): ``dramatiq baseline_actor:broker --path bench``. ``BENCH_REDIS_URL`` and
``BENCH_LE_URL`` / ``BENCH_LE_KEY`` / ``BENCH_LE_SECRET`` say where.
"""

import json
import os
import secrets
import time

import dramatiq
import requests
from dramatiq.brokers.redis import RedisBroker

from portal.integrations.contract import signature

NAMESPACE = "portal-bench-baseline"

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
        "X-Portal-Key": os.environ["BENCH_LE_KEY"],
        "X-Portal-Timestamp": timestamp,
        "X-Portal-Nonce": nonce,
        "X-Portal-Signature": signature(os.environ["BENCH_LE_SECRET"], "POST", "/v1/bookings", timestamp, nonce, body),
    }
    _http.post(os.environ["BENCH_LE_URL"] + "/v1/bookings", data=body, headers=headers, timeout=10).raise_for_status()
