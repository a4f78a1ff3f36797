"""The MES stock (罐区库存): a pickup is accepted only if it leaves the product's threshold.

available = stock − reservations of the active pickups; a pickup is accepted only if
available − quantity ≥ the product's threshold, decided under the product's row lock so that
concurrent decisions never over-reserve.
"""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models.logistics import RESERVING, Booking, BookingStatus, Product, StockCheck
from portal.models.meta import utcnow
from portal.quantities import tonnes

from . import notices
from .bookings import add_event, register
from .policy import Policy


def reserved_kg(db: Session, product_code: str) -> int:
    return db.scalar(
        select(func.coalesce(func.sum(Booking.reserved_kg), 0)).where(
            Booking.product_code == product_code, Booking.status.in_(RESERVING)
        )
    )


def decide_stock(db: Session, check: StockCheck, stock_kg: int, policy: Policy, now: datetime | None = None) -> Booking:
    """Accept or reject a pickup against the MES figure — under the product's row lock.

    The lock makes concurrent checks for one product take turns, so the reservations they
    add up never exceed what the stock allows. It is FOR NO KEY UPDATE: checks still take
    turns, but new bookings of the product (whose foreign key takes a KEY SHARE lock on it)
    are not held up behind them, nor they behind new bookings.
    """
    now = now or utcnow()
    # populate_existing: the caller may hold the booking from before the lock (check_stock reads
    # it before asking the MES); decide on what the locked row says now, or a cancellation
    # committed meanwhile would be overwritten.
    booking = db.get(Booking, check.booking_id, with_for_update=True, populate_existing=True)
    product = db.get(Product, booking.product_code, with_for_update={"key_share": True})
    checking = booking.status is BookingStatus.checking
    # Added up before anything in the session changes, so that the sum needs no flush first:
    # the time under the lock is what bounds how many checks of one product pass a second.
    reserved = reserved_kg(db, product.code) if checking else None
    product.stock_kg, product.stock_at = stock_kg, now
    if not checking:
        check.mark_synced()
        return booking
    available = stock_kg - reserved
    check.stock_kg, check.reserved_kg, check.threshold_kg = stock_kg, reserved, product.threshold_kg
    check.accepted = available - booking.quantity_kg >= product.threshold_kg
    check.mark_synced()
    figures = {"stock_kg": stock_kg, "reserved_kg": reserved, "available_kg": available, "threshold_kg": product.threshold_kg}
    if check.accepted:
        booking.reserved_kg = booking.quantity_kg
        add_event(booking, "stock_ok", "库存核对通过", **figures)
        register(db, booking, policy, now)
    else:
        # The driver learns the product is short; the plant's figures stay in the event's data.
        booking.status = BookingStatus.rejected
        booking.reason = (
            f"{product.name}可用库存不足，本次 {tonnes(booking.quantity_kg)}未能登记，请减少数量或改日再登记"
        )
        add_event(booking, "rejected", booking.reason, **figures)
        notices.booking_rejected(db, booking, policy)
    return booking


def record_stock(db: Session, totals: dict[str, int], now: datetime | None = None) -> None:
    """Every product's stock as the MES gave it (product code → kilograms), for the pages."""
    now = now or utcnow()
    for product in db.scalars(select(Product)):
        if product.code in totals:
            product.stock_kg, product.stock_at = totals[product.code], now
