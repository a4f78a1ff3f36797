"""装车道 as LE reports them: each lane's status and counts, and the queue of trucks waiting."""

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from portal.models.logistics import Booking, Lane
from portal.models.logistics import VisitFactKind as Fact

from . import visits


def apply_lane(db: Session, data: dict, at: datetime, source: str) -> bool:
    """One lane as LE describes it at ``at`` (``GET /v1/lanes`` or a ``lane.changed`` event,
    ``source`` naming which); True when it changed anything.

    An older picture of the lane than the one held leaves the lane as it is (of two pictures of
    the same moment, the one that arrives last). The trucks it lists are at this lane as of
    ``at`` — a fact of their visits like any other — and each truck's place in the queue is the
    one the latest picture of its lane gives.
    """
    code = data["code"]
    lane = db.get(Lane, code, with_for_update=True)
    if lane is None:
        lane = Lane(code=code)
        db.add(lane)
    queue = [
        {"booking_id": entry["booking_id"], "position": entry.get("position"), "called": bool(entry.get("called"))}
        for entry in data.get("queue") or []
        if isinstance(entry, dict) and isinstance(entry.get("booking_id"), int)
    ]
    changed = lane.updated_at is None or at >= lane.updated_at
    if changed:
        lane.name = data.get("name") or lane.name or code
        lane.status = data.get("status") or lane.status or "idle"
        lane.loading_count = int(data.get("loading_count") or 0)
        lane.waiting_count = int(data.get("waiting_count") or 0)
        lane.queue, lane.updated_at = queue, at
    listed = {entry["booking_id"] for entry in queue}
    # The trucks listed, and those the lane's queue held: locked in id order, as every writer does.
    touched = db.scalars(
        select(Booking)
        .where(or_(Booking.id.in_(listed), and_(Booking.lane_code == code, Booking.queue_position.is_not(None))))
        .order_by(Booking.id)
        .with_for_update()
    ).all()
    for booking in touched:
        if not visits.in_visit(booking):
            continue
        if booking.id in listed:
            changed |= visits.offer(booking, Fact.lane, code, at, source)
        visits.project(db, booking)
    return changed


def record_lanes(db: Session, lanes: list[dict], at: datetime) -> None:
    """Every lane LE listed (the periodic refresh, besides the lane.changed events)."""
    for data in lanes:
        apply_lane(db, data, at, "le-lanes")
