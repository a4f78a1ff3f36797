"""单据 (销售出库单 / 提货单) as LE reports them, and the driver's 到货签收 (sign-off)."""

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import outbox
from portal.forms import Form
from portal.models.logistics import Booking, Driver, LeEventResult, OrderStatus, OutboundOrder
from portal.models.logistics import VisitFactKind as Fact
from portal.models.meta import utcnow
from portal.quantities import tonnes
from portal.refusal import Refusal

from . import notices, visits
from .policy import Policy


class Recorded(NamedTuple):
    """What became of an order LE reported, and why when it was not applied."""

    result: LeEventResult
    note: str | None = None
    order: OutboundOrder | None = None


def record_order(db: Session, data: dict, occurred_at: datetime, source: str, policy: Policy) -> Recorded:
    """An outbound order as LE reports it (``outbound_order.created``, or LE's list, ``source``
    naming which).

    A document belongs to its booking and its driver: a number another booking or driver holds
    is a conflict and changes nothing. The order and its shipped quantity are facts of the
    booking's visit (:mod:`.visits`): the booking's latest weighing, or the latest order that
    carries a quantity, ships the order; without one it waits, 待发货. Once it can be signed
    for, the driver is told (once).
    """
    order_no, driver_id, booking_id = data.get("order_no"), data.get("driver_id"), data.get("booking_id")
    if not isinstance(order_no, str) or not order_no or not isinstance(driver_id, int) or db.get(Driver, driver_id) is None:
        return Recorded(LeEventResult.ignored, "未知的单号或驾驶员")
    # The booking first, then the order: the order a visit ships is locked in that order too.
    booking = db.get(Booking, booking_id, with_for_update=True) if isinstance(booking_id, int) else None
    order = db.scalar(select(OutboundOrder).where(OutboundOrder.order_no == order_no).with_for_update())
    if conflict := _conflict(order, booking, driver_id, booking_id):
        return Recorded(LeEventResult.conflict, conflict)
    if order is None:
        if not data.get("product_code"):
            return Recorded(LeEventResult.ignored, "新单据未写品名")
        order = OutboundOrder(order_no=order_no, driver_id=driver_id, status=OrderStatus.created, created_at=occurred_at)
        db.add(order)
    before = _described(order)
    if booking is not None:
        order.booking_id = booking.id
    order.product_code = data.get("product_code") or order.product_code
    order.planned_quantity_kg = data.get("planned_quantity_kg") or order.planned_quantity_kg or 0
    quantity = data.get("actual_quantity_kg") if isinstance(data.get("actual_quantity_kg"), int) else None

    facts_changed = False
    if booking is not None and visits.in_visit(booking):
        if visits.offer(booking, Fact.order, order_no, occurred_at, source):
            facts_changed = True
            visits.record_line(db, booking, "order", f"已开具出库单 {order_no}", occurred_at)
        if quantity is not None:
            facts_changed |= visits.offer(booking, Fact.quantity, quantity, occurred_at, source)
        visits.project(db, booking)  # ships the booking's order
    if not _shipped_by_visit(booking, order_no):
        _ship_own_quantity(order, quantity, occurred_at)
        if booking is not None and not visits.in_visit(booking):
            visits.record_line(db, booking, "order", f"已开具出库单 {order_no}", occurred_at)
    db.flush()
    notices.order_shipped(db, order, policy)
    if facts_changed or _described(order) != before:
        return Recorded(LeEventResult.applied, order=order)
    return Recorded(LeEventResult.ignored, "与已记录的单据相同或更早", order)


def _conflict(order: OutboundOrder | None, booking: Booking | None, driver_id: int, booking_id: object) -> str | None:
    """Why the report would move a document to another booking or driver, if it would."""
    if order is not None and order.driver_id != driver_id:
        return f"单号 {order.order_no} 属于另一位驾驶员（登记 #{order.booking_id}），未改动"
    if order is not None and order.booking_id is not None and order.booking_id != booking_id:
        return f"单号 {order.order_no} 属于登记 #{order.booking_id}，不能改到登记 #{booking_id}"
    if booking is not None and booking.driver_id != driver_id:
        return f"登记 #{booking.id} 不属于驾驶员 #{driver_id}，单据未处理"
    return None


def _described(order: OutboundOrder) -> tuple:
    return (order.id, order.booking_id, order.product_code, order.planned_quantity_kg, order.actual_quantity_kg, order.status)


def _shipped_by_visit(booking: Booking | None, order_no: str) -> bool:
    """Whether the order is the one its booking's visit ships (then the visit says its quantity)."""
    fact = booking.facts.get(Fact.order) if booking is not None and visits.in_visit(booking) else None
    return fact is not None and fact.value == order_no


def _ship_own_quantity(order: OutboundOrder, quantity: int | None, occurred_at: datetime) -> None:
    """An order no visit of ours ships (an unknown or ended booking): its own latest quantity."""
    if order.status is not OrderStatus.signed and quantity is not None and (
        order.shipped_at is None or occurred_at >= order.shipped_at
    ):
        order.actual_quantity_kg, order.shipped_at = quantity, occurred_at
    order.status = visits.order_status(order)


def request_documents(db: Session, driver: Driver) -> None:
    """The driver asks for their documents from LE now (``le.refresh_documents``)."""
    outbox.defer(db, "le.refresh_documents", driver.id)


def record_documents(db: Session, driver_id: int, orders: list[dict], policy: Policy) -> None:
    """The driver's orders as LE listed them, each as reported when LE shipped (or made) it; an
    order LE says was signed there is signed here too. Conflicts are left as they are."""
    for data in orders:
        if data.get("driver_id") != driver_id:
            continue
        when = data.get("shipped_at") or data.get("created_at")
        recorded = record_order(db, data, datetime.fromisoformat(when) if when else utcnow(), "le-documents", policy)
        if recorded.order is not None and data.get("status") == OrderStatus.signed:
            recorded.order.status = OrderStatus.signed


def sign_order(db: Session, driver: Driver, order_no: str, data: dict, policy: Policy) -> OutboundOrder:
    """到货签收: once per order, within the tolerance of the shipped quantity; pushed to LE."""
    order = db.scalar(select(OutboundOrder).where(OutboundOrder.order_no == order_no).with_for_update())
    if order is None or order.driver_id != driver.id:
        raise Refusal("not_found", "单据不存在", status=404)
    if order.status == OrderStatus.signed:
        raise Refusal("already_signed", "该单据已签收，不能重复签收", status=409)
    if order.status != OrderStatus.shipped or not order.actual_quantity_kg:
        raise Refusal("not_shipped", "该单据尚未发货，不能签收", status=409)
    form = Form(data)
    quantity = form.kilograms("signed_quantity_kg", "签收数量", maximum=100_000)
    note = form.text("note", "备注", max_len=200, required=False)
    tolerance = order.actual_quantity_kg * policy.signoff_tolerance_percent / 100
    if quantity is not None and abs(quantity - order.actual_quantity_kg) > tolerance:
        form.error(
            "signed_quantity_kg",
            f"签收数量与发货数量 {tonnes(order.actual_quantity_kg)}相差超过 {policy.signoff_tolerance_percent:g}%，"
            "请核对或联系调度",
        )
    form.done()
    order.status = OrderStatus.signed
    order.signed_quantity_kg, order.signed_note, order.signed_at = quantity, note, utcnow()
    order.mark_pending()
    outbox.defer(db, "le.push_signoff", order.id)
    return order


def signoff_for_le(order: OutboundOrder) -> dict:
    """The sign-off as LE's client takes it."""
    return {
        "order_no": order.order_no, "signed_quantity_kg": order.signed_quantity_kg, "note": order.signed_note or "",
        "signed_at": order.signed_at,
    }
