"""Messaging: the broker built from settings, the ``actor`` decorator and our middleware.

``configure(settings, session_factory)`` must run before any module of ``portal.actors`` is
imported: Dramatiq binds an actor to the global broker when the actor is declared.
"""

import logging
import threading
import time
import traceback
from dataclasses import dataclass
from functools import cached_property

import dramatiq
import redis
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage, Middleware
from sqlalchemy import select

from .db import Transaction
from .integrations.base import PermanentError
from .integrations.contract import ContractClient
from .models.meta import utcnow
from .models.ops import DeadLetter
from .models.outbox import OutboxMessage, idempotency_key

log = logging.getLogger(__name__)


class Runtime:
    """What actors, the outbox and the scheduler need in any process: settings, DB, broker."""

    def __init__(self, settings, session_factory, broker):
        self.settings = settings
        self.session_factory = session_factory
        self.broker = broker
        self._clients = {}
        self._lock = threading.Lock()
        #: False where nobody consumes this process's broker (a console command on the stub
        #: broker): committed messages then wait for the relay of the process that does.
        self.fast_path = True

    def client(self, system):
        """The contract client of a system, shared by this process's threads."""
        with self._lock:
            if system not in self._clients:
                from .integrations.le import LeClient
                from .integrations.mes import MesClient

                kind = {"le": LeClient, "mes": MesClient}.get(system, ContractClient)
                self._clients[system] = kind.from_settings(self.settings, system)
            return self._clients[system]

    @cached_property
    def redis(self):
        """Redis for caches and locks (``portal.cache = redis``), or None (in-process)."""
        if self.settings.get("portal.cache", "memory") != "redis":
            return None
        return redis.Redis.from_url(self.settings["portal.redis_url"], socket_connect_timeout=2, socket_timeout=5)

    def redis_key(self, *parts):
        """A key of ours: ``portal.redis_prefix`` first, so that installations (and test runs)
        can share a Redis database as their brokers do under ``portal.broker_namespace``."""
        return ":".join((self.settings["portal.redis_prefix"], *parts))

    @cached_property
    def nonces(self):
        """Nonces of signed inbound requests, remembered long enough to refuse a replay."""
        return Nonces(self.redis, self.redis_key("nonce"))

    def wechat(self):
        """The WeChat platform client, its access token shared through Redis when there is one."""
        with self._lock:
            if "wechat" not in self._clients:
                from .integrations.wechat import RedisTokenCache, TokenCache, WeChatPlatform

                appid = self.settings["portal.wechat_appid"]
                cache = RedisTokenCache(self.redis, self.redis_key("wechat-token", appid)) if self.redis else TokenCache()
                self._clients["wechat"] = WeChatPlatform.from_settings(self.settings, cache)
            return self._clients["wechat"]


class Nonces:
    TTL = 600  # longer than the ±5 minutes a signed timestamp may be off

    def __init__(self, redis_client, prefix):
        self.redis = redis_client
        self.prefix = prefix
        self.memory = {}
        self.lock = threading.Lock()

    def seen(self, key, nonce):
        """True if this (key, nonce) came before; otherwise remember it."""
        if self.redis is not None:
            return not self.redis.set(f"{self.prefix}:{key}:{nonce}", 1, nx=True, ex=self.TTL)
        now = time.time()
        with self.lock:
            self.memory = {k: t for k, t in self.memory.items() if now - t < self.TTL}
            if (key, nonce) in self.memory:
                return True
            self.memory[(key, nonce)] = now
            return False


_runtime = None


def runtime():
    if _runtime is None:
        raise RuntimeError("portal.messaging.configure() has not been called in this process")
    return _runtime


def is_configured():
    return _runtime is not None


def build_broker(settings):
    kind = settings["portal.broker"]
    if kind == "stub":
        broker = StubBroker()
    elif kind == "redis":
        from dramatiq.brokers.redis import RedisBroker

        client = redis.Redis.from_url(
            settings["portal.broker_url"], socket_connect_timeout=2, socket_timeout=10, health_check_interval=30
        )
        broker = RedisBroker(
            client=client,
            namespace=settings["portal.broker_namespace"],
            heartbeat_timeout=int(float(settings["portal.worker_heartbeat_timeout"]) * 1000),
        )
        broker.add_middleware(Heartbeat(interval=float(settings["portal.worker_heartbeat_timeout"]) / 4))
    elif kind == "rabbitmq":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=settings["portal.broker_url"])
    else:
        raise ValueError(f"portal.broker must be stub, redis or rabbitmq, not {kind!r}")
    broker.add_middleware(CurrentMessage())
    broker.add_middleware(DeadLetters())
    return broker


def configure(settings, session_factory):
    """Build the broker, make it Dramatiq's global one and import every actor module."""
    global _runtime
    if _runtime is not None:
        if _runtime.settings.get("portal.broker") != settings.get("portal.broker"):
            raise RuntimeError("messaging is already configured with another broker in this process")
        _runtime.settings, _runtime.session_factory = settings, session_factory
        return _runtime
    broker = build_broker(settings)
    dramatiq.set_broker(broker)
    _runtime = Runtime(settings, session_factory, broker)
    import portal.actors  # noqa: F401  (declares every actor on the broker just set)

    return _runtime


# -- actors -------------------------------------------------------------------------------

#: actor name → function(db, *args) returning the record whose sync state the actor owns.
_subjects = {}


@dataclass
class Job:
    """What an actor gets besides its ids: its transaction's session and its delivery."""

    db: object
    outbox_id: int | None
    attempt: int

    @property
    def idempotency_key(self):
        return idempotency_key(self.outbox_id)

    @cached_property
    def runtime(self):
        return runtime()

    def client(self, system):
        return self.runtime.client(system)

    def defer(self, actor, *args, **kwargs):
        from . import outbox

        return outbox.defer(self.db, actor, *args, **kwargs)


def actor(*, max_retries, min_backoff, max_backoff, time_limit, queue_name="default", subject=None):
    """Declare an actor; every policy is explicit.

    The decorated function is called as ``fn(job, *ids)`` inside its own transaction, once per
    outbox row: a redelivered message whose row is already done is skipped. ``PermanentError``
    is never retried. ``subject(db, *ids)`` names the record whose sync state this actor owns,
    so failures show on it.
    """
    if not is_configured():
        raise RuntimeError("configure the broker (portal.messaging.configure) before importing actors")

    def decorate(fn):
        name = f"{fn.__module__.removeprefix('portal.actors.')}.{fn.__name__}"

        def run(*args):
            return _run(fn, name, subject, args)

        run.__name__ = fn.__name__
        run.__doc__ = fn.__doc__
        _subjects[name] = subject
        return dramatiq.actor(
            run,
            actor_name=name,
            queue_name=queue_name,
            max_retries=max_retries,
            min_backoff=min_backoff,
            max_backoff=max_backoff,
            time_limit=time_limit,
            throws=(PermanentError,),
        )

    return decorate


def _run(fn, name, subject, args):
    message = CurrentMessage.get_current_message()
    outbox_id = message.options.get("outbox_id") if message else None
    attempt = (message.options.get("retries", 0) + 1) if message else 1
    rt = runtime()
    try:
        with Transaction(rt.session_factory) as db:
            row = None
            if outbox_id is not None:
                # The row lock serialises duplicate deliveries of one message.
                row = db.execute(
                    select(OutboxMessage).where(OutboxMessage.id == outbox_id).with_for_update()
                ).scalar_one_or_none()
                if row is None or row.done_at or row.dead_at:
                    log.info("%s: outbox row %s is %s; skipping", name, outbox_id, row and row.state or "gone")
                    return
            fn(Job(db=db, outbox_id=outbox_id, attempt=attempt), *args)
            if row is not None:
                row.done_at = utcnow()
    except BaseException as exc:
        _record_failure(rt, outbox_id, name, subject, args, exc)
        raise


def _describe(exc):
    return str(exc) or type(exc).__name__


def _record_failure(rt, outbox_id, name, subject, args, exc):
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
                    log.info("%s: outbox row %s was done by another delivery; this failure is moot", name, outbox_id)
                    return
                row.attempts += 1
                row.first_failed_at = row.first_failed_at or now
                row.last_failed_at = now
                row.last_error = _describe(exc)
                attempts = row.attempts
            if subject is not None and (record := subject(db, *args)) is not None:
                record.mark_retrying(f"第 {attempts} 次尝试失败：{_describe(exc)}")
    except Exception:
        log.exception("%s: could not record the failure of outbox row %s", name, outbox_id)


# -- middleware ---------------------------------------------------------------------------


class DeadLetters(Middleware):
    """Records every dead message in ``dead_letters`` and marks its subject failed.

    ``after_nack`` sees every message the worker gives up on: retries exhausted, a
    ``PermanentError``, or an actor this worker does not know.
    """

    def after_nack(self, broker, message):
        exc = message._exception  # set by the worker before it nacks
        rt = runtime()
        outbox_id = message.options.get("outbox_id")
        error = _describe(exc) if exc else "消息被拒收"
        try:
            with Transaction(rt.session_factory) as db:
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
                subject = _subjects.get(message.actor_name)
                if subject is not None and (record := subject(db, *message.args)) is not None:
                    record.mark_failed(error)
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


def start_embedded_worker(broker, threads=2):
    """Worker threads inside the web process (embedded default with the stub broker)."""
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=250)
    worker.start()
    return worker


def includeme(config):
    runtime_ = configure(config.get_settings(), config.registry["db.session_factory"])
    config.registry["messaging.runtime"] = runtime_
