"""3. Actor pipeline: committed pickup bookings → MES stock check → LE registration, with real
``dramatiq portal.worker`` processes and the simulators on 127.0.0.1, against the bare actor
(bench/baseline_actor.py) making one call to the same LE simulator per message.

Bookings are committed by this process through the service the API uses, in transactions of
``BATCH``; the baseline's messages are sent one after another. Each side runs ``ROUNDS`` times,
in turns, with freshly started workers. Latency runs from a booking's ``created_at`` (its
commit) or a message's send to the LE simulator's ledger entry of the registration;
throughput is bookings over the time from the first commit to the last effect.
"""

import json
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from urllib.request import Request, urlopen

import psutil
from pyramid.paster import get_appsettings
from sqlalchemy import select

from portal import make_config
from portal.db import Transaction
from portal.models.logistics import Booking, Driver
from portal.services.logistics import bookings as booking_service
from portal.services.logistics.policy import Policy

import baseline_actor
import dataset
from harness import (
    BENCH, LOGS, PRODUCTION_INI, ROOT, Comparison, Load, Processes, clear_redis, combine, portal_env, wait_for,
)

DATABASE = "portal_bench"
BATCH = 25
WARM_UP = 20
ROUNDS = 2
#: Bookings come from these drivers in turn (their vehicles carry every product): many drivers
#: at once, as at the plant, none with more than one booking in flight.
DRIVERS = range(11, 1001)


def _call(url, method="GET", body=None):
    data = None if body is None else json.dumps(body).encode()
    request = Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _registrations(le_url):
    """booking id → when LE applied its registration (epoch seconds)."""
    entries = _call(le_url + "/_sim/ledger")["entries"]
    return {e["body"]["booking_id"]: e["at"] for e in entries if e["path"] == "/v1/bookings" and e["applied"]}


def _wait_registered(le_url, ids, timeout):
    wanted = set(ids)

    def all_registered():
        done = _registrations(le_url)
        return done if wanted <= done.keys() else None

    return wait_for(all_registered, timeout, f"LE registrations of {len(wanted)} bookings", interval=1.0)


def _figures(starts, effects):
    """Throughput and latency percentiles from start and effect times (epoch seconds) by id."""
    latencies = sorted((effects[i] - starts[i]) * 1000 for i in starts)
    span = max(effects[i] for i in starts) - min(starts.values())
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return Load(rps=len(starts) / span, p50=cuts[49], p90=cuts[89], p99=cuts[98], requests=len(starts))


class Portal:
    """Our side: the service layer on the benchmark database, its messages on our Redis."""

    def __init__(self, env):
        # The app's own configuration, committed: its actors bound to the broker, its policy.
        config = make_config(dict(get_appsettings(str(PRODUCTION_INI))), environ=env)
        config.commit()
        self.session_factory = config.registry["db.session_factory"]
        self.policy = config.registry.catalogue.policy(Policy)

    def book(self, count):
        """Commit ``count`` pickups in batches; booking id → commit time (epoch seconds)."""
        arrival = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
        ids = []
        for start in range(0, count, BATCH):
            with Transaction(self.session_factory) as db:
                for n in range(start, min(count, start + BATCH)):
                    driver_id = DRIVERS[n % len(DRIVERS)]
                    booking = booking_service.create_booking(db, db.get(Driver, driver_id), {
                        "kind": "pickup", "product_code": dataset.PRODUCTS[n % 3][0], "quantity_kg": 1000,
                        "vehicle_id": driver_id, "planned_arrival_at": arrival,
                    }, self.policy)
                    ids.append(booking.id)
        with Transaction(self.session_factory) as db:
            rows = db.execute(select(Booking.id, Booking.created_at).where(Booking.id.in_(ids))).all()
        return {booking_id: created.timestamp() for booking_id, created in rows}


def _baseline_send(ids):
    """Send one message per id; id → send time (epoch seconds)."""
    sent = {}
    for booking_id in ids:
        baseline_actor.register.send(booking_id)
        sent[booking_id] = time.time()
    return sent


def _cpu_seconds(pid):
    root = psutil.Process(pid)
    return sum(sum(p.cpu_times()[:2]) for p in [root, *root.children(recursive=True)])


def _round(processes, rss, label, broker, env, path, send, count, le_url):
    """Workers started afresh, warmed up, then ``count`` bookings measured; the workers' CPU
    time per booking as well."""
    workers = processes.dramatiq(label, broker, env, path=path)
    rss.watch(label, workers.pid)
    try:
        _wait_registered(le_url, send(WARM_UP), 60)
        cpu = _cpu_seconds(workers.pid)
        started = send(count)
        figures = _figures(started, _wait_registered(le_url, started, 60 + count / 5))
        return figures, (_cpu_seconds(workers.pid) - cpu) * 1000 / count
    finally:
        processes.stop(workers)


def run(rss, bookings, rounds=ROUNDS):
    url = dataset.prepare(DATABASE)
    clear_redis()
    addresses = LOGS / "pipeline-simulators.json"
    addresses.unlink(missing_ok=True)
    try:
        with Processes("pipeline") as processes:
            simulators = processes.start(
                "simulators", [sys.executable, BENCH / "simulators.py", addresses], {**os.environ, "PYTHONPATH": str(BENCH)},
            )
            wait_for(lambda: addresses.exists() or simulators.poll() is not None, 30, "the simulators")
            sims = json.loads(addresses.read_text())
            for code, _ in dataset.PRODUCTS:
                _call(sims["mes"] + "/_sim/stock", "PUT", {"product_code": code, "quantity_kg": 10**9})
            env = portal_env(url, le_url=sims["le"], mes_url=sims["mes"])
            baseline_env = {
                **env, "BENCH_LE_URL": sims["le"], "BENCH_LE_KEY": env["PORTAL_LE_APP_KEY"],
                "BENCH_LE_SECRET": env["PORTAL_LE_APP_SECRET"], "BENCH_REDIS_URL": env["REDIS_URL"],
            }
            portal = Portal(env)
            # Baseline ids far from our bookings' in the same ledger.
            next_id = iter(range(10_000_000, 20_000_000))
            ours, base = [], []
            for _ in range(rounds):
                ours.append(_round(processes, rss, "worker", "portal.worker", env, ROOT, portal.book, bookings, sims["le"]))
                base.append(_round(
                    processes, rss, "baseline worker", "baseline_actor:broker", baseline_env, BENCH,
                    lambda count: _baseline_send([next(next_id) for _ in range(count)]), bookings, sims["le"],
                ))
    finally:
        clear_redis()
    return Comparison(
        "pipeline", f"{bookings} pickups: MES check + LE registration vs one LE call per message", "bookings/s",
        combine([f for f, _ in ours]), combine([f for f, _ in base]), target=0.5,
        note=f"worker CPU per booking: ours {statistics.fmean(c for _, c in ours):.1f} ms, "
             f"baseline {statistics.fmean(c for _, c in base):.1f} ms",
    )
