"""How one delivery of a message runs: in its own transaction, once per outbox row.

A redelivered message whose row is already done is skipped; a failure is noted on the row and
on the actor's subject (同步中 + reason) in a transaction of its own.
"""

import logging
from dataclasses import dataclass
from functools import cached_property

from dramatiq.middleware import CurrentMessage
from sqlalchemy import select

from portal.db import Transaction
from portal.models.meta import utcnow
from portal.models.outbox import OutboxMessage, idempotency_key

log = logging.getLogger(__name__)


@dataclass
class Job:
    """What an actor gets besides its ids: its transaction's session, its delivery, the runtime."""

    db: object
    outbox_id: int | None
    attempt: int
    runtime: object

    @cached_property
    def idempotency_key(self):
        return idempotency_key(self.outbox_id)

    def client(self, system):
        return self.runtime.client(system)

    def policy(self, kind):
        """The area policy of type ``kind``, parsed once at start-up."""
        return self.runtime.policy(kind)


def describe(exc):
    return str(exc) or type(exc).__name__


def execute(rt, spec, args):
    """Run ``spec``'s function for one delivery of its message."""
    message = CurrentMessage.get_current_message()
    outbox_id = message.options.get("outbox_id") if message else None
    attempt = (message.options.get("retries", 0) + 1) if message else 1
    try:
        with Transaction(rt.session_factory) as db:
            row = None
            if outbox_id is not None:
                # The row lock serialises duplicate deliveries of one message.
                row = db.execute(
                    select(OutboxMessage).where(OutboxMessage.id == outbox_id).with_for_update()
                ).scalar_one_or_none()
                if row is None or row.done_at or row.dead_at:
                    log.info("%s: outbox row %s is %s; skipping", spec.name, outbox_id, row and row.state or "gone")
                    return
            spec.fn(Job(db=db, outbox_id=outbox_id, attempt=attempt, runtime=rt), *args)
            if row is not None:
                row.done_at = utcnow()
    except BaseException as exc:
        record_failure(rt, outbox_id, spec, args, exc)
        raise


def record_failure(rt, outbox_id, spec, args, exc):
    """Note a failed attempt on the outbox row and the subject, in a transaction of its own.

    Another delivery of the same message (redelivered, or resent by the relay) may have done
    it between this attempt's rollback and now: then the success stands and nothing is noted.
    The row lock orders this against that delivery's transaction.
    """
    try:
        with Transaction(rt.session_factory) as db:
            now = utcnow()
            attempts = 1
            if outbox_id is not None and (row := db.get(OutboxMessage, outbox_id, with_for_update=True)) is not None:
                if row.done_at:
                    log.info("%s: outbox row %s was done by another delivery; this failure is moot", spec.name, outbox_id)
                    return
                row.attempts += 1
                row.first_failed_at = row.first_failed_at or now
                row.last_failed_at = now
                row.last_error = describe(exc)
                attempts = row.attempts
            if (record := spec.subject_of(db, args)) is not None:
                record.mark_retrying(f"第 {attempts} 次尝试失败：{describe(exc)}")
    except Exception:
        log.exception("%s: could not record the failure of outbox row %s", spec.name, outbox_id)
