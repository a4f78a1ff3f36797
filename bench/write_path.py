"""2. API write path: ``POST /api/logistics/bookings`` (validation, insert, stock check and
outbox rows, commit, fast-path send to Redis) against the bare app inserting one row. No
worker runs: the stock-check messages wait in our Redis namespace and are removed after."""

import json
from datetime import timedelta

import sqlalchemy as sa

from portal.models.meta import utcnow

import baseline_app
import dataset
from harness import Comparison, Processes, clear_redis, portal_env, warm_then_alternate, wrk

DATABASE = "portal_bench"
#: Drivers 2–10 have bearer tokens (dataset.seed); driver 1 is the read path's.
DRIVERS = range(2, 11)


def run(rss, duration):
    url = dataset.prepare(DATABASE)
    baseline_app.create_table(url)
    env = portal_env(url)
    arrival = (utcnow() + timedelta(days=1)).isoformat()
    posts = "\n".join(
        f"Bearer {dataset.token(driver)}\t" + json.dumps({
            "kind": "pickup", "product_code": "NAOH32", "quantity_kg": 1000, "vehicle_id": driver, "planned_arrival_at": arrival,
        })
        for driver in DRIVERS
    )
    ours_env = {"BENCH_POSTS": posts}
    base_env = {"BENCH_BODY": json.dumps({"name": "baseline", "quantity": 1000})}
    clear_redis()
    try:
        with Processes("write") as processes:
            ours, baseline = processes.web_pair(env, rss)
            page = ours.url + "/api/logistics/bookings"
            loads = warm_then_alternate({
                "baseline": lambda seconds: wrk(baseline.url + "/write", "post.lua", duration=seconds, env=base_env),
                "ours": lambda seconds: wrk(page, "post_many.lua", duration=seconds, env=ours_env),
            }, duration=duration)
        _check_outbox(url)
    finally:
        clear_redis()
    return Comparison(
        "write", "POST /api/logistics/bookings (pickup) vs INSERT of one row", "req/s", loads["ours"], loads["baseline"], target=0.4,
    )


def _check_outbox(url):
    """Every booking committed its stock check's message, and the fast path sent each one."""
    engine = sa.create_engine(url)
    with engine.connect() as db:
        bookings = db.execute(sa.text("SELECT count(*) FROM bookings WHERE status = 'checking'")).scalar_one()
        sent = db.execute(sa.text(
            "SELECT count(*) FROM outbox_messages WHERE actor_name = 'mes.check_stock' AND dispatched_at IS NOT NULL"
        )).scalar_one()
    engine.dispose()
    assert bookings and sent == bookings, (bookings, sent)
