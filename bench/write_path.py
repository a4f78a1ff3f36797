"""2. API write path: ``POST /api/logistics/bookings`` (validation, the truck's lock and duplicate
check, insert, stock check and outbox rows, commit, fast-path send to Redis) against two bare
baselines: the app inserting one row (how it started), and the app writing the same four rows
with SQLAlchemy Core in one transaction after finding the token's driver (``POST /book``, the same
work without our layers). No worker runs: the stock-check messages wait in our Redis namespace
and are removed after.

A truck may hold one booking per product and time window, so each request plans its arrival a
window later than the truck's previous one (bench/wrk/post_many.lua), bookings may be planned
ten years ahead (the seeded certificates are valid as long), and our bookings of one slice are
cancelled before the next so that each slice can start again from the first time.
"""

import json
import time
from datetime import timedelta

import sqlalchemy as sa

import baseline_app
import dataset
from harness import Baseline, Comparison, Processes, clear_redis, portal_env, warm_then_alternate, wrk

DATABASE = "portal_bench"
#: Drivers 2–10 have bearer tokens (dataset.seed) and book through our API; driver 1 is the
#: read path's; drivers 11–19 book through the bare /book.
DRIVERS = range(2, 11)
#: A truck's consecutive arrivals: longer than the products' reservation window (240 minutes).
ARRIVAL_STEP = timedelta(hours=5)
BASELINE_DRIVERS = range(11, 20)


def _posts(drivers):
    """What post_many.lua sends in turns: one line per driver, its token and a pickup of its vehicle."""
    return "\n".join(
        f"Bearer {dataset.token(driver)}\t" + json.dumps({
            "kind": "pickup", "product_code": "NAOH32", "quantity_kg": 1000, "vehicle_id": driver, "planned_arrival_at": "@ARRIVAL@",
        })
        for driver in drivers
    )


def run(rss, duration):
    url = dataset.prepare(DATABASE)
    baseline_app.create_table(url)
    env = portal_env(url, logistics_max_days_ahead="3650")
    arrivals = {"BENCH_ARRIVAL_FROM": str(int(time.time() + 3600)), "BENCH_ARRIVAL_STEP": str(int(ARRIVAL_STEP.total_seconds()))}
    ours_env = {"BENCH_POSTS": _posts(DRIVERS), **arrivals}
    book_env = {"BENCH_POSTS": _posts(BASELINE_DRIVERS), **arrivals}
    row_env = {"BENCH_BODY": json.dumps({"name": "baseline", "quantity": 1000})}

    def ours_slice(seconds):
        _cancel_pending_bookings(url)
        return wrk(ours.url + "/api/logistics/bookings", "post_many.lua", duration=seconds, env=ours_env)

    clear_redis()
    try:
        with Processes("write") as processes:
            ours, baseline = processes.web_pair(env, rss)
            loads = warm_then_alternate({
                # Ours first: its last dispatch notes are written while the baselines run.
                "ours": ours_slice,
                "one row": lambda seconds: wrk(baseline.url + "/write", "post.lua", duration=seconds, env=row_env),
                "four rows": lambda seconds: wrk(baseline.url + "/book", "post_many.lua", duration=seconds, env=book_env),
            }, duration=duration)
        _check_rows(url)
    finally:
        clear_redis()
    return Comparison(
        "write", "POST /api/logistics/bookings (pickup)", "req/s", loads["ours"], [
            Baseline("bare app: INSERT of one row", loads["one row"]),
            Baseline("bare app: the same four rows (Core, one transaction) after a token query", loads["four rows"], target=0.4),
        ],
    )


def _cancel_pending_bookings(url):
    """Our previous slice's bookings no longer hold their trucks' time windows."""
    engine = sa.create_engine(url)
    with engine.begin() as db:
        db.execute(
            sa.text("UPDATE bookings SET status = 'cancelled' WHERE status = 'checking' AND driver_id BETWEEN :first AND :last"),
            {"first": DRIVERS[0], "last": DRIVERS[-1]},
        )
    engine.dispose()


def _check_rows(url):
    """Both sides wrote what they claim: every booking has its event, its stock check and its
    message; ours sent each message (the fast path), the baseline's wait unsent."""
    engine = sa.create_engine(url)
    with engine.connect() as db:
        for drivers, actor, sent in ((DRIVERS, "mes.check_stock", True), (BASELINE_DRIVERS, baseline_app.BOOK_ACTOR, False)):
            counts = db.execute(sa.text("""
                SELECT count(DISTINCT b.id), count(DISTINCT e.booking_id), count(DISTINCT c.id), count(DISTINCT o.id)
                FROM bookings b
                LEFT JOIN booking_events e ON e.booking_id = b.id AND e.kind = 'created'
                LEFT JOIN stock_checks c ON c.booking_id = b.id
                LEFT JOIN outbox_messages o ON o.args ->> 0 = c.id::text AND o.actor_name = :actor
                                           AND (o.dispatched_at IS NOT NULL) = :sent
                WHERE b.status = 'checking' AND b.driver_id BETWEEN :first AND :last
            """), {"actor": actor, "sent": sent, "first": drivers[0], "last": drivers[-1]}).one()
            assert counts[0] and len(set(counts)) == 1, (actor, counts)
    engine.dispose()
