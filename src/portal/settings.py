"""Settings: ini values, overridden from the environment through one helper.

Every setting can come from the environment:

* a few well-known names (``DATABASE_URL``, ``REDIS_URL``, ``BROKER_URL``) map to their keys;
* any ``PORTAL_FOO_BAR`` variable sets ``portal.foo_bar``.

The environment always wins over the ini file, so production.ini holds no secret.
"""

import os

from pyramid.settings import asbool

#: Environment variable → setting key, for names that do not follow the PORTAL_ rule.
WELL_KNOWN = {
    "DATABASE_URL": "sqlalchemy.url",
    "REDIS_URL": "portal.redis_url",
    "BROKER_URL": "portal.broker_url",
}

#: The systems that speak our own signed JSON contract (docs/contract.md) until their
#: vendors' APIs are known.
CONTRACT_SYSTEMS = ("le", "mes", "canteen", "park", "sms")

DEFAULTS = {
    "portal.broker": "stub",
    "portal.embedded": "false",
    "portal.redis_url": "redis://127.0.0.1:6379/0",
    "portal.broker_namespace": "portal",
    # Prefix of the app's own Redis keys (nonces, the shared WeChat token).
    "portal.redis_prefix": "portal",
    # Seconds without a heartbeat before a worker's unacked messages are requeued.
    "portal.worker_heartbeat_timeout": "30",
    "portal.outbox_relay_after": "5",
    "portal.outbox_redispatch_after": "900",
    "portal.outbox_retention_days": "14",
    "portal.scheduler_tick": "1",
    "portal.cache": "memory",
    "portal.public_url": "http://127.0.0.1:6543",
    "portal.wechat_api_url": "https://api.weixin.qq.com",
    "portal.wechat_open_url": "https://open.weixin.qq.com",
    "portal.http_connect_timeout": "3.05",
    "portal.http_read_timeout": "10",
    # Presented lists (a driver's bookings, …) kept per web process (portal.caching), a few kB
    # each; 0 turns the cache off.
    "portal.list_cache_size": "2000",
    # Bounded parsing of /api bodies (portal.limits): bytes, and arrays or objects inside each other.
    "portal.max_body_bytes": "1048576",
    "portal.max_json_depth": "32",
}


def from_environment(settings, environ=None):
    """Return a copy of ``settings`` with defaults filled in and the environment applied."""
    environ = os.environ if environ is None else environ
    merged = {**DEFAULTS, **settings}
    for name, value in environ.items():
        if name in WELL_KNOWN:
            merged[WELL_KNOWN[name]] = value
        elif name.startswith("PORTAL_") and name != "PORTAL_INI":
            merged["portal." + name[len("PORTAL_"):].lower()] = value
    # Redis doubles as the broker unless a broker URL of its own is given.
    merged.setdefault("portal.broker_url", merged["portal.redis_url"])
    return merged


def load(ini_path=None):
    """Settings of the app section of an ini file (``PORTAL_INI`` by default), env applied.

    Used by the processes that are not the web server: workers, scheduler, console commands.
    """
    from pyramid.paster import get_appsettings

    ini_path = ini_path or os.environ.get("PORTAL_INI", "development.ini")
    return from_environment(dict(get_appsettings(ini_path)))


def flag(settings, key):
    return asbool(settings.get(key, False))


def number(settings, key, kind=float):
    return kind(settings[key])
