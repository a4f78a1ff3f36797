"""What LE reports (``POST /api/le/events``): a truck's visit, outbound orders, lanes.

Events may come twice, late, and in any order. Each is recorded once by its ``event_id`` with
what became of it (for operators); it offers facts of a visit (:mod:`.visits`), which count only
when they occurred after what the booking holds — an older report is ``ignored`` and changes
nothing. An outbound order that would move a document to another booking or driver is a
``conflict``: recorded, not applied, and answered so that LE can tell (409 ``ORDER_CONFLICT``).
"""

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.models.logistics import LE_EVENT_TYPES, Booking, BookingStatus, Lane, LeEvent, LeEventResult
from portal.models.logistics import VisitFactKind as Fact
from portal.models.meta import utcnow
from portal.timefmt import local_time

from . import notices, visits
from .bookings import add_event
from .lanes import apply_lane
from .orders import record_order
from .policy import Policy

#: A visit's event: the fact it reports, and its line on the timeline (kind, message).
_VISIT = {
    "truck.entered": (Fact.entered, "truck.entered", "车辆已入厂"),
    "queue.called": (Fact.called, "called", "请前往装车道装车"),
    "loading.started": (Fact.loading, "loading.started", "开始装车"),
    "truck.loaded": (Fact.loaded, "truck.loaded", "装车完成"),
    "truck.exited": (Fact.exited, "truck.exited", "车辆已出厂"),
}
#: Where a called truck is still waiting to load (a call after that is not worth a message).
_WAITING = (BookingStatus.registered, BookingStatus.entered)
STALE = "早于已记录的同类事实"


def record_le_event(db: Session, event_id: str, type_: str, occurred_at: datetime, data: dict) -> bool:
    """Insert the event once; False when this event id was seen before."""
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    booking_id = data.get("booking_id") if isinstance(data.get("booking_id"), int) else None
    inserted = db.execute(
        insert(LeEvent)
        .values(
            event_id=event_id, type=type_, occurred_at=occurred_at, data=data, booking_id=booking_id,
            result=LeEventResult.received, received_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(LeEvent.event_id)
    ).first()
    return inserted is not None


def apply_le_event(db: Session, event_id: str, type_: str, occurred_at: datetime, data: dict, policy: Policy) -> LeEventResult:
    """Apply one LE event: applied, duplicate, ignored or conflict. The order of arrival does not
    matter; a repeat of a conflict is a conflict again."""
    if not record_le_event(db, event_id, type_, occurred_at, data):
        first = db.get(LeEvent, event_id)
        return LeEventResult.conflict if first.result is LeEventResult.conflict else LeEventResult.duplicate
    if type_ == "lane.changed":
        result, note = _apply_lane(db, data, occurred_at, event_id)
    elif type_ == "outbound_order.created":
        result, note, _ = record_order(db, data, occurred_at, event_id, policy)
    else:
        result, note = _apply_visit(db, type_, data, occurred_at, event_id, policy)
    event = db.get(LeEvent, event_id)
    event.result, event.note = result, note
    return result


def _apply_visit(
    db: Session, type_: str, data: dict, occurred_at: datetime, event_id: str, policy: Policy
) -> tuple[LeEventResult, str | None]:
    booking = db.get(Booking, data["booking_id"], with_for_update=True) if isinstance(data.get("booking_id"), int) else None
    if booking is None:
        return LeEventResult.ignored, "未知的登记"
    if not visits.in_visit(booking):
        # Our note, at the time we heard of it: the report changes nothing.
        happened = local_time(occurred_at, "%m-%d %H:%M")
        message = f"LE 报告“{LE_EVENT_TYPES[type_]}”（发生于 {happened}），但该登记状态为“{booking.status.label}”，未处理"
        add_event(booking, "late_event", message, received_at=utcnow())
        return LeEventResult.ignored, f"登记状态为“{booking.status.label}”"
    fact, line, message = _VISIT[type_]
    offers = [(fact, None)]
    lane_code = data.get("lane_code")
    if type_ in ("queue.called", "loading.started") and isinstance(lane_code, str) and lane_code:
        offers.append((Fact.lane, lane_code))
        if type_ == "queue.called":
            lane = db.get(Lane, lane_code)
            message = f"请前往{lane.name if lane else lane_code}装车"
    if type_ == "truck.loaded" and isinstance(data.get("actual_quantity_kg"), int):
        offers.append((Fact.quantity, data["actual_quantity_kg"]))
    changed = {kind for kind, value in offers if visits.offer(booking, kind, value, occurred_at, event_id)}
    if not changed:
        return LeEventResult.ignored, STALE
    if fact in changed:
        visits.record_line(db, booking, line, message, occurred_at)
    shipped = visits.project(db, booking)
    if fact is Fact.called and fact in changed and booking.status in _WAITING:
        lane = db.get(Lane, booking.lane_code) if booking.lane_code else None
        notices.queue_called(db, booking, lane.name if lane else (booking.lane_code or "装车道"), policy)
    if shipped is not None:
        notices.order_shipped(db, shipped, policy)
    return LeEventResult.applied, None


def _apply_lane(db: Session, data: dict, occurred_at: datetime, event_id: str) -> tuple[LeEventResult, str | None]:
    code = data.get("code")
    if not isinstance(code, str) or not code:
        return LeEventResult.ignored, "未写装车道代码"
    if apply_lane(db, data, occurred_at, event_id):
        return LeEventResult.applied, None
    return LeEventResult.ignored, "早于已记录的装车道状态"
