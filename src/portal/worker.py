"""Entry point for Dramatiq workers: ``PORTAL_INI=production.ini dramatiq portal.worker``.

Builds the broker from the same ini (and environment) as the web process, then imports every
actor, in that order.
"""

import gc

from portal import db, messaging, settings

_settings = settings.load()
broker = messaging.configure(_settings, db.get_session_factory(db.get_engine(_settings))).broker
# Everything imported lives as long as the process: out of the cyclic collector's full
# collections, as in the web process (portal.main).
gc.freeze()
