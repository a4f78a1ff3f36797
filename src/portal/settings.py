"""Settings: ini values, overridden from the environment, parsed once into frozen objects.

Every setting can come from the environment:

* a few well-known names (``DATABASE_URL``, ``REDIS_URL``, ``BROKER_URL``) map to their keys;
* any ``PORTAL_FOO_BAR`` variable sets ``portal.foo_bar``.

The environment always wins over the ini file, so production.ini holds no secret.

The raw text is read once, at start-up, into :class:`Typed` dataclasses — the core's
:class:`CoreSettings` here, each area's policy in its own package — whose fields say each
key's type and default: a default lives in one place, and every flag, number and choice is
read the same way.
"""

import os
import types
from dataclasses import dataclass, field, fields
from typing import Self, Union, get_args, get_origin

from pyramid.paster import get_appsettings
from pyramid.settings import asbool

#: Environment variable → setting key, for names that do not follow the PORTAL_ rule.
WELL_KNOWN = {
    "DATABASE_URL": "sqlalchemy.url",
    "REDIS_URL": "portal.redis_url",
    "BROKER_URL": "portal.broker_url",
}


def from_environment(settings, environ=None):
    """Return a copy of ``settings`` with the environment applied."""
    environ = os.environ if environ is None else environ
    merged = dict(settings)
    for name, value in environ.items():
        if name in WELL_KNOWN:
            merged[WELL_KNOWN[name]] = value
        elif name.startswith("PORTAL_") and name != "PORTAL_INI":
            merged["portal." + name[len("PORTAL_"):].lower()] = value
    return merged


def load(ini_path=None):
    """Settings of the app section of an ini file (``PORTAL_INI`` by default), env applied.

    Used by the processes that are not the web server: workers, scheduler, console commands.
    """
    ini_path = ini_path or os.environ.get("PORTAL_INI", "development.ini")
    return from_environment(dict(get_appsettings(ini_path)))


def choice(default, *allowed):
    """A text field that must be one of ``allowed``."""
    return field(default=default, metadata={"choices": allowed})


def key(name, default=None):
    """A field read from ``portal.<name>`` rather than from its own name under the prefix."""
    return field(default=default, metadata={"key": "portal." + name})


def _reader(kind):
    if get_origin(kind) in (Union, types.UnionType):  # "str | None": the type that is not None
        kind = next(arg for arg in get_args(kind) if arg is not type(None))
    return asbool if kind is bool else kind


class Typed:
    """Frozen settings: the field ``name`` is read from ``PREFIX + name`` as its type says
    (``bool`` with Pyramid's ``asbool``, ``int``, ``float``, ``str``); an unset or empty key
    keeps the field's default. Subclasses are frozen dataclasses."""

    PREFIX = "portal."

    @classmethod
    def from_settings(cls, settings, prefix=None) -> Self:
        prefix = cls.PREFIX if prefix is None else prefix
        values = {}
        for item in fields(cls):
            name = item.metadata.get("key", prefix + item.name)
            text = settings.get(name)
            if text is None or text == "":
                continue
            try:
                value = _reader(item.type)(text)
            except ValueError:
                raise ValueError(f"setting {name} = {text!r} is not a valid {item.type}") from None
            allowed = item.metadata.get("choices")
            if allowed and value not in allowed:
                raise ValueError(f"setting {name} must be one of {', '.join(allowed)}, not {value!r}")
            values[item.name] = value
        return cls(**values)


@dataclass(frozen=True)
class CoreSettings(Typed):
    """The core's settings (``portal.*``); README, "Settings", explains each."""

    broker: str = choice("stub", "stub", "redis", "rabbitmq")
    #: Mount simulators, run worker threads and a scheduler thread in the web process.
    embedded: bool = False
    redis_url: str = "redis://127.0.0.1:6379/0"
    #: Redis doubles as the broker unless a broker URL of its own is given.
    broker_url: str | None = None
    broker_namespace: str = "portal"
    #: Prefix of the app's own Redis keys (nonces, the shared WeChat token), so that
    #: installations and test runs can share a Redis database as their brokers do.
    redis_prefix: str = "portal"
    #: Seconds without a heartbeat before a worker's unacked messages are requeued.
    worker_heartbeat_timeout: float = 30
    outbox_relay_after: float = 5
    outbox_redispatch_after: float = 900
    outbox_retention_days: float = 14
    scheduler_tick: float = 1
    #: ``redis`` shares the WeChat access token (and inbound nonces) between processes.
    cache: str = choice("memory", "memory", "redis")
    public_url: str = "http://127.0.0.1:6543"
    #: Session and admin cookies only over HTTPS.
    secure_cookies: bool = False
    session_secret: str | None = None
    #: Presented lists (a driver's bookings, …) kept per web process (portal.caching), a few
    #: kB each; 0 turns the cache off.
    list_cache_size: int = 2000
    #: Bounded parsing of /api bodies (portal.limits): bytes, and arrays or objects inside each other.
    max_body_bytes: int = 1_048_576
    max_json_depth: int = 32
    #: Where the built H5 front end is (``make frontend``); empty: frontend/dist of this checkout.
    h5_dist: str | None = None
    http_connect_timeout: float = 3.05
    http_read_timeout: float = 10
    #: The Official Account (oa) and the mini-program (mp).
    wechat_appid: str | None = None
    wechat_secret: str | None = None
    wechat_mp_appid: str | None = None
    wechat_mp_secret: str | None = None
    #: The mini-program page a subscribe message opens, given the H5 path as ``?path=``.
    wechat_mp_page: str = "pages/index/index"
    wechat_api_url: str = "https://api.weixin.qq.com"
    wechat_open_url: str = "https://open.weixin.qq.com"

    def __post_init__(self):
        if self.broker_url is None:
            object.__setattr__(self, "broker_url", self.redis_url)

    def wechat_apps(self) -> dict:
        """The Official Account's and the mini-program's ids and secrets, as keywords."""
        return dict(
            oa_appid=self.wechat_appid, oa_secret=self.wechat_secret,
            mp_appid=self.wechat_mp_appid, mp_secret=self.wechat_mp_secret,
        )


@dataclass(frozen=True)
class SystemSettings(Typed):
    """One contract system's address, credentials and timeouts (``portal.<system>_*``)."""

    url: str | None = None
    app_key: str | None = None
    app_secret: str | None = None
    #: None: the core's ``http_connect_timeout`` / ``http_read_timeout``.
    connect_timeout: float | None = None
    read_timeout: float | None = None

    @classmethod
    def of(cls, settings, system) -> Self:
        own = cls.from_settings(settings, prefix=f"portal.{system}_")
        core = CoreSettings.from_settings(settings)
        return cls(
            url=own.url, app_key=own.app_key, app_secret=own.app_secret,
            connect_timeout=own.connect_timeout or core.http_connect_timeout,
            read_timeout=own.read_timeout or core.http_read_timeout,
        )
