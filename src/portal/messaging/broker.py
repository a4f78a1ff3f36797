"""What actors, the outbox and the scheduler need in any process: settings, sessions, broker,
clients — one :class:`Runtime` per process, set up by :func:`configure`.

Dramatiq's broker is global to a process, and so is this runtime: the web process, each
worker process, the scheduler and console commands configure it from the same application
configuration (``portal.make_config``), so they all know the same actors and systems.
"""

import logging
import threading
import time
from functools import cached_property

import dramatiq
import redis
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage

from portal.integrations.base import PermanentError
from portal.integrations.wechat import RedisTokenCache, TokenCache, WeChatPlatform

from . import registry
from .execution import execute
from .middleware import DeadLetters, Heartbeat

log = logging.getLogger(__name__)


class Runtime:
    """This process's broker, sessions and clients of the other systems."""

    def __init__(self, registry_):
        self._lock = threading.Lock()
        self._clients = {}
        self.broker = None
        #: False where nobody consumes this process's broker (a console command on the stub
        #: broker): committed messages then wait for the relay of the process that does.
        self.fast_path = True
        self.update(registry_)

    def update(self, registry_):
        """Take the settings, sessions and catalogue of ``registry_`` (a Pyramid registry)."""
        with self._lock:
            self.raw_settings = registry_.settings
            self.catalogue = registry_.catalogue
            self.settings = registry_.catalogue.settings
            self.session_factory = registry_["db.session_factory"]
            self._clients = {}

    def client(self, system):
        """The client of another system, shared by this process's threads."""
        with self._lock:
            if system not in self._clients:
                self._clients[system] = self.catalogue.systems[system].build_client(self.raw_settings)
            return self._clients[system]

    def policy(self, kind):
        return self.catalogue.policy(kind)

    @cached_property
    def redis(self):
        """Redis for caches and locks (``portal.cache = redis``), or None (in-process)."""
        if self.settings.cache != "redis":
            return None
        return redis.Redis.from_url(self.settings.redis_url, socket_connect_timeout=2, socket_timeout=5)

    def redis_key(self, *parts):
        """A key of ours: ``portal.redis_prefix`` first, so that installations (and test runs)
        can share a Redis database as their brokers do under ``portal.broker_namespace``."""
        return ":".join((self.settings.redis_prefix, *parts))

    @cached_property
    def nonces(self):
        """Nonces of signed inbound requests, remembered long enough to refuse a replay."""
        return Nonces(self.redis, self.redis_key("nonce"))

    def wechat(self):
        """The WeChat platform client, its access token shared through Redis when there is one."""
        with self._lock:
            if "wechat" not in self._clients:

                def cache(appid):
                    return RedisTokenCache(self.redis, self.redis_key("wechat-token", appid)) if self.redis else TokenCache()

                self._clients["wechat"] = WeChatPlatform.from_settings(self.raw_settings, cache)
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


def build_broker(settings, rt):
    """The broker ``settings.broker`` names, with our middleware."""
    if settings.broker == "stub":
        broker = StubBroker()
    elif settings.broker == "redis":
        client = redis.Redis.from_url(
            settings.broker_url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30
        )
        broker = RedisBroker(
            client=client,
            namespace=settings.broker_namespace,
            heartbeat_timeout=int(settings.worker_heartbeat_timeout * 1000),
        )
        broker.add_middleware(Heartbeat(interval=settings.worker_heartbeat_timeout / 4))
    else:
        broker = RabbitmqBroker(url=settings.broker_url)
    broker.add_middleware(CurrentMessage())
    broker.add_middleware(DeadLetters(rt))
    # Messages sent before the queues were one per system may still wait on "default": it stays
    # declared, so every worker consumes it, and a worker runs a message by its actor's name
    # whatever queue it came from (dramatiq.worker: broker.get_actor(message.actor_name)).
    broker.declare_queue("default")
    return broker


def _binder(rt):
    def bind(spec):
        def run(*args):
            return execute(rt, spec, args)

        run.__name__, run.__doc__ = spec.fn.__name__, spec.fn.__doc__
        dramatiq.actor(
            run,
            broker=rt.broker,
            actor_name=spec.name,
            queue_name=spec.queue,
            max_retries=spec.max_retries,
            min_backoff=spec.min_backoff,
            max_backoff=spec.max_backoff,
            time_limit=spec.time_limit,
            throws=(PermanentError,),
        )

    return bind


_runtime = None


def runtime():
    if _runtime is None:
        raise RuntimeError("portal.messaging.configure() has not run in this process (see portal.make_config)")
    return _runtime


def configure(registry_):
    """Build the broker from the registry's settings, make it Dramatiq's global broker and bind
    every recorded actor to it (and every actor recorded later)."""
    global _runtime
    if _runtime is not None:
        if _runtime.settings.broker != registry_.catalogue.settings.broker:
            raise RuntimeError("messaging is already configured with another broker in this process")
        _runtime.update(registry_)
        return _runtime
    rt = Runtime(registry_)
    rt.broker = build_broker(rt.settings, rt)
    dramatiq.set_broker(rt.broker)
    _runtime = rt
    registry.bind_with(_binder(rt))
    return rt


def start_embedded_worker(broker, threads=2):
    """Worker threads inside the web process (embedded default with the stub broker)."""
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=250)
    worker.start()
    return worker


def includeme(config):
    """Configure messaging when the configuration is committed: by then every include has
    recorded its actors."""

    def configure_now():
        config.registry["messaging.runtime"] = configure(config.registry)

    config.action(("portal.messaging",), configure_now)
