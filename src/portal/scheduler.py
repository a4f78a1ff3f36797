"""Periodic jobs, run by ``portal scheduler`` (or a thread in the embedded default).

The jobs are the catalogue's (``config.add_periodic_job``): the core's below, each area's in
its include. Any number of schedulers may run: a job runs only after its row in
``periodic_jobs`` has been moved to the next period by a conditional UPDATE, which exactly one
scheduler wins.
"""

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from . import outbox
from .db import Transaction
from .messaging import runtime
from .messaging.middleware import maintain_broker
from .models.meta import utcnow
from .models.ops import PeriodicJob
from .services import idempotency

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    seconds: int
    run: Callable[[], object]
    description: str


def deferring(actor_name):
    """A job that hands the work to an actor (which owns the side effect)."""

    def run():
        with Transaction(runtime().session_factory) as db:
            outbox.defer(db, actor_name)

    return run


def _maintain_broker():
    return maintain_broker(runtime().broker)


class Scheduler:
    def __init__(self, session_factory, jobs, runner=None):
        self.session_factory = session_factory
        self.jobs = {job.name: job for job in jobs}
        self.runner = runner or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.stopped = threading.Event()

    def register_jobs(self):
        """Create missing job rows and keep intervals in step with the code."""
        with Transaction(self.session_factory) as db:
            insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
            for job in self.jobs.values():
                db.execute(
                    insert(PeriodicJob)
                    .values(name=job.name, interval_seconds=job.seconds, next_run_at=utcnow(), run_count=0)
                    .on_conflict_do_update(index_elements=["name"], set_={"interval_seconds": job.seconds})
                )

    def claim(self, job, now):
        """Move the job's row to its next period; True for the one scheduler that did."""
        with Transaction(self.session_factory) as db:
            result = db.execute(
                update(PeriodicJob)
                .where(PeriodicJob.name == job.name, PeriodicJob.next_run_at <= now)
                .values(
                    next_run_at=now + timedelta(seconds=job.seconds),
                    last_started_at=now,
                    last_runner=self.runner,
                    run_count=PeriodicJob.run_count + 1,
                )
            )
            return result.rowcount == 1

    def run_due(self, now=None):
        """Run every job whose period has come and that this scheduler claims; returns their names."""
        now = now or utcnow()
        ran = []
        for job in self.jobs.values():
            if not self.claim(job, now):
                continue
            error = None
            try:
                job.run()
            except Exception as exc:
                log.exception("periodic job %s failed", job.name)
                error = f"{type(exc).__name__}: {exc}"
            with Transaction(self.session_factory) as db:
                db.execute(
                    update(PeriodicJob)
                    .where(PeriodicJob.name == job.name)
                    .values(last_finished_at=utcnow(), last_error=error)
                )
            ran.append(job.name)
        return ran

    def run_forever(self, tick=1.0, delay=0.0):
        # The embedded default waits for its own server (the simulators) to listen first.
        if delay and self.stopped.wait(delay):
            return
        self.register_jobs()
        log.info("scheduler %s running %s", self.runner, ", ".join(self.jobs))
        while not self.stopped.is_set():
            try:
                self.run_due()
            except Exception:
                # The database or broker may be down for a while; keep ticking.
                log.exception("scheduler tick failed")
            self.stopped.wait(tick)

    def start_thread(self, tick=1.0, delay=0.0):
        thread = threading.Thread(target=self.run_forever, args=(tick, delay), name="portal-scheduler", daemon=True)
        thread.start()
        return thread

    def stop(self):
        self.stopped.set()


def status(db):
    return db.scalars(select(PeriodicJob).order_by(PeriodicJob.name)).all()


def includeme(config):
    """The core's periodic jobs."""
    config.add_periodic_job("outbox-relay", 5, "补发未送达代理的消息", run=outbox.relay)
    config.add_periodic_job("broker-maintenance", 10, "回收已停止工作进程未确认的消息", run=_maintain_broker)
    config.add_periodic_job("outbox-purge", 3600, "清理已完成的过期消息记录", run=outbox.purge)
    config.add_periodic_job("idempotency-purge", 3600, "清理过期的幂等键（Idempotency-Key）", run=idempotency.purge)
