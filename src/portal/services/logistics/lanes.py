"""装车道 as LE reports them: each lane's status and counts, and the queue of trucks waiting."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models.logistics import Booking, Lane


def apply_lane(db: Session, lane: Lane, data: dict, at: datetime) -> None:
    """One lane as LE describes it (``GET /v1/lanes`` or a ``lane.changed`` event)."""
    lane.name = data.get("name") or lane.name or lane.code
    lane.status = data.get("status") or lane.status or "idle"
    lane.loading_count = int(data.get("loading_count") or 0)
    lane.waiting_count = int(data.get("waiting_count") or 0)
    lane.updated_at = at
    db.add(lane)
    queue = {e["booking_id"]: e for e in data.get("queue") or [] if isinstance(e, dict) and isinstance(e.get("booking_id"), int)}
    for booking in db.scalars(select(Booking).where(Booking.lane_code == lane.code, Booking.id.not_in(list(queue) or [0]))):
        booking.queue_position = None
    for booking_id, entry in queue.items():
        booking = db.get(Booking, booking_id)
        if booking is not None:
            booking.lane_code = lane.code
            booking.queue_position = entry.get("position")


def record_lanes(db: Session, lanes: list[dict], at: datetime) -> None:
    """Every lane LE listed (the periodic refresh, besides the lane.changed events)."""
    for data in lanes:
        lane = db.get(Lane, data["code"], with_for_update=True) or Lane(code=data["code"])
        apply_lane(db, lane, data, at)
