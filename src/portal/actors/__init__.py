"""Dramatiq actors, one module per external system.

Importing an actor module only records its actors (``portal.messaging.actor``); the broker
the application configures binds them. The core's include imports the core's actors (ops,
WeChat); each area's include imports its own.
"""

from . import ops, wechat  # noqa: F401


def includeme(config):
    """The core's actors are recorded by importing this package; nothing else to configure."""
