"""The two sides of the expiry-versus-entry race, each run in a process of its own.

A process builds its own engine from the database URL (as a worker or the web server
would) and calls the service once per booking, in step with the other side: both wait at
a shared barrier before each booking, so every booking is contended at the same moment.
"""

import random
import time
import uuid

from portal import db as portal_db
from portal import make_config, messaging
from portal.models.meta import utcnow
from portal.services.logistics import bookings, le_events
from portal.services.logistics.policy import Policy


def _enter(db, booking_id, policy):
    """LE's side: the truck entered now ('applied' or 'ignored')."""
    event_id = f"evt-race-{uuid.uuid4().hex}"
    return le_events.apply_le_event(db, event_id, "truck.entered", utcnow(), {"booking_id": booking_id}, policy)


def _expire(db, booking_id, policy):
    """The expiry's side: 退卡 of an overdue booking (True if this call expired it)."""
    return bookings.expire_booking(db, booking_id, policy)


SIDES = {"enter": _enter, "expire": _expire}


def contend(side, settings, batches, barrier, results):
    """Play ``side`` on each batch of booking ids taken from ``batches`` (until None); puts
    (side, {booking id: answer}) on ``results`` after each batch."""
    # The same configuration as any process of the portal, on the stub broker.
    make_config({**settings, "portal.broker": "stub"}, environ={}).commit()
    runtime = messaging.runtime()
    # Deferred messages stay in the outbox, where the test counts them.
    runtime.fast_path = False
    session_factory, policy = runtime.session_factory, runtime.policy(Policy)
    for booking_ids in iter(batches.get, None):
        answers = {}
        for index, booking_id in enumerate(booking_ids):
            barrier.wait(timeout=60)
            # Each side in turn holds back a moment (less than a transaction takes), so that
            # each wins some bookings whichever is faster on this machine.
            if index % 2 == (side == "enter"):
                time.sleep(random.uniform(0, 0.001))
            with portal_db.Transaction(session_factory) as db:
                answers[booking_id] = SIDES[side](db, booking_id, policy)
        results.put((side, answers))
