"""What LE reports (``POST /api/le/events``): a truck's visit, outbound orders, lanes.

Events may come twice and in any order: each is recorded once by its ``event_id``, and a
booking only ever moves forward along its visit.
"""

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.models.logistics import RESERVING, VISIT_ORDER, Booking, BookingStatus, Lane, LeEvent, OrderStatus
from portal.models.meta import utcnow

from . import notices
from .bookings import add_event, release
from .lanes import apply_lane
from .orders import upsert_order
from .policy import Policy

_VISIT_STEP = {
    "truck.entered": (BookingStatus.entered, "entered_at", "车辆已入厂"),
    "loading.started": (BookingStatus.loading, None, "开始装车"),
    "truck.loaded": (BookingStatus.loaded, "loaded_at", "装车完成"),
    "truck.exited": (BookingStatus.completed, "exited_at", "车辆已出厂"),
}


def record_le_event(db: Session, event_id: str, type_: str, occurred_at: datetime, data: dict) -> bool:
    """Insert the event once; False when this event id was seen before."""
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    inserted = db.execute(
        insert(LeEvent)
        .values(event_id=event_id, type=type_, occurred_at=occurred_at, data=data, result="received", received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(LeEvent.event_id)
    ).first()
    return inserted is not None


def apply_le_event(db: Session, event_id: str, type_: str, occurred_at: datetime, data: dict, policy: Policy) -> str:
    """Apply one LE event: 'applied', 'duplicate' or 'ignored'. Order does not matter."""
    if not record_le_event(db, event_id, type_, occurred_at, data):
        return "duplicate"
    if type_ == "lane.changed":
        result = _apply_lane(db, data, occurred_at)
    elif type_ == "outbound_order.created":
        result = _apply_order(db, data, occurred_at, policy)
    else:
        result = _apply_visit(db, type_, data, occurred_at, policy)
    db.get(LeEvent, event_id).result = result
    return result


def _advance(booking: Booking, status: BookingStatus) -> None:
    """Move forward along the visit, never backwards (events may arrive out of order)."""
    if VISIT_ORDER.index(status) > VISIT_ORDER.index(booking.status):
        booking.status = status
        if status not in RESERVING:
            release(booking)


def _apply_visit(db: Session, type_: str, data: dict, occurred_at: datetime, policy: Policy) -> str:
    booking = db.get(Booking, data.get("booking_id"), with_for_update=True) if isinstance(data.get("booking_id"), int) else None
    if booking is None:
        return "ignored"
    if type_ == "queue.called":
        if booking.called_at is None and booking.status in VISIT_ORDER:
            booking.called_at = occurred_at
            booking.lane_code = data.get("lane_code") or booking.lane_code
            lane = db.get(Lane, booking.lane_code) if booking.lane_code else None
            lane_name = lane.name if lane else booking.lane_code
            add_event(booking, "called", f"请前往{lane_name}装车")
            notices.queue_called(db, booking, lane_name, policy)
            return "applied"
        return "ignored"
    status, stamp, message = _VISIT_STEP[type_]
    if booking.status not in VISIT_ORDER:
        add_event(booking, "late_event", f"LE 报告“{message}”，但该登记状态为“{booking.status.label}”，未处理")
        return "ignored"
    if stamp and getattr(booking, stamp) is None:
        setattr(booking, stamp, occurred_at)
    if type_ == "truck.loaded" and isinstance(data.get("actual_quantity_kg"), int):
        booking.actual_quantity_kg = data["actual_quantity_kg"]
    if type_ == "loading.started" and data.get("lane_code"):
        booking.lane_code = data["lane_code"]
    _advance(booking, status)
    add_event(booking, type_, message)
    return "applied"


def _apply_order(db: Session, data: dict, occurred_at: datetime, policy: Policy) -> str:
    booking = db.get(Booking, data.get("booking_id")) if isinstance(data.get("booking_id"), int) else None
    order = upsert_order(db, {**data, "status": OrderStatus.shipped, "shipped_at": occurred_at}, policy, created_at=occurred_at)
    if order is None:
        return "ignored"
    if booking is not None:
        db.refresh(booking, with_for_update=True)
        if booking.status in VISIT_ORDER:
            if booking.actual_quantity_kg is None:
                booking.actual_quantity_kg = order.actual_quantity_kg
            _advance(booking, BookingStatus.loaded)
        add_event(booking, "order", f"已开具出库单 {order.order_no}")
    return "applied"


def _apply_lane(db: Session, data: dict, occurred_at: datetime) -> str:
    code = data.get("code")
    if not isinstance(code, str) or not code:
        return "ignored"
    lane = db.get(Lane, code, with_for_update=True) or Lane(code=code)
    if lane.updated_at is not None and occurred_at < lane.updated_at:
        return "ignored"  # an older picture of the lane than the one we have
    apply_lane(db, lane, data, occurred_at)
    return "applied"
