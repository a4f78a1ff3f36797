"""单据 (销售出库单 / 提货单) as LE reports them, and the driver's 到货签收 (sign-off)."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import outbox
from portal.forms import Form
from portal.models.logistics import Booking, Driver, OrderStatus, OutboundOrder
from portal.models.meta import utcnow
from portal.quantities import tonnes
from portal.refusal import Refusal

from . import notices
from .policy import Policy

#: An order only moves forward: created → shipped (LE) → signed (the driver).
_RANK = {status: rank for rank, status in enumerate(OrderStatus)}


def upsert_order(db: Session, data: dict, policy: Policy, created_at: datetime | None = None) -> OutboundOrder | None:
    """An outbound order as LE describes it; our sign-off is never undone by an older report.
    Once it can be signed for, the driver is told (once)."""
    order_no, driver_id, booking_id = data.get("order_no"), data.get("driver_id"), data.get("booking_id")
    if not isinstance(order_no, str) or not order_no or not isinstance(driver_id, int) or db.get(Driver, driver_id) is None:
        return None
    booking_known = isinstance(booking_id, int) and db.get(Booking, booking_id) is not None
    order = db.scalar(select(OutboundOrder).where(OutboundOrder.order_no == order_no).with_for_update())
    if order is None:
        if not data.get("product_code"):
            return None  # a new order names its product
        order = OutboundOrder(
            order_no=order_no, status=OrderStatus.created, created_at=created_at or utcnow(), planned_quantity_kg=0
        )
    order.driver_id = driver_id
    if booking_known:
        order.booking_id = booking_id
    order.product_code = data.get("product_code") or order.product_code
    order.planned_quantity_kg = data.get("planned_quantity_kg") or order.planned_quantity_kg
    if data.get("actual_quantity_kg") is not None:
        order.actual_quantity_kg = data["actual_quantity_kg"]
    if _RANK.get(data.get("status"), 0) > _RANK[order.status] and order.status != OrderStatus.signed:
        order.status = OrderStatus(data["status"])
    if data.get("shipped_at") and order.shipped_at is None:
        shipped = data["shipped_at"]
        order.shipped_at = shipped if isinstance(shipped, datetime) else datetime.fromisoformat(shipped)
    db.add(order)
    db.flush()
    notices.order_shipped(db, order, policy)
    return order


def request_documents(db: Session, driver: Driver) -> None:
    """The driver asks for their documents from LE now (``le.refresh_documents``)."""
    outbox.defer(db, "le.refresh_documents", driver.id)


def record_documents(db: Session, driver_id: int, orders: list[dict], policy: Policy) -> None:
    """The driver's orders as LE listed them."""
    for data in orders:
        if data.get("driver_id") == driver_id:
            created = data.get("created_at")
            upsert_order(db, data, policy, created_at=datetime.fromisoformat(created) if created else None)


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
