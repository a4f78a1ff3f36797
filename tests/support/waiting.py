"""Waiting for work done elsewhere (worker threads and processes, simulators, browsers)."""

import time

from sqlalchemy import func, or_, select

from portal import outbox
from portal.db import Transaction
from portal.models.meta import utcnow
from portal.models.outbox import OutboxMessage


def wait_for(predicate, timeout=15.0, interval=0.05, message="condition"):
    """Poll until ``predicate()`` is truthy; return its value or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def _unsettled(session_factory):
    """Outbox rows due (no eta, or an eta passed) that are neither done nor dead."""
    with Transaction(session_factory) as db:
        return db.scalar(
            select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.done_at.is_(None), OutboxMessage.dead_at.is_(None),
                or_(OutboxMessage.eta.is_(None), OutboxMessage.eta <= utcnow()),
            )
        )


def _idle(worker):
    """Nothing waiting on ``worker``'s ready queues nor taken and unacknowledged (a queue's
    ``.msgs`` hash holds both; its delay queue is apart) and nothing in the worker's hands."""
    broker = worker.broker
    ready = [queue for queue in broker.get_declared_queues() if not queue.endswith((".DQ", ".XQ"))]
    return worker.work_queue.unfinished_tasks == 0 and not any(broker.client.hlen(f"{broker.namespace}:{queue}.msgs") for queue in ready)


def settle(session_factory, worker=None, timeout=60.0):
    """Wait until every message that is due has run to its end — done, or dead after its
    retries — and ``worker`` (a dramatiq Worker in this process, if any) is idle.

    A message's row is marked done in the transaction that commits its effects and the
    messages it defers, so once no due row is open, nothing more is coming. Messages for
    later (a booking's expiry in four hours) do not count until their eta.
    """
    outbox.wait_for_dispatch_notes()
    wait_for(lambda: _unsettled(session_factory) == 0 and (worker is None or _idle(worker)),
             timeout=timeout, interval=0.05, message="the outbox to settle")
