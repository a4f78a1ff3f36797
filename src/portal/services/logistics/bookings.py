"""提送货登记: a driver's booking, its registration at LE, cancellation and 退卡 (expiry).

A pickup waits (``checking``) for the MES (see :mod:`.stock`); a delivery is registered at
once. A registered booking expires at planned arrival + its product's reservation window: a
delayed message at that moment, and :func:`expire_overdue` as a periodic safety net. Every
change leaves a line on the booking's timeline and a message telling LE (``le.sync_booking``),
which reconciles LE with the booking's latest state whatever order the messages run in.
"""

from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, object_session, sessionmaker

from portal import outbox
from portal.db import Transaction
from portal.forms import Form
from portal.models.admin import AdminUser
from portal.models.logistics import (
    ACTIVE,
    Booking,
    BookingEvent,
    BookingKind,
    BookingStatus,
    Driver,
    LeState,
    Product,
    StockCheck,
    Vehicle,
)
from portal.models.meta import utcnow
from portal.quantities import tonnes
from portal.refusal import Refusal
from portal.services import audit
from portal.timefmt import SHANGHAI, local_time

from . import notices
from .drivers import check_own_vehicle
from .policy import Policy

#: Statuses a booking ends in; LE must not keep a card for them.
ENDED = (BookingStatus.cancelled, BookingStatus.expired)


def add_event(
    booking: Booking, kind: str, message: str, *, at: datetime | None = None, received_at: datetime | None = None, **data
) -> None:
    """A line of the booking's timeline: at ``at`` (now for our own steps; when it happened for
    what another system reports, with ``received_at``)."""
    # Added to the session rather than appended to booking.events: appending would first load
    # the whole timeline of a booking whose events are not loaded yet (every actor's case).
    object_session(booking).add(
        BookingEvent(booking=booking, kind=kind, message=message, data=data or None, at=at or utcnow(), received_at=received_at)
    )


def create_booking(db: Session, driver: Driver, data: dict, policy: Policy, now: datetime | None = None) -> Booking:
    """装货人查验 first; then a pickup waits for the MES (checking), a delivery is registered."""
    now = now or utcnow()
    form = Form(data)
    kind = data.get("kind") if isinstance(data, dict) else None
    form.check("kind", kind in ("pickup", "delivery"), "请选择提货或送货")
    product_code = form.text("product_code", "品名", max_len=32)
    quantity = form.kilograms("quantity_kg", "数量", maximum=100_000)
    vehicle_id = form.integer("vehicle_id", "车辆")
    planned = form.instant("planned_arrival_at", "计划到厂时间")
    if planned and planned <= now:
        form.error("planned_arrival_at", "计划到厂时间须晚于现在")
    elif planned and planned > now + timedelta(days=policy.max_days_ahead):
        form.error("planned_arrival_at", f"只能登记 {policy.max_days_ahead} 天内的到厂计划")
    form.done()

    # Vehicle and product in one query: a round trip less on every booking. The vehicle's row
    # lock makes bookings of one truck take turns, so that two identical requests at the same
    # moment (a double tap) cannot both pass the duplicate check below.
    row = db.execute(
        select(Vehicle, Product)
        .outerjoin(Product, Product.code == product_code)
        .where(Vehicle.id == vehicle_id)
        .with_for_update(of=Vehicle)
    ).first()
    vehicle, product = row if row is not None else (None, None)
    check_own_vehicle(vehicle, driver)
    if product is None or not product.active:
        raise Refusal("invalid", "该品名不可登记", {"product_code": "未知或已停用的品名"})
    _loader_check(driver, vehicle, product, quantity, planned.astimezone(SHANGHAI).date())
    kind = BookingKind(kind)
    _refuse_overlap(db, vehicle, kind, product, planned, reservation_window(product, policy))

    booking = Booking(
        driver=driver, vehicle=vehicle, product=product, kind=kind, quantity_kg=quantity,
        planned_arrival_at=planned, status=BookingStatus.checking, reserved_kg=0, le_state=LeState.none,
    )
    db.add(booking)
    add_event(booking, "created", f"提交{booking.kind.label}登记：{product.name} {tonnes(quantity)}")
    if booking.kind is BookingKind.pickup:
        # Through the relationship: one flush writes all three rows, and the answer's
        # booking.stock_checks needs no query.
        check = StockCheck(booking=booking)
        db.add(check)
        db.flush()
        outbox.defer(db, "mes.check_stock", check.id)
    else:
        db.flush()
        register(db, booking, policy, now)
    return booking


def _loader_check(driver: Driver, vehicle: Vehicle, product: Product, quantity: int, arrival_day: date) -> None:
    """装货人查验: certificates and tank inspection valid on the day, product and quantity fit the tank."""
    refusals = []
    if driver.qualification_expires_on < arrival_day:
        refusals.append(f"驾驶员从业资格证将于 {driver.qualification_expires_on} 到期，早于计划到厂日期")
    if driver.escort_qualification_expires_on and driver.escort_qualification_expires_on < arrival_day:
        refusals.append(f"押运员从业资格证将于 {driver.escort_qualification_expires_on} 到期，早于计划到厂日期")
    if vehicle.tank_inspection_expires_on < arrival_day:
        refusals.append(f"罐体检验将于 {vehicle.tank_inspection_expires_on} 到期，早于计划到厂日期")
    if product.code not in vehicle.approved_products:
        refusals.append(f"罐体适装介质不含“{product.name}”")
    if quantity > vehicle.tank_capacity_kg:
        refusals.append(f"登记数量 {tonnes(quantity)}超过罐体容量 {tonnes(vehicle.tank_capacity_kg)}")
    if refusals:
        raise Refusal("check_failed", "装货人查验未通过：" + "；".join(refusals), {"reasons": refusals}, status=422)


def reservation_window(product: Product, policy: Policy) -> timedelta:
    """How long after its planned arrival a booking of the product stays valid."""
    return timedelta(minutes=product.reservation_minutes or policy.reservation_minutes)


def _refuse_overlap(
    db: Session, vehicle: Vehicle, kind: BookingKind, product: Product, planned: datetime, window: timedelta
) -> None:
    """No second active booking of one truck, kind and product whose time window overlaps: a
    double tap, or the same trip booked twice."""
    other = db.scalars(
        select(Booking)
        .where(
            Booking.vehicle_id == vehicle.id, Booking.kind == kind, Booking.product_code == product.code,
            Booking.status.in_(ACTIVE), Booking.planned_arrival_at < planned + window,
            # Registered, the window ends at expires_at; checking, a window after the planned arrival.
            or_(Booking.expires_at > planned, and_(Booking.expires_at.is_(None), Booking.planned_arrival_at > planned - window)),
        )
        .order_by(Booking.planned_arrival_at)
        .limit(1)
    ).first()
    if other is not None:
        arrival = local_time(other.planned_arrival_at, "%m-%d %H:%M")
        raise Refusal(
            "duplicate_booking",
            f"该车辆已有 {arrival} 到厂的{product.name}{kind.label}登记（#{other.id}，{other.status.label}），"
            "与本次时段重叠，请勿重复登记；如需更改，请先取消原登记",
            {"planned_arrival_at": f"与登记 #{other.id} 的时段重叠"},
            status=409,
        )


def register(db: Session, booking: Booking, policy: Policy, now: datetime) -> None:
    """登记成功: valid until planned arrival + the reservation window; LE is told, expiry set."""
    window = reservation_window(booking.product, policy)
    booking.status = BookingStatus.registered
    booking.expires_at = max(booking.planned_arrival_at, now) + window
    add_event(booking, "registered", f"登记成功，请于 {local_time(booking.expires_at, '%m-%d %H:%M')} 前入厂，逾期自动退卡")
    booking.mark_pending()
    outbox.defer(db, "le.sync_booking", booking.id)
    outbox.defer(db, "le.expire_booking", booking.id, eta=booking.expires_at)


def release(booking: Booking) -> None:
    """The booking no longer holds stock."""
    booking.reserved_kg = 0


def booking_of(db: Session, driver: Driver, booking_id: int) -> Booking:
    booking = db.get(Booking, booking_id)
    if booking is None or booking.driver_id != driver.id:
        raise Refusal("not_found", "登记记录不存在", status=404)
    return booking


def cancel_booking(db: Session, booking: Booking, *, by: str, reason: str | None = None) -> Booking:
    """The driver or an admin cancels a booking that has not entered the plant."""
    db.refresh(booking, with_for_update=True)
    if booking.status not in (BookingStatus.checking, BookingStatus.registered):
        raise Refusal("not_cancellable", f"当前状态为“{booking.status.label}”，不能取消", status=409)
    booking.status = BookingStatus.cancelled
    booking.reason = reason or ("驾驶员取消" if by == "driver" else "管理员取消")
    release(booking)
    add_event(booking, "cancelled", booking.reason, by=by)
    booking.mark_pending()
    outbox.defer(db, "le.sync_booking", booking.id)
    return booking


def expire_booking(
    db: Session, booking_id: int, policy: Policy, *, now: datetime | None = None, by: str = "system", reason: str | None = None,
    force: bool = False,
) -> bool:
    """退卡: a registered booking not entered in time. Returns True if this call expired it.

    The booking row lock decides a race with an entry event: whoever locks first wins, the
    other finds the booking no longer ``registered``.
    """
    now = now or utcnow()
    booking = db.get(Booking, booking_id, with_for_update=True)
    if booking is None or booking.status is not BookingStatus.registered:
        return False
    if not force and booking.expires_at > now:
        return False
    booking.status = BookingStatus.expired
    booking.reason = reason or f"未在 {local_time(booking.expires_at, '%m-%d %H:%M')} 前入厂，已自动退卡，请重新登记"
    release(booking)
    add_event(booking, "expired", booking.reason, by=by)
    booking.mark_pending()
    outbox.defer(db, "le.sync_booking", booking.id)
    notices.booking_ended(db, booking, by, policy)
    return True


def expire_overdue(session_factory: sessionmaker, policy: Policy, now: datetime | None = None) -> int:
    """The periodic safety net behind the delayed expiry messages; returns how many expired."""
    now = now or utcnow()
    with Transaction(session_factory) as db:
        ids = db.scalars(
            select(Booking.id)
            .where(Booking.status == BookingStatus.registered, Booking.expires_at <= now)
            .order_by(Booking.expires_at)
            .limit(500)
            .with_for_update(skip_locked=True)
        ).all()
        return sum(expire_booking(db, booking_id, policy, now=now) for booking_id in ids)


# -- what LE is told (le.sync_booking) ---------------------------------------------------------


def le_step(booking: Booking) -> str | None:
    """What LE must be told to hold the booking's latest state: "register", "cancel" or None.

    It reconciles rather than replays, so any number of sync messages in any order leave LE
    with the booking's latest state.
    """
    ended = booking.status in ENDED
    # A registration may have reached LE while le_state is still "none": its answer was lost
    # (a timeout, a worker killed before its commit). So a booking that was registered here —
    # only registration sets expires_at — is cancelled at LE once it ends, whatever le_state
    # says; LE answers the cancellation of a booking it never registered just the same.
    told = booking.le_state
    may_be_at_le = told == LeState.registered or (told == LeState.none and booking.expires_at is not None)
    if not ended and booking.status not in (BookingStatus.checking, BookingStatus.rejected) and told == LeState.none:
        return "register"
    if ended and may_be_at_le:
        return "cancel"
    return None


def for_le(booking: Booking) -> dict:
    """The registration as LE's client takes it."""
    return {
        "booking_id": booking.id, "kind": booking.kind.value, "product_code": booking.product_code,
        "quantity_kg": booking.quantity_kg, "driver_id": booking.driver_id, "vehicle_id": booking.vehicle_id,
        "plate_no": booking.vehicle.plate_no, "trailer_no": booking.vehicle.trailer_no,
        "planned_arrival_at": booking.planned_arrival_at, "expires_at": booking.expires_at,
    }


def le_cancel_reason(booking: Booking) -> str:
    """The contract's reason code: expired, or cancelled by whoever the timeline names."""
    if booking.status is BookingStatus.expired:
        return "expired"
    cancelled = [e for e in booking.events if e.kind == "cancelled"]
    by = (cancelled[-1].data or {}).get("by") if cancelled else None
    return "cancelled_by_admin" if by == "admin" else "cancelled_by_driver"


def registered_at_le(booking: Booking, card_no: str, policy: Policy) -> None:
    """LE registered the booking and handed out its card: the driver is told (登记成功)."""
    booking.mark_synced(card_no)
    booking.le_state = LeState.registered
    add_event(booking, "le_registered", f"LE 已登记，卡号 {booking.external_ref}")
    notices.booking_registered(object_session(booking), booking, policy)


def cancelled_at_le(booking: Booking) -> None:
    booking.le_state = LeState.cancelled
    booking.mark_synced()
    add_event(booking, "le_cancelled", "LE 已退卡")


# -- operators (后台): each change audited in the same transaction ------------------------------


def admin_cancel_booking(
    db: Session, booking: Booking, admin: AdminUser, policy: Policy, *, reason: str | None, ip: str | None = None
) -> Booking:
    """取消登记 by an admin, with the reason the driver will read (and is sent)."""
    reason = audit.required_reason(reason)
    db.refresh(booking, with_for_update=True)
    before = booking.status.value
    cancel_booking(db, booking, by="admin", reason=reason)
    notices.booking_ended(db, booking, "admin", policy)
    audit.record(
        db, admin, "booking.cancel", target_type="booking", target_id=booking.id,
        summary=f"取消提送货登记 #{booking.id}（{booking.vehicle.plate_no}）", before={"status": before},
        after={"status": booking.status.value}, ip=ip, note=reason,
    )
    return booking


def admin_expire_booking(
    db: Session, booking: Booking, admin: AdminUser, policy: Policy, *, reason: str | None, ip: str | None = None
) -> Booking:
    """手动退卡: a registered booking ended before its window runs out."""
    reason = audit.required_reason(reason)
    db.refresh(booking, with_for_update=True)
    if booking.status is not BookingStatus.registered:
        raise Refusal("not_registered", f"当前状态为“{booking.status.label}”，只有已登记的预约可以退卡", status=409)
    expire_booking(db, booking.id, policy, by="admin", reason=reason, force=True)
    audit.record(
        db, admin, "booking.expire", target_type="booking", target_id=booking.id,
        summary=f"手动退卡 #{booking.id}（{booking.vehicle.plate_no}）", before={"status": BookingStatus.registered.value},
        after={"status": booking.status.value}, ip=ip, note=reason,
    )
    return booking
