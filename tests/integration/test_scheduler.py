"""Periodic jobs: two schedulers never double-run a period; failures are recorded."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select

from portal.db import Transaction
from portal.models.meta import utcnow
from portal.models.ops import PeriodicJob
from portal.scheduler import Periodic, Scheduler


def test_two_schedulers_running_together_run_each_job_once_per_period(committed):
    runs = Counter()
    lock = threading.Lock()

    def job(name):
        def run():
            with lock:
                runs[name] += 1
        return run

    jobs = (Periodic("every-10s", 10, job("every-10s"), "测试"), Periodic("every-30s", 30, job("every-30s"), "测试"))
    schedulers = [Scheduler(committed, jobs, runner=name) for name in ("one", "two")]
    for scheduler in schedulers:
        scheduler.register_jobs()
    start = utcnow()
    barrier = threading.Barrier(2)

    def tick(scheduler, now):
        barrier.wait()
        return scheduler.run_due(now)

    ran_by = Counter()
    with ThreadPoolExecutor(2) as pool:
        for second in range(60):  # one simulated minute, both schedulers ticking every second
            now = start + timedelta(seconds=second)
            for scheduler, names in zip(schedulers, pool.map(tick, schedulers, [now, now]), strict=True):
                ran_by[scheduler.runner] += len(names)

    assert runs == {"every-10s": 6, "every-30s": 2}
    assert sum(ran_by.values()) == 8
    with Transaction(committed) as db:
        counts = {job.name: job.run_count for job in db.scalars(select(PeriodicJob))}
    assert counts == {"every-10s": 6, "every-30s": 2}


def test_a_failing_job_is_recorded_and_the_others_still_run(committed):
    ran = []

    def broken():
        raise ValueError("LE 不可用")

    jobs = (Periodic("broken", 5, broken, "测试"), Periodic("fine", 5, lambda: ran.append(1), "测试"))
    scheduler = Scheduler(committed, jobs)
    scheduler.register_jobs()
    assert scheduler.run_due() == ["broken", "fine"]
    assert ran == [1]
    with Transaction(committed) as db:
        broken_row = db.get(PeriodicJob, "broken")
        assert broken_row.last_error == "ValueError: LE 不可用"
        assert broken_row.last_finished_at >= broken_row.last_started_at


def test_the_registry_holds_the_relay_and_the_broker_maintenance(catalogue):
    names = {job.name: job.seconds for job in catalogue.jobs.values()}
    assert names["outbox-relay"] <= 10
    assert names["broker-maintenance"] <= 30
