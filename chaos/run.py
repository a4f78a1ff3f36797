"""``make chaos``: drive the portal through its HTTP API while workers are killed, Redis restarts
empty and LE and MES fail, then prove every effect happened exactly once.

    python -m chaos.run [--bookings 2000] [--drivers 300] [--workers 3] [--kill-every 10]
                        [--fail-rate 0.3] [--rate 20] [--seed 2026] [--kills N] [--database-url URL]

The run owns its database (dropped and created anew; the name must start with
``portal_chaos``) and its ``redis-server``; the LE and MES simulators are served from this
process. Exit status 0 when every check passed, 1 otherwise. README, "Chaos test", tells more.
"""

import argparse
import logging
import os
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from portal import db as portal_db
from portal.models.meta import utcnow
from portal.models.ops import PeriodicJob
from portal.simulators.base import serve
from portal.simulators.le import LeSimulator
from portal.simulators.mes import MesSimulator

from . import traffic as traffic_
from .cluster import BIN, INI, ROOT, Cluster
from .faults import REQUEUE_BOUND, Chaos
from .verify import checking, outbox_states, unsynced, verify

#: The periodic reads give up after a few failures by design; paused during a run, so that the
#: outbox holds only the messages the run is about.
PAUSED_JOBS = ("le-lanes-refresh", "mes-stock-refresh")


@dataclass
class Config:
    bookings: int = 2000
    drivers: int = 300
    #: Share of the bookings their driver cancels a few seconds after booking.
    cancel_share: float = 0.1
    workers: int = 3
    #: Mean seconds between worker kills (each interval drawn from 0.5–1.5 times it).
    kill_every: float = 10.0
    fail_rate: float = 0.3
    seed: int = 2026
    #: At most this many kills; the faults then last until they all happened. None: no limit.
    kills: int | None = None
    threads: int = 8
    clients: int = 8
    #: The drivers' calls per second, all phones together: about what the workers keep up with
    #: under the faults, so the run is steady load rather than a burst. None: as fast as they go.
    rate: float | None = 20.0
    heartbeat_timeout: int = 5
    redispatch_after: int = 30
    #: The clients give up on LE and MES after this; a simulated timeout holds its answer longer.
    read_timeout: float = 1.5
    hold_seconds: float = 2.0
    latency_jitter_ms: int = 300
    redis_down_seconds: float = 2.0
    #: Redis restarts once this share of the drivers' calls went out.
    redis_restart_at: float = 0.5
    #: Each product's stock lets about this share of its pickups through; the rest are rejected.
    accept_share: float = 0.6
    #: After the traffic, faults go on at most this long while the backlog drains.
    chaos_tail: float = 30.0
    settle_timeout: float = 300.0
    progress_every: float = 10.0


def prepare_database(url):
    """Drop and create the run's database, then migrate it with the project's own command."""
    url = make_url(url)
    if not (url.database or "").startswith("portal_chaos"):
        raise SystemExit(f"the chaos run drops and recreates its database; {url.database!r} does not start with portal_chaos")
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    finally:
        admin.dispose()
    env = {**os.environ, "DATABASE_URL": url.render_as_string(hide_password=False)}
    subprocess.run([str(BIN / "portal"), "-c", str(INI), "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)


def stock_for(plans, accept_share):
    """Each product's MES stock: its threshold plus ``accept_share`` of what its pickups ask."""
    asked = {code: 0 for code in traffic_.PRODUCTS}
    for driver in plans:
        for booking in driver.bookings:
            if booking.kind == "pickup":
                asked[booking.product_code] += booking.quantity_kg
    return {code: threshold + int(round(asked[code] * accept_share, -3)) for code, (_, threshold) in traffic_.PRODUCTS.items()}


class Run:
    """One chaos run against a migrated, empty database; :meth:`execute` returns the report."""

    def __init__(self, config, database_url, log_dir, out=None):
        self.config, self.log_dir, self.out = config, Path(log_dir), out or _say
        self.engine = sa.create_engine(database_url, pool_size=3)
        self.session_factory = portal_db.get_session_factory(self.engine)
        self.database_url = database_url
        # One seeded sequence draws the plan, then the kills' moments and victims.
        self.rng = random.Random(config.seed)
        self.plans = traffic_.plan(self.rng, config.drivers, config.bookings, config.cancel_share)
        self.stock_kg = stock_for(self.plans, config.accept_share)
        self.simulators = {}
        self.cluster = self.chaos = self.traffic = None
        self.phases = {}
        self.started_at = time.time()
        self._phase_started = time.monotonic()
        self._last_progress = 0.0

    def execute(self):
        try:
            self._setup()
            self._drive()
            self._settle()
            report = verify(self)
            self._phase("verify")
            self.phases["total"] = time.time() - self.started_at
            return report
        finally:
            self._teardown()

    # -- phases --------------------------------------------------------------------------------

    def _phase(self, name):
        now = time.monotonic()
        self.phases[name] = now - self._phase_started
        self._phase_started = now

    def _setup(self):
        config = self.config
        with self.session_factory.begin() as db:
            for name in PAUSED_JOBS:
                db.add(PeriodicJob(name=name, interval_seconds=86_400, next_run_at=utcnow() + timedelta(days=1), run_count=0))
        traffic_.seed(self.session_factory, self.plans, self.stock_kg)
        secret = os.urandom(16).hex()
        le = LeSimulator("chaos-le", f"le-{secret}", callback_url="http://127.0.0.1:9/unused")
        mes = MesSimulator("chaos-mes", f"mes-{secret}")
        for code, quantity in self.stock_kg.items():
            mes.set_stock(code, quantity)
        self.simulators = {"le": serve(le), "mes": serve(mes)}
        self.cluster = Cluster(
            database_url=self.database_url, log_dir=self.log_dir, simulators=self.simulators, workers=config.workers,
            threads=config.threads, heartbeat_timeout=config.heartbeat_timeout, redispatch_after=config.redispatch_after,
            read_timeout=config.read_timeout,
        )
        self.cluster.start()
        self.chaos = Chaos(
            self.cluster, {name: served.app for name, served in self.simulators.items()}, self.session_factory, self.rng,
            kill_every=config.kill_every, max_kills=config.kills, fail_rate=config.fail_rate,
            latency_jitter_ms=config.latency_jitter_ms, hold_seconds=config.hold_seconds,
            redis_down_seconds=config.redis_down_seconds,
        )
        self.traffic = traffic_.Traffic(self.cluster.web_url, self.plans, config.clients, config.rate)
        self.out(f"chaos run: {config.drivers} drivers, {config.bookings} bookings, {config.workers} workers, "
                 f"kill every ~{config.kill_every:g} s, {config.fail_rate:.0%} of LE/MES calls failing, seed {config.seed}; "
                 f"logs in {self.log_dir}")
        self._phase("setup")

    def _drive(self):
        """Traffic with every fault on; then faults until the backlog drains (or the tail ends)."""
        self.chaos.start()
        driving = threading.Thread(target=self.traffic.run, name="traffic", daemon=True)
        driving.start()
        while driving.is_alive():
            if self.traffic.sent >= self.config.redis_restart_at * self.traffic.total:
                self.chaos.restart_redis.set()
            self._progress("traffic")
            driving.join(timeout=0.5)
        self.chaos.restart_redis.set()
        self._phase("traffic under faults")
        tail_ends = time.monotonic() + self.config.chaos_tail
        # Bounded even if a kill or the restart cannot happen: the checks then say so.
        give_up = tail_ends + REQUEUE_BOUND + 2 * self.config.kill_every
        while not (self.chaos.required_done and (self._drained() or time.monotonic() > tail_ends)):
            if time.monotonic() > give_up:
                self.out("the planned kills and Redis restart did not all happen; stopping the faults anyway")
                break
            self._progress("faults go on")
            time.sleep(0.5)
        self.chaos.stop_faults()
        self._phase("faults after the traffic")

    def _settle(self):
        deadline = time.monotonic() + self.config.settle_timeout
        while not self._settled():
            if time.monotonic() > deadline:
                self.out(f"NOT SETTLED after {self.config.settle_timeout:g} s; checking what is left")
                break
            self._progress("settling, no faults")
            time.sleep(0.5)
        # Requests still being answered (a killed worker's last call, say) are in the ledgers before they are read.
        deadline = time.monotonic() + 30
        while any(s.app.arrived != len(s.app.ledger) for s in self.simulators.values()) and time.monotonic() < deadline:
            time.sleep(0.2)
        self._phase("settle")

    def _teardown(self):
        if self.chaos is not None:
            self.chaos.close()
        if self.cluster is not None:
            self.cluster.stop()
        for served in self.simulators.values():
            served.close()
        self.engine.dispose()

    # -- watching -------------------------------------------------------------------------------

    def _counts(self):
        with self.session_factory() as db:
            states = outbox_states(db)
            counts = {state: states[state] for state in ("done", "open", "scheduled", "dead")}
            return {**counts, "checking": checking(db), "unsynced": unsynced(db)}

    def _drained(self):
        counts = self._counts()
        return counts["open"] == 0 and counts["checking"] == 0

    def _settled(self):
        counts = self._counts()
        followed = all(kill.ambiguous or (kill.victim and not kill.waiting) for kill in self.chaos.kills)
        return counts["open"] == 0 and counts["checking"] == 0 and counts["unsynced"] == 0 and followed

    def _progress(self, phase):
        if time.monotonic() - self._last_progress < self.config.progress_every:
            return
        self._last_progress = time.monotonic()
        c = self._counts()
        le = self.simulators["le"].app
        self.out(
            f"[{time.time() - self.started_at:6.0f} s] {phase}: calls {self.traffic.sent}/{self.traffic.total}"
            f" | outbox done {c['done']} open {c['open']} scheduled {c['scheduled']} dead {c['dead']}"
            f" | checking {c['checking']} unsynced {c['unsynced']} | kills {len(self.chaos.kills)}"
            f" Redis restarts {self.cluster.redis.restarts} | LE requests {len(le.ledger)}",
        )


def _say(line):
    print(line, flush=True)


def parse_args(argv=None):
    defaults = Config()
    parser = argparse.ArgumentParser(prog="python -m chaos.run", description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=defaults.bookings)
    parser.add_argument("--drivers", type=int, default=defaults.drivers, help="each registers a profile and a vehicle")
    parser.add_argument("--workers", type=int, default=defaults.workers, help="dramatiq worker processes")
    parser.add_argument("--kill-every", type=float, default=defaults.kill_every, help="mean seconds between worker kills")
    parser.add_argument("--kills", type=int, default=defaults.kills, help="at most this many kills (default: no limit)")
    parser.add_argument("--fail-rate", type=float, default=defaults.fail_rate, help="share of LE and MES calls failing")
    parser.add_argument("--rate", type=float, default=defaults.rate, help="the drivers' calls per second (0: no limit)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--settle-timeout", type=float, default=defaults.settle_timeout)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/portal_chaos",
                        help="dropped and created anew; the name must start with portal_chaos")
    parser.add_argument("--log-dir", default=str(ROOT / "var" / "chaos"), help="each process's log")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = Config(bookings=args.bookings, drivers=args.drivers, workers=args.workers, kill_every=args.kill_every,
                    kills=args.kills, fail_rate=args.fail_rate, rate=args.rate or None, seed=args.seed,
                    settle_timeout=args.settle_timeout)
    prepare_database(args.database_url)
    report = Run(config, args.database_url, args.log_dir).execute()
    print(report.text(), flush=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
