"""Actors run inside a functional test's transaction, as a worker's delivery would run them.

``job("le.sync_booking", booking.id)`` builds the :class:`~portal.messaging.Job` the messaging
layer builds and runs the recorded function through the same code a worker runs
(``portal.messaging.execution.deliver``), against the simulators on 127.0.0.1. When the outbox
holds the message (deferred and not done), the delivery is that row's: its idempotency key, the
row marked done. A failure rolls the attempt back to a savepoint, is noted on the row and the
subject as a worker notes it (``note_failure``), and is raised to the test.
"""

from sqlalchemy import select

from portal import messaging
from portal.messaging.execution import deliver, note_failure
from portal.models.meta import utcnow
from portal.models.outbox import OutboxMessage


class Jobs:
    def __init__(self, db):
        self.db = db
        self.runtime = messaging.runtime()

    def __call__(self, actor_name, *args, attempt=1, outbox_id=None):
        """Deliver the message (``outbox_id``: that row's delivery, e.g. a redelivery of a row done)."""
        spec = messaging.spec(actor_name)
        if outbox_id is None and (row := self._row(actor_name, args)) is not None:
            outbox_id = row.id
        savepoint = self.db.begin_nested()
        try:
            deliver(self.db, self.runtime, spec, args, outbox_id=outbox_id, attempt=attempt)
        except Exception as exc:
            savepoint.rollback()
            note_failure(self.db, outbox_id, spec, args, exc)
            self.db.flush()
            raise
        savepoint.commit()

    def _open(self):
        self.db.flush()
        return (
            select(OutboxMessage)
            .where(OutboxMessage.done_at.is_(None), OutboxMessage.dead_at.is_(None))
            .order_by(OutboxMessage.id)
        )

    def _row(self, actor_name, args):
        rows = self.db.scalars(self._open().where(OutboxMessage.actor_name == actor_name)).all()
        return next((row for row in rows if row.args == list(args)), None)

    def pending(self):
        """(actor name, args) of every message deferred and not done yet, oldest first."""
        return [(row.actor_name, tuple(row.args)) for row in self.db.scalars(self._open())]

    def drain(self, limit=100):
        """Run every message that is due (no eta, or an eta passed), and those they defer, in
        the order they were deferred; the (actor name, args) run. Messages for later stay."""
        done = []
        while True:
            due = self.db.scalars(
                self._open().where((OutboxMessage.eta.is_(None)) | (OutboxMessage.eta <= utcnow())).limit(1)
            ).first()
            if due is None:
                return done
            if len(done) == limit:
                raise AssertionError(f"still deferring after {limit} messages: {done[-5:]}")
            done.append((due.actor_name, tuple(due.args)))
            self(due.actor_name, *due.args)
