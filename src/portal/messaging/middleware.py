"""Our Dramatiq middleware and broker maintenance."""

import logging
import threading
import time
import traceback

import redis
from dramatiq.middleware import Middleware

from portal.db import Transaction
from portal.integrations.base import PermanentError
from portal.models.meta import utcnow
from portal.models.ops import DeadLetter
from portal.models.outbox import OutboxMessage

from . import registry
from .execution import describe

log = logging.getLogger(__name__)


class DeadLetters(Middleware):
    """Records every dead message in ``dead_letters`` and marks its subject failed.

    ``after_nack`` sees every message the worker gives up on: retries exhausted, a
    ``PermanentError``, or an actor this worker does not know.
    """

    def __init__(self, runtime):
        self.runtime = runtime

    def after_nack(self, broker, message):
        exc = message._exception  # set by the worker before it nacks
        outbox_id = message.options.get("outbox_id")
        error = describe(exc) if exc else "消息被拒收"
        try:
            with Transaction(self.runtime.session_factory) as db:
                now = utcnow()
                row = db.get(OutboxMessage, outbox_id, with_for_update=True) if outbox_id is not None else None
                if row is not None and row.done_at is not None:
                    # Another delivery of the same message already did the work.
                    log.info("message %s died after its outbox row %s was done; not a dead letter", message.message_id, row.id)
                    return
                if row is not None:
                    row.dead_at = now
                db.add(
                    DeadLetter(
                        outbox_id=row.id if row else None,
                        message_id=message.message_id,
                        actor_name=message.actor_name,
                        queue_name=message.queue_name,
                        args=list(message.args),
                        error=error,
                        traceback="".join(traceback.format_exception(exc)) if exc else None,
                        permanent=isinstance(exc, PermanentError),
                        attempts=row.attempts if row and row.attempts else message.options.get("retries", 0) + 1,
                        first_failed_at=(row.first_failed_at if row else None) or now,
                        last_failed_at=now,
                    )
                )
                try:
                    subject = registry.spec(message.actor_name).subject_of(db, message.args)
                except LookupError:
                    subject = None
                if subject is not None:
                    subject.mark_failed(error)
        except Exception:
            log.exception("could not record dead letter for message %s", message.message_id)
        else:
            log.warning("dead letter: %s%r: %s", message.actor_name, tuple(message.args), error)


class Heartbeat(Middleware):
    """Keeps a Redis worker's heartbeat fresh while all its threads are busy.

    Dramatiq refreshes the heartbeat only when a consumer talks to Redis; with a short
    heartbeat timeout (so a killed worker's messages come back within a minute) a busy,
    healthy worker would otherwise look dead.
    """

    def __init__(self, interval):
        self.interval = interval
        self.stopped = threading.Event()

    def after_worker_boot(self, broker, worker):
        threading.Thread(target=self._beat, args=(broker,), name="portal-heartbeat", daemon=True).start()

    def before_worker_shutdown(self, broker, worker):
        self.stopped.set()

    def _beat(self, broker):
        while not self.stopped.wait(self.interval):
            try:
                # Every dispatch call records this broker's heartbeat.
                broker.do_qsize("default")
            except redis.RedisError as exc:
                log.warning("heartbeat failed: %s", exc)


def maintain_broker(broker):
    """Requeue the unacked messages of dead workers now instead of by chance.

    Dramatiq does this maintenance on a random 0.1% of Redis commands, which on an idle queue
    can take many minutes; the scheduler calls this every few seconds instead.
    """
    if not hasattr(broker, "scripts"):  # only the Redis broker keeps acks per worker
        return 0
    queues = broker.get_declared_queues() | broker.get_declared_delay_queues()
    dispatch = broker.scripts["dispatch"]
    now_ms = int(time.time() * 1000)
    for queue_name in sorted(queues):
        # The same call RedisBroker makes internally, with the maintenance flag forced on.
        dispatch(
            args=[
                "qsize",
                now_ms,
                queue_name,
                broker.broker_id,
                broker.heartbeat_timeout,
                broker.dead_message_ttl,
                1,
                broker._max_unpack_size(),
            ],
            keys=[broker.namespace],
        )
    return len(queues)
