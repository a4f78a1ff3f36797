"""3. Actor pipeline: committed pickup bookings → MES stock check → LE registration, with real
``dramatiq portal.worker`` processes and the simulators on 127.0.0.1, against two bare
baselines (bench/baseline_actor.py): one LE call per message (how it started), and the same
work done bare — two messages and two signed calls per booking, one row update after each.

Our bookings are committed by this process through the service the API uses, in transactions
of ``BATCH``, their messages held back, then sent one after another as the fast path sends
them; the same-work baseline's bookings are inserted with one statement (status ``checking``,
as ours wait), then each gets its message; the one-call baseline's messages are sent one
after another. So on every side the clock starts with the first message sent and nothing of
the booking's own writing runs meanwhile. Each side runs ``ROUNDS`` times, in turns, with
freshly started workers. Latency runs from a message's send to the LE simulator's ledger entry
of the registration; throughput is bookings over the time from the first send to the last
effect.
"""

import json
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from urllib.request import Request, urlopen

import psutil
import sqlalchemy as sa
from pyramid.paster import get_appsettings
from sqlalchemy import select

from portal import make_config, messaging, outbox
from portal.db import Transaction
from portal.models.logistics import Driver, StockCheck
from portal.models.outbox import OutboxMessage
from portal.services.logistics import bookings as booking_service
from portal.services.logistics.policy import Policy

import baseline_actor
import dataset
from harness import (
    BENCH, LOGS, PRODUCTION_INI, ROOT, Baseline, Comparison, Load, Processes, clear_redis, combine, portal_env, wait_for,
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
        self.runtime = messaging.runtime()

    def book(self, count):
        """Commit ``count`` pickups in batches with their messages held back, then send each as
        the fast path does; booking id → send time (epoch seconds).

        Held back (as when the broker is away) so that this process's work of booking — the
        write path's, not the pipeline's — is done before the clock starts, as the baselines'
        bookings are.
        """
        arrival = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
        ids = []
        self.runtime.fast_path = False
        try:
            for start in range(0, count, BATCH):
                with Transaction(self.session_factory) as db:
                    for n in range(start, min(count, start + BATCH)):
                        driver_id = DRIVERS[n % len(DRIVERS)]
                        booking = booking_service.create_booking(db, db.get(Driver, driver_id), {
                            "kind": "pickup", "product_code": dataset.PRODUCTS[n % 3][0], "quantity_kg": 1000,
                            "vehicle_id": driver_id, "planned_arrival_at": arrival,
                        }, self.policy)
                        ids.append(booking.id)
        finally:
            self.runtime.fast_path = True
        with Transaction(self.session_factory) as db:
            booking_of = dict(db.execute(select(StockCheck.id, StockCheck.booking_id).where(StockCheck.booking_id.in_(ids))).all())
            messages = db.execute(
                select(OutboxMessage.id, OutboxMessage.actor_name, OutboxMessage.args, OutboxMessage.eta)
                .where(OutboxMessage.actor_name == "mes.check_stock", OutboxMessage.dispatched_at.is_(None))
                .order_by(OutboxMessage.id)
            ).all()
        sent = {}
        for message in messages:
            if message.args[0] in booking_of:
                outbox.dispatch_fast_path([(message.id, message.actor_name, list(message.args), message.eta)])
                sent[booking_of[message.args[0]]] = time.time()
        assert sent.keys() == set(ids), (len(sent), len(ids))
        return sent


def _baseline_send(ids):
    """Send one message per id; id → send time (epoch seconds)."""
    sent = {}
    for booking_id in ids:
        baseline_actor.register.send(booking_id)
        sent[booking_id] = time.time()
    return sent


class Bare:
    """The same-work baseline's side: bookings as rows in our table, one message each."""

    def __init__(self, url):
        self.engine = sa.create_engine(url)
        self.turn = 0
        self.ids = []

    def book(self, count):
        """Insert ``count`` pickups waiting for their check, then send each its message; booking
        id → send time (epoch seconds)."""
        with self.engine.begin() as db:
            rows = db.execute(sa.text("""
                INSERT INTO bookings (driver_id, vehicle_id, product_code, kind, quantity_kg, planned_arrival_at, status,
                                      reserved_kg, le_state, created_at, sync_state)
                SELECT d, d, (CAST(:products AS text[]))[1 + n % 3], 'pickup', 1000, now() + interval '1 day', 'checking',
                       0, 'none', now(), 'pending'
                FROM (SELECT n, :first + n % :drivers AS d FROM generate_series(:turn, :turn + :count - 1) n) s
                ORDER BY n
                RETURNING id, product_code
            """), {"products": [code for code, _ in dataset.PRODUCTS], "first": DRIVERS[0], "drivers": len(DRIVERS),
                   "turn": self.turn, "count": count}).all()
        self.turn += count
        self.ids += [booking_id for booking_id, _ in rows]
        sent = {}
        for booking_id, product_code in rows:
            baseline_actor.check_stock.send(booking_id, product_code)
            sent[booking_id] = time.time()
        return sent

    def finish(self):
        """Its bookings end, so that the stock our next round's checks add up is ours alone."""
        with self.engine.begin() as db:
            db.execute(sa.text("UPDATE bookings SET status = 'completed', reserved_kg = 0 WHERE id = ANY(:ids)"),
                       {"ids": self.ids})
        self.ids = []

    def close(self):
        self.engine.dispose()


def _cpu_seconds(pid):
    root = psutil.Process(pid)
    return sum(sum(p.cpu_times()[:2]) for p in [root, *root.children(recursive=True)])


def _round(processes, rss, label, broker, env, path, send, count, le_url):
    """Workers started afresh, warmed up, then ``count`` bookings measured; the workers' CPU
    time per booking as well."""
    # A fresh ledger: each look at it for the registrations copies the whole of it under the
    # simulator's lock, which would hold up LE's answers more in each round than in the last.
    _call(le_url + "/_sim/ledger", "DELETE")
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
    bare = Bare(url)
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
            baseline_env = {**env, "BENCH_REDIS_URL": env["REDIS_URL"]}
            portal = Portal(env)
            # The one-call baseline's ids far from any booking's in the same ledger.
            next_id = iter(range(10_000_000, 20_000_000))
            sides = {"ours": [], "one call": [], "same work": []}
            for _ in range(rounds):
                sides["ours"].append(_round(processes, rss, "worker", "portal.worker", env, ROOT, portal.book, bookings, sims["le"]))
                sides["one call"].append(_round(
                    processes, rss, "baseline worker", "baseline_actor:broker", baseline_env, BENCH,
                    lambda count: _baseline_send([next(next_id) for _ in range(count)]), bookings, sims["le"],
                ))
                sides["same work"].append(_round(
                    processes, rss, "baseline worker", "baseline_actor:broker", baseline_env, BENCH, bare.book, bookings, sims["le"],
                ))
                bare.finish()
    finally:
        bare.close()
        clear_redis()
    figures = {side: combine([f for f, _ in runs]) for side, runs in sides.items()}
    cpu = {side: statistics.fmean(c for _, c in runs) for side, runs in sides.items()}
    return Comparison(
        "pipeline", f"{bookings} pickups, MES check + LE registration", "bookings/s", figures["ours"], [
            Baseline("bare actor: one LE call per message", figures["one call"]),
            Baseline("bare actors: the same two messages and signed calls, one row update each", figures["same work"], target=0.5),
        ],
        note=f"worker CPU per booking: ours {cpu['ours']:.1f} ms, one-call baseline {cpu['one call']:.1f} ms, "
             f"same-work baseline {cpu['same work']:.1f} ms",
    )
