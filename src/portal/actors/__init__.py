"""Dramatiq actors, one module per external system.

Importing this package declares every actor on the broker that
``portal.messaging.configure`` has set; importing it before that is an error.
"""

from portal import messaging

if not messaging.is_configured():
    raise ImportError("portal.actors imported before portal.messaging.configure(); see portal/worker.py")

from . import le, mes, ops, wechat  # noqa: E402,F401
