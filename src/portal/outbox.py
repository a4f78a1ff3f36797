"""Transactional outbox: defer → row → dispatch → relay.

Application code never calls ``actor.send()``. ``defer`` writes an outbox row in the caller's
transaction; after that transaction commits the message goes to the broker at once (the fast
path). The relay, a periodic job, sends whatever the fast path did not: Redis was down, the
process died between commit and send, or the broker lost a message it had been given.
"""

import logging
import os
import threading
import time
from datetime import timedelta

from sqlalchemy import and_, delete, func, or_, select, text, update

from .db import Transaction
from .messaging import runtime, spec
from .models.meta import utcnow
from .models.outbox import OutboxMessage

log = logging.getLogger(__name__)

_PENDING = "portal.outbox.pending"


def defer(db, actor_name, *args, delay=None, eta=None):
    """Queue the actor ``actor_name`` (``"<system>.<action>"``) to run with ``args`` once
    ``db``'s transaction commits.

    The name must be a recorded actor's (LookupError otherwise), whose queue the row takes.
    ``args`` are ids and other JSON scalars. ``delay`` (timedelta) or ``eta`` (aware datetime)
    postpone delivery. Returns the outbox row, written (and given its id) with the session's
    next flush.
    """
    queue = spec(actor_name).queue
    if delay is not None:
        eta = utcnow() + delay
    row = OutboxMessage(actor_name=actor_name, queue_name=queue, args=list(args), eta=eta)
    db.add(row)
    _after_commit(db, row)
    return row


def rearm(db, row):
    """Make a message that died deliverable again (dead-letter retry)."""
    row.dispatched_at = None
    row.dead_at = None
    row.done_at = None
    db.flush()
    _after_commit(db, row)


def _after_commit(db, row):
    txn = db.info["tm"].get()
    try:
        pending = txn.data(_PENDING)
    except KeyError:
        pending = []
        txn.set_data(_PENDING, pending)
        txn.addAfterCommitHook(_dispatch_committed, args=(pending,))
    pending.append(row)


def _dispatch_committed(committed, rows):
    # The rows got their ids in the commit's own flush (one INSERT for all of them), and keep
    # them after it: sessions do not expire on commit.
    if committed and rows and runtime().fast_path:
        dispatch_fast_path([(row.id, row.actor_name, list(row.args), row.eta) for row in rows])


def dispatch_fast_path(pending):
    """Send freshly committed messages; whatever fails here is left to the relay."""
    rt = runtime()
    sent = []
    try:
        for outbox_id, actor_name, args, eta in pending:
            _send(rt.broker, outbox_id, actor_name, args, eta)
            sent.append(outbox_id)
    except Exception as exc:
        log.warning("outbox fast path stopped after %d of %d messages (%s); the relay will send the rest",
                    len(sent), len(pending), exc)
    if sent:
        _notes.add(rt.session_factory, sent)


class DispatchNotes:
    """The fast path's "dispatched" notes, written by one thread per process, many rows per
    transaction: the request (or actor) that committed does not wait for them.

    A note lost (the process died, the database refused) only means the relay sends that
    message once more, which every actor tolerates (at-least-once delivery); the relay leaves
    rows alone for ``portal.outbox_relay_after`` seconds, far longer than a note takes.
    """

    def __init__(self):
        self._pending = {}
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._writing = False
        self._pid = None

    def add(self, session_factory, ids):
        with self._lock:
            self._pending.setdefault(session_factory, []).extend(ids)
            if self._pid != os.getpid():  # first use in this process (or a forked child)
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="outbox-dispatch-notes", daemon=True).start()
            self._wake.notify_all()

    def wait_written(self, timeout=5.0):
        """Until every note added so far is written (for tests: notes land a moment after the commit)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending or self._writing:
                if not self._wake.wait(deadline - time.monotonic()):
                    return False
        return True

    #: How long a note waits for others to share its transaction (under load, dozens do).
    GATHER_SECONDS = 0.02

    def _run(self):
        while True:
            with self._lock:
                while not self._pending:
                    self._wake.wait()
                self._writing = True
            time.sleep(self.GATHER_SECONDS)
            with self._lock:
                batches, self._pending = self._pending, {}
            for session_factory, ids in batches.items():
                try:
                    _note_dispatched(session_factory, ids)
                except Exception:
                    log.exception("could not mark %d outbox rows dispatched; the relay may send them again", len(ids))
            with self._lock:
                self._writing = False
                self._wake.notify_all()


_notes = DispatchNotes()
wait_for_dispatch_notes = _notes.wait_written


def _note_dispatched(session_factory, ids):
    # Without waiting for the disk: a note lost in a crash costs one more send, nothing else.
    with session_factory() as db, db.begin():
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text("SET LOCAL synchronous_commit TO OFF"))
        _mark_dispatched(db, ids)


def _send(broker, outbox_id, actor_name, args, eta):
    delay = None
    if eta is not None:
        delay = max(0, int((eta - utcnow()).total_seconds() * 1000))
    broker.get_actor(actor_name).send_with_options(args=tuple(args), delay=delay, outbox_id=outbox_id)


def _mark_dispatched(db, ids, now=None):
    db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .values(dispatched_at=now or utcnow(), dispatch_count=OutboxMessage.dispatch_count + 1)
    )


def relay(session_factory=None, *, broker=None, older_than=None, redispatch_after=None, batch=500, now=None):
    """Send what the fast path left behind; returns how many messages were sent.

    Picks rows never dispatched for ``older_than`` seconds, and rows dispatched but neither
    done nor dead for ``redispatch_after`` seconds (the broker lost them, e.g. Redis restarted
    empty) — for a delayed message, ``redispatch_after`` seconds past its eta: until then it is
    waiting, not lost. Rows are locked with SKIP LOCKED so relays and workers never wait on
    each other.
    """
    rt = runtime()
    session_factory = session_factory or rt.session_factory
    broker = broker or rt.broker
    older_than = rt.settings.outbox_relay_after if older_than is None else older_than
    if redispatch_after is None:
        redispatch_after = rt.settings.outbox_redispatch_after
    now = now or utcnow()
    fresh_cutoff = now - timedelta(seconds=older_than)
    stale_cutoff = now - timedelta(seconds=redispatch_after)
    sent = []
    with Transaction(session_factory) as db:
        rows = db.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.done_at.is_(None),
                OutboxMessage.dead_at.is_(None),
                or_(
                    and_(OutboxMessage.dispatched_at.is_(None), OutboxMessage.created_at <= fresh_cutoff),
                    and_(
                        OutboxMessage.dispatched_at <= stale_cutoff,
                        or_(OutboxMessage.eta.is_(None), OutboxMessage.eta <= stale_cutoff),
                        or_(OutboxMessage.last_failed_at.is_(None), OutboxMessage.last_failed_at <= stale_cutoff),
                    ),
                ),
            )
            .order_by(OutboxMessage.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        try:
            for row in rows:
                _send(broker, row.id, row.actor_name, row.args, row.eta)
                sent.append(row.id)
        except Exception as exc:
            log.warning("outbox relay sent %d of %d messages, then: %s", len(sent), len(rows), exc)
        if sent:
            _mark_dispatched(db, sent, now)
    if sent:
        log.info("outbox relay sent %d messages", len(sent))
    return len(sent)


def purge(session_factory=None, *, older_than_days=None, now=None):
    """Delete delivered rows past the retention period; returns how many."""
    rt = runtime()
    days = rt.settings.outbox_retention_days if older_than_days is None else older_than_days
    cutoff = (now or utcnow()) - timedelta(days=days)
    with Transaction(session_factory or rt.session_factory) as db:
        result = db.execute(
            delete(OutboxMessage).where(OutboxMessage.done_at.is_not(None), OutboxMessage.done_at < cutoff)
        )
        return result.rowcount


def status(db):
    """Counts for the operations page (消息与定时任务): messages due and not yet sent, sent and
    not yet done, delayed ones waiting for their time (a booking's 退卡 timer …), and dead ones."""

    def count(*where):
        return db.scalar(select(func.count()).select_from(OutboxMessage).where(*where))

    now = utcnow()
    open_ = (OutboxMessage.done_at.is_(None), OutboxMessage.dead_at.is_(None))
    due = or_(OutboxMessage.eta.is_(None), OutboxMessage.eta <= now)
    later = OutboxMessage.eta > now
    return {
        "undispatched": count(*open_, due, OutboxMessage.dispatched_at.is_(None)),
        "in_flight": count(*open_, due, OutboxMessage.dispatched_at.is_not(None)),
        "delayed": count(*open_, later),
        "dead": count(OutboxMessage.dead_at.is_not(None)),
        "oldest_undispatched_at": db.scalar(
            select(func.min(OutboxMessage.created_at)).where(*open_, due, OutboxMessage.dispatched_at.is_(None))
        ),
        "next_due_at": db.scalar(select(func.min(OutboxMessage.eta)).where(*open_, later)),
        # (actor name, count, next due time) of the delayed ones, the most first.
        "delayed_by_actor": db.execute(
            select(OutboxMessage.actor_name, func.count(), func.min(OutboxMessage.eta))
            .where(*open_, later)
            .group_by(OutboxMessage.actor_name)
            .order_by(func.count().desc(), OutboxMessage.actor_name)
        ).all(),
    }
