"""到厂作业: a truck's visit as the facts LE reported, and what the booking shows of it.

LE reports a visit as events that may come twice, late, or in any order. Each event offers
facts — entered, called, lane, loading, loaded, quantity, order, exited — and a booking keeps,
for each kind, the one that occurred last (``occurred_at``, then the event id, so that two
reports of the same moment are decided the same way whichever arrives first). An older report
changes nothing. Everything the booking shows of its visit — status, stamps, lane, queue
position, shipped quantity, reservation — and the shipped quantity of its outbound order are
derived from these facts, so any order of delivery leaves the same booking and document.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models.logistics import (
    RESERVING,
    VISIT_ORDER,
    Booking,
    BookingEvent,
    BookingStatus,
    Lane,
    OrderStatus,
    OutboundOrder,
    VisitFact,
)
from portal.models.logistics import VisitFactKind as Fact
from portal.models.meta import utcnow

from .bookings import release

#: The step of the visit each fact shows the truck reached (an order means it was loaded).
_STEPS = {
    Fact.entered: BookingStatus.entered, Fact.loading: BookingStatus.loading, Fact.loaded: BookingStatus.loaded,
    Fact.order: BookingStatus.loaded, Fact.exited: BookingStatus.completed,
}


def in_visit(booking: Booking) -> bool:
    """Registered and not ended: LE's facts apply (before that LE does not know it; after, it is over)."""
    return booking.status in VISIT_ORDER


def offer(booking: Booking, kind: Fact, value: str | int | None, occurred_at: datetime, event_id: str) -> bool:
    """Keep a reported fact if it occurred after the one held; True when it did."""
    held = booking.facts.get(kind)
    if held is not None and (occurred_at, event_id) <= (held.occurred_at, held.event_id):
        return False
    if held is None:
        booking.facts[kind] = VisitFact(kind=kind, occurred_at=occurred_at, event_id=event_id, value=value)
    else:
        held.occurred_at, held.event_id, held.value = occurred_at, event_id, value
    return True


def project(db: Session, booking: Booking) -> OutboundOrder | None:
    """The booking's visit, and its document's shipped quantity, from its facts; returns the
    document it ships, if any."""
    facts = booking.facts
    at = {kind: fact.occurred_at for kind, fact in facts.items()}
    booking.entered_at, booking.called_at = at.get(Fact.entered), at.get(Fact.called)
    booking.loaded_at, booking.exited_at = at.get(Fact.loaded), at.get(Fact.exited)
    booking.lane_code = facts[Fact.lane].value if Fact.lane in facts else None
    booking.actual_quantity_kg = facts[Fact.quantity].value if Fact.quantity in facts else None
    booking.queue_position = _position(db, booking)
    reached = [_STEPS[kind] for kind in facts if kind in _STEPS]
    booking.status = max(reached, key=VISIT_ORDER.index, default=BookingStatus.registered)
    if booking.status not in RESERVING:
        release(booking)
    if Fact.order in facts:
        return _ship(db, booking, facts[Fact.order].value)
    return None


def _position(db: Session, booking: Booking) -> int | None:
    """The truck's place in its lane's queue, as LE last listed that lane."""
    lane = db.get(Lane, booking.lane_code) if booking.lane_code else None
    if lane is None or not lane.queue:
        return None
    return next((e.get("position") for e in lane.queue if e.get("booking_id") == booking.id), None)


def _ship(db: Session, booking: Booking, order_no: str) -> OutboundOrder | None:
    """The booking's document ships what the booking's latest weighing says, until it is signed."""
    # Locked: a sign-off committed meanwhile is seen here, never overwritten.
    order = db.scalar(
        select(OutboundOrder).where(OutboundOrder.order_no == order_no).with_for_update()
        .execution_options(populate_existing=True)
    )
    if order is None or order.status is OrderStatus.signed:
        return None
    quantity = booking.facts.get(Fact.quantity)
    order.actual_quantity_kg = quantity.value if quantity else None
    order.shipped_at = quantity.occurred_at if quantity else None
    order.status = order_status(order)
    return order


def order_status(order: OutboundOrder) -> OrderStatus:
    """待发货 until a shipped quantity is known, then 已发货 (signable); signed stays signed."""
    if order.status is OrderStatus.signed:
        return order.status
    return OrderStatus.shipped if order.actual_quantity_kg else OrderStatus.created


def record_line(db: Session, booking: Booking, kind: str, message: str, occurred_at: datetime) -> None:
    """The timeline's line for one kind of LE report: the latest report's, at its occurrence."""
    line = db.scalar(
        select(BookingEvent).where(BookingEvent.booking_id == booking.id, BookingEvent.kind == kind)
        .order_by(BookingEvent.id.desc()).limit(1)
    )
    if line is None:
        line = BookingEvent(booking=booking, kind=kind)
        db.add(line)
    line.message, line.at, line.received_at = message, occurred_at, utcnow()
