"""2. API write path: ``POST /api/logistics/bookings`` (validation, the truck's lock and duplicate
check, insert, stock check and outbox rows, commit, fast-path send to Redis) against the bare app
inserting one row. No worker runs: the stock-check messages wait in our Redis namespace and are
removed after.

A truck may hold one booking per product and time window, so each request plans its arrival a
window later than the truck's previous one (bench/wrk/post_many.lua), bookings may be planned
ten years ahead (the seeded certificates are valid as long), and the bookings of one slice are
cancelled before the next so that each slice can start again from the first time.
"""

import json
import time
from datetime import timedelta

import sqlalchemy as sa

import baseline_app
import dataset
from harness import Comparison, Processes, clear_redis, portal_env, warm_then_alternate, wrk

DATABASE = "portal_bench"
#: Drivers 2–10 have bearer tokens (dataset.seed); driver 1 is the read path's.
DRIVERS = range(2, 11)
#: A truck's consecutive arrivals: longer than the products' reservation window (240 minutes).
ARRIVAL_STEP = timedelta(hours=5)


def run(rss, duration):
    url = dataset.prepare(DATABASE)
    baseline_app.create_table(url)
    env = portal_env(url, logistics_max_days_ahead="3650")
    posts = "\n".join(
        f"Bearer {dataset.token(driver)}\t" + json.dumps({
            "kind": "pickup", "product_code": "NAOH32", "quantity_kg": 1000, "vehicle_id": driver,
            "planned_arrival_at": "@ARRIVAL@",
        })
        for driver in DRIVERS
    )
    ours_env = {
        "BENCH_POSTS": posts, "BENCH_ARRIVAL_FROM": str(int(time.time() + 3600)),
        "BENCH_ARRIVAL_STEP": str(int(ARRIVAL_STEP.total_seconds())),
    }
    base_env = {"BENCH_BODY": json.dumps({"name": "baseline", "quantity": 1000})}

    def ours_slice(page, seconds):
        _cancel_pending_bookings(url)
        return wrk(page, "post_many.lua", duration=seconds, env=ours_env)

    clear_redis()
    try:
        with Processes("write") as processes:
            ours, baseline = processes.web_pair(env, rss)
            page = ours.url + "/api/logistics/bookings"
            loads = warm_then_alternate({
                "baseline": lambda seconds: wrk(baseline.url + "/write", "post.lua", duration=seconds, env=base_env),
                "ours": lambda seconds: ours_slice(page, seconds),
            }, duration=duration)
        _check_outbox(url)
    finally:
        clear_redis()
    return Comparison(
        "write", "POST /api/logistics/bookings (pickup) vs INSERT of one row", "req/s", loads["ours"], loads["baseline"], target=0.4,
    )


def _cancel_pending_bookings(url):
    """The previous slice's bookings no longer hold their trucks' time windows."""
    engine = sa.create_engine(url)
    with engine.begin() as db:
        db.execute(sa.text("UPDATE bookings SET status = 'cancelled' WHERE status = 'checking'"))
    engine.dispose()


def _check_outbox(url):
    """Every booking committed its stock check's message, and the fast path sent each one."""
    engine = sa.create_engine(url)
    with engine.connect() as db:
        # The benchmark's bookings: their stock checks were never answered.
        bookings = db.execute(sa.text("SELECT count(*) FROM stock_checks WHERE stock_kg IS NULL")).scalar_one()
        sent = db.execute(sa.text(
            "SELECT count(*) FROM outbox_messages WHERE actor_name = 'mes.check_stock' AND dispatched_at IS NOT NULL"
        )).scalar_one()
    engine.dispose()
    assert bookings and sent == bookings, (bookings, sent)
