"""Smart logistics (智慧物流): the rules of drivers, vehicles, bookings, documents and lanes.

No HTTP here: pushes to LE and questions to the MES are deferred to actors
(``portal.actors.le`` / ``portal.actors.mes``), which call back into this module with what
the other system answered.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import object_session

from portal import outbox, validation
from portal.models.logistics import (
    RESERVING,
    VISIT_ORDER,
    Booking,
    BookingEvent,
    BookingKind,
    BookingStatus,
    Driver,
    EntryReport,
    Lane,
    LeEvent,
    OutboundOrder,
    Product,
    StockCheck,
    Vehicle,
)
from portal.models.meta import utcnow
from portal.services import audit
from portal.services.notifications import notify
from portal.timefmt import SHANGHAI, local_time


class LogisticsError(ValueError):
    """A refusal the driver must read: Chinese ``message``, per-field ``fields``."""

    def __init__(self, code, message, fields=None, status=400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.status = status


@dataclass(frozen=True)
class Policy:
    """The plant's configurable rules (settings ``portal.logistics_*``)."""

    reservation_minutes: int = 240
    max_days_ahead: int = 7
    signoff_tolerance_percent: float = 2.0
    notify_template: str | None = None

    @classmethod
    def from_settings(cls, settings):
        return cls(
            reservation_minutes=int(settings.get("portal.logistics_reservation_minutes", 240)),
            max_days_ahead=int(settings.get("portal.logistics_max_days_ahead", 7)),
            signoff_tolerance_percent=float(settings.get("portal.logistics_signoff_tolerance_percent", 2.0)),
            notify_template=settings.get("portal.wechat_template_logistics"),
        )


def _actors():
    from portal.actors import le, mes

    return le, mes


# -- input helpers ------------------------------------------------------------------------------


class Form:
    """Collects field errors while reading a JSON body, then raises them all at once."""

    def __init__(self, data):
        self.data = data if isinstance(data, dict) else {}
        self.errors = {}

    def text(self, name, label, *, max_len, required=True):
        value = self.data.get(name)
        value = value.strip() if isinstance(value, str) else ""
        if required and not value:
            self.errors[name] = f"请填写{label}"
        elif len(value) > max_len:
            self.errors[name] = f"{label}不能超过 {max_len} 个字"
        return value or None

    def check(self, name, ok, message):
        if name not in self.errors and not ok:
            self.errors[name] = message

    def date(self, name, label, *, required=True):
        value = self.data.get(name)
        if value in (None, "") and not required:
            return None
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            self.errors[name] = f"{label}格式应为 YYYY-MM-DD"
            return None

    def instant(self, name, label):
        value = self.data.get(name)
        try:
            parsed = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            self.errors[name] = f"{label}格式应为带时区的 ISO 8601 时间，如 2026-11-26T09:00:00+08:00"
            return None
        return parsed

    def integer(self, name, label, *, minimum=1, maximum=10**9):
        value = self.data.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors[name] = f"{label}须为整数"
            return None
        if not minimum <= value <= maximum:
            self.errors[name] = f"{label}须在 {minimum} 到 {maximum} 之间"
            return None
        return value

    def done(self):
        if self.errors:
            raise LogisticsError("invalid", "提交的信息有误，请检查后重试", self.errors)


def _today():
    return utcnow().astimezone(SHANGHAI).date()


# -- 人员信息登记 -------------------------------------------------------------------------------


# Built once: every driver request asks it, and building it costs as much as running it.
_DRIVER_OF = select(Driver).where(Driver.user_id == bindparam("user_id"))


def driver_of(db, user_id):
    return db.scalar(_DRIVER_OF, {"user_id": user_id})


def require_driver(db, user_id):
    driver = driver_of(db, user_id)
    if driver is None:
        raise LogisticsError("driver_required", "请先完成人员信息登记", status=409)
    return driver


def save_driver(db, user, data):
    """Create or update the user's driver profile and sync it to LE."""
    form = Form(data)
    fields = {
        "name": form.text("name", "姓名", max_len=32),
        "id_card_no": (form.text("id_card_no", "身份证号", max_len=18) or "").upper(),
        "mobile": form.text("mobile", "手机号", max_len=11),
        "licence_no": form.text("licence_no", "驾驶证号", max_len=32),
        "qualification_no": form.text("qualification_no", "从业资格证号", max_len=32),
        "qualification_expires_on": form.date("qualification_expires_on", "从业资格证有效期"),
    }
    form.check("id_card_no", validation.id_card_ok(fields["id_card_no"]), "身份证号不正确，请核对")
    form.check("mobile", validation.mobile_ok(fields["mobile"]), "手机号格式不正确")
    if fields["qualification_expires_on"] and fields["qualification_expires_on"] < _today():
        form.errors["qualification_expires_on"] = "从业资格证已过期"
    escort = data.get("escort") if isinstance(data, dict) else None
    if escort:
        sub = Form(escort)
        fields.update(
            escort_name=sub.text("name", "押运员姓名", max_len=32),
            escort_id_card_no=(sub.text("id_card_no", "押运员身份证号", max_len=18) or "").upper(),
            escort_qualification_no=sub.text("qualification_no", "押运员从业资格证号", max_len=32),
            escort_qualification_expires_on=sub.date("qualification_expires_on", "押运员从业资格证有效期"),
        )
        sub.check("id_card_no", validation.id_card_ok(fields["escort_id_card_no"]), "押运员身份证号不正确，请核对")
        if fields["escort_qualification_expires_on"] and fields["escort_qualification_expires_on"] < _today():
            sub.errors["qualification_expires_on"] = "押运员从业资格证已过期"
        form.errors.update({f"escort.{k}": v for k, v in sub.errors.items()})
    else:
        fields.update(escort_name=None, escort_id_card_no=None, escort_qualification_no=None, escort_qualification_expires_on=None)
    form.done()

    driver = driver_of(db, user.id) or Driver(user_id=user.id)
    for name, value in fields.items():
        setattr(driver, name, value)
    driver.mark_pending()
    db.add(driver)
    db.flush()
    le, _ = _actors()
    outbox.defer(db, le.sync_driver, driver.id)
    return driver


# -- 车辆信息登记 -------------------------------------------------------------------------------


def _vehicle_fields(db, data):
    form = Form(data)
    fields = {
        "plate_no": validation.normalise_plate(form.text("plate_no", "车牌号", max_len=16)),
        "trailer_no": validation.normalise_plate(form.text("trailer_no", "罐车（挂车）号", max_len=16)),
        "tank_capacity_kg": form.integer("tank_capacity_kg", "罐体容量（千克）", maximum=100_000),
        "transport_permit_no": form.text("transport_permit_no", "道路运输证号", max_len=64),
        "tank_inspection_expires_on": form.date("tank_inspection_expires_on", "罐体检验有效期"),
    }
    form.check("plate_no", validation.plate_ok(fields["plate_no"]), "车牌号格式不正确")
    form.check("trailer_no", validation.trailer_ok(fields["trailer_no"]), "挂车号格式不正确，应如“闽A1234挂”")
    products = data.get("approved_products") if isinstance(data, dict) else None
    known = set(db.scalars(select(Product.code).where(Product.active.is_(True))))
    if not isinstance(products, list) or not products or not all(isinstance(p, str) for p in products):
        form.errors["approved_products"] = "请选择罐体适装介质"
    elif unknown := sorted(set(products) - known):
        form.errors["approved_products"] = f"未知的介质：{'、'.join(unknown)}"
    else:
        fields["approved_products"] = sorted(set(products))
    if fields["tank_inspection_expires_on"] and fields["tank_inspection_expires_on"] < _today():
        form.errors["tank_inspection_expires_on"] = "罐体检验已过期"
    form.done()
    return fields


def add_vehicle(db, driver, data):
    fields = _vehicle_fields(db, data)
    if db.scalar(select(Vehicle).where(Vehicle.driver_id == driver.id, Vehicle.plate_no == fields["plate_no"])):
        raise LogisticsError("duplicate", "该车牌已登记", {"plate_no": "该车牌已登记"}, status=409)
    vehicle = Vehicle(driver=driver, active=True, **fields)
    db.add(vehicle)
    db.flush()
    outbox.defer(db, _actors()[0].sync_vehicle, vehicle.id)
    return vehicle


def update_vehicle(db, vehicle, data):
    fields = _vehicle_fields(db, data)
    clash = db.scalar(
        select(Vehicle).where(Vehicle.driver_id == vehicle.driver_id, Vehicle.plate_no == fields["plate_no"], Vehicle.id != vehicle.id)
    )
    if clash:
        raise LogisticsError("duplicate", "该车牌已登记", {"plate_no": "该车牌已登记"}, status=409)
    for name, value in fields.items():
        setattr(vehicle, name, value)
    vehicle.active = True
    vehicle.mark_pending()
    outbox.defer(db, _actors()[0].sync_vehicle, vehicle.id)
    return vehicle


def remove_vehicle(db, vehicle):
    active = db.scalar(
        select(func.count()).select_from(Booking).where(Booking.vehicle_id == vehicle.id, Booking.status.in_(RESERVING + (BookingStatus.checking,)))
    )
    if active:
        raise LogisticsError("vehicle_in_use", "该车辆有未完成的提送货登记，不能删除", status=409)
    vehicle.active = False
    vehicle.mark_pending()
    outbox.defer(db, _actors()[0].sync_vehicle, vehicle.id)


def _check_own_vehicle(vehicle, driver):
    if vehicle is None or vehicle.driver_id != driver.id or not vehicle.active:
        raise LogisticsError("not_found", "车辆不存在", status=404)


def vehicle_of(db, driver, vehicle_id):
    vehicle = db.get(Vehicle, vehicle_id)
    _check_own_vehicle(vehicle, driver)
    return vehicle


# -- 车辆入场报备 -------------------------------------------------------------------------------


def report_entry(db, driver, data):
    form = Form(data)
    vehicle_id = form.integer("vehicle_id", "车辆")
    expected_on = form.date("expected_on", "预计入场日期")
    purpose = form.text("purpose", "入场事由", max_len=200)
    if expected_on and expected_on < _today():
        form.errors["expected_on"] = "预计入场日期不能早于今天"
    form.done()
    vehicle = vehicle_of(db, driver, vehicle_id)
    report = EntryReport(driver_id=driver.id, vehicle=vehicle, expected_on=expected_on, purpose=purpose)
    db.add(report)
    db.flush()
    outbox.defer(db, _actors()[0].push_entry_report, report.id)
    return report


# -- 提送货登记 ---------------------------------------------------------------------------------


def add_event(booking, kind, message, **data):
    # Added to the session rather than appended to booking.events: appending would first load
    # the whole timeline of a booking whose events are not loaded yet (every actor's case).
    object_session(booking).add(BookingEvent(booking=booking, kind=kind, message=message, data=data or None, at=utcnow()))


def create_booking(db, driver, data, policy, now=None):
    """装货人查验 first; then a pickup waits for the MES (checking), a delivery is registered."""
    now = now or utcnow()
    form = Form(data)
    kind = data.get("kind") if isinstance(data, dict) else None
    form.check("kind", kind in ("pickup", "delivery"), "请选择提货或送货")
    product_code = form.text("product_code", "品名", max_len=32)
    quantity = form.integer("quantity_kg", "数量（千克）", maximum=100_000)
    vehicle_id = form.integer("vehicle_id", "车辆")
    planned = form.instant("planned_arrival_at", "计划到厂时间")
    if planned and planned <= now:
        form.errors["planned_arrival_at"] = "计划到厂时间须晚于现在"
    elif planned and planned > now + timedelta(days=policy.max_days_ahead):
        form.errors["planned_arrival_at"] = f"只能登记 {policy.max_days_ahead} 天内的到厂计划"
    form.done()

    # Vehicle and product in one query: a round trip less on every booking.
    row = db.execute(
        select(Vehicle, Product).outerjoin(Product, Product.code == product_code).where(Vehicle.id == vehicle_id)
    ).first()
    vehicle, product = row if row is not None else (None, None)
    _check_own_vehicle(vehicle, driver)
    if product is None or not product.active:
        raise LogisticsError("invalid", "该品名不可登记", {"product_code": "未知或已停用的品名"})
    arrival_day = planned.astimezone(SHANGHAI).date()
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
        refusals.append(f"登记数量 {quantity} 千克超过罐体容量 {vehicle.tank_capacity_kg} 千克")
    if refusals:
        raise LogisticsError("check_failed", "装货人查验未通过：" + "；".join(refusals), {"reasons": refusals}, status=422)

    booking = Booking(
        driver=driver, vehicle=vehicle, product=product, kind=BookingKind(kind), quantity_kg=quantity,
        planned_arrival_at=planned, status=BookingStatus.checking, reserved_kg=0, le_state="none",
    )
    db.add(booking)
    add_event(booking, "created", f"提交{booking.kind_label}登记：{product.name} {quantity} 千克")
    if booking.kind is BookingKind.pickup:
        # Through the relationship: one flush writes all three rows, and the answer's
        # booking.stock_checks needs no query.
        check = StockCheck(booking=booking)
        db.add(check)
        db.flush()
        outbox.defer(db, _actors()[1].check_stock, check.id)
    else:
        db.flush()
        _register(db, booking, policy, now)
    return booking


def _window(product, policy):
    return timedelta(minutes=product.reservation_minutes or policy.reservation_minutes)


def _register(db, booking, policy, now):
    le, _ = _actors()
    booking.status = BookingStatus.registered
    booking.expires_at = max(booking.planned_arrival_at, now) + _window(booking.product, policy)
    add_event(booking, "registered", f"登记成功，请于 {local_time(booking.expires_at, '%m-%d %H:%M')} 前入厂，逾期自动退卡")
    booking.mark_pending()
    outbox.defer(db, le.sync_booking, booking.id)
    outbox.defer(db, le.expire_booking, booking.id, eta=booking.expires_at)


def reserved_kg(db, product_code):
    return db.scalar(
        select(func.coalesce(func.sum(Booking.reserved_kg), 0)).where(
            Booking.product_code == product_code, Booking.status.in_(RESERVING)
        )
    )


def decide_stock(db, check, stock_kg, policy, now=None):
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
        add_event(booking, "stock_ok", f"库存核对通过：可用 {available} 千克", **figures)
        _register(db, booking, policy, now)
    else:
        booking.status = BookingStatus.rejected
        booking.reason = (
            f"{product.name}罐区可用库存不足：库存 {stock_kg} 千克，已占用 {reserved} 千克，"
            f"本次 {booking.quantity_kg} 千克，须保留 {product.threshold_kg} 千克"
        )
        add_event(booking, "rejected", booking.reason, **figures)
    return booking


def _release(booking):
    booking.reserved_kg = 0


def cancel_booking(db, booking, *, by, reason=None):
    """The driver or an admin cancels a booking that has not entered the plant."""
    db.refresh(booking, with_for_update=True)
    if booking.status not in (BookingStatus.checking, BookingStatus.registered):
        raise LogisticsError("not_cancellable", f"当前状态为“{booking.status_label}”，不能取消", status=409)
    booking.status = BookingStatus.cancelled
    booking.reason = reason or ("驾驶员取消" if by == "driver" else "管理员取消")
    _release(booking)
    add_event(booking, "cancelled", booking.reason, by=by)
    booking.mark_pending()
    outbox.defer(db, _actors()[0].sync_booking, booking.id)
    return booking


def expire_booking(db, booking_id, policy, *, now=None, by="system", reason=None, force=False):
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
    _release(booking)
    add_event(booking, "expired", booking.reason, by=by)
    booking.mark_pending()
    outbox.defer(db, _actors()[0].sync_booking, booking.id)
    _notify_driver(db, booking, policy, "预约已退卡", "逾期未入厂，已退卡，请重新登记")
    return True


def expire_overdue(session_factory, policy, now=None):
    """The periodic safety net behind the delayed expiry messages; returns how many expired."""
    from portal.db import Transaction

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


def booking_of(db, driver, booking_id):
    booking = db.get(Booking, booking_id)
    if booking is None or booking.driver_id != driver.id:
        raise LogisticsError("not_found", "登记记录不存在", status=404)
    return booking


def _notify_driver(db, booking, policy, topic, detail):
    user = booking.driver.user
    if not policy.notify_template or not user.oa_openid:
        return
    notify(
        db, user, topic=topic, template_id=policy.notify_template,
        data={"thing1": f"{booking.kind_label} {booking.product.name}", "thing2": detail, "time3": local_time(utcnow(), "%Y-%m-%d %H:%M")},
    )


# -- LE events ----------------------------------------------------------------------------------


def record_le_event(db, event_id, type_, occurred_at, data):
    """Insert the event once; False when this event id was seen before."""
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    inserted = db.execute(
        insert(LeEvent)
        .values(event_id=event_id, type=type_, occurred_at=occurred_at, data=data, result="received", received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(LeEvent.event_id)
    ).first()
    return inserted is not None


def apply_le_event(db, event_id, type_, occurred_at, data, policy):
    """Apply one LE event: 'applied', 'duplicate' or 'ignored'. Order does not matter."""
    if not record_le_event(db, event_id, type_, occurred_at, data):
        return "duplicate"
    if type_ == "lane.changed":
        result = _apply_lane(db, data, occurred_at)
    elif type_ == "outbound_order.created":
        result = _apply_order(db, data, occurred_at)
    else:
        result = _apply_visit(db, type_, data, occurred_at, policy)
    db.get(LeEvent, event_id).result = result
    return result


_VISIT_STEP = {
    "truck.entered": (BookingStatus.entered, "entered_at", "车辆已入厂"),
    "loading.started": (BookingStatus.loading, None, "开始装车"),
    "truck.loaded": (BookingStatus.loaded, "loaded_at", "装车完成"),
    "truck.exited": (BookingStatus.completed, "exited_at", "车辆已出厂"),
}


def _advance(booking, status):
    """Move forward along the visit, never backwards (events may arrive out of order)."""
    if VISIT_ORDER.index(status) > VISIT_ORDER.index(booking.status):
        booking.status = status
        if status not in RESERVING:
            _release(booking)


def _apply_visit(db, type_, data, occurred_at, policy):
    booking = db.get(Booking, data.get("booking_id"), with_for_update=True) if isinstance(data.get("booking_id"), int) else None
    if booking is None:
        return "ignored"
    if type_ == "queue.called":
        if booking.called_at is None and booking.status in VISIT_ORDER:
            booking.called_at = occurred_at
            booking.lane_code = data.get("lane_code") or booking.lane_code
            lane = db.get(Lane, booking.lane_code) if booking.lane_code else None
            message = f"请前往{lane.name if lane else booking.lane_code}装车"
            add_event(booking, "called", message)
            _notify_driver(db, booking, policy, "装车叫号", message)
            return "applied"
        return "ignored"
    status, stamp, message = _VISIT_STEP[type_]
    if booking.status not in VISIT_ORDER:
        add_event(booking, "late_event", f"LE 报告“{message}”，但该登记状态为“{booking.status_label}”，未处理")
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


def _apply_order(db, data, occurred_at):
    booking = db.get(Booking, data.get("booking_id")) if isinstance(data.get("booking_id"), int) else None
    order = upsert_order(db, {**data, "status": "shipped", "shipped_at": occurred_at}, created_at=occurred_at)
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


def upsert_order(db, data, created_at=None):
    """An outbound order as LE describes it; our sign-off is never undone by an older report."""
    order_no, driver_id, booking_id = data.get("order_no"), data.get("driver_id"), data.get("booking_id")
    if not isinstance(order_no, str) or not order_no or not isinstance(driver_id, int) or db.get(Driver, driver_id) is None:
        return None
    booking_known = isinstance(booking_id, int) and db.get(Booking, booking_id) is not None
    order = db.scalar(select(OutboundOrder).where(OutboundOrder.order_no == order_no).with_for_update())
    if order is None:
        if not data.get("product_code"):
            return None  # a new order names its product
        order = OutboundOrder(order_no=order_no, status="created", created_at=created_at or utcnow(), planned_quantity_kg=0)
    order.driver_id = driver_id
    if booking_known:
        order.booking_id = booking_id
    order.product_code = data.get("product_code") or order.product_code
    order.planned_quantity_kg = data.get("planned_quantity_kg") or order.planned_quantity_kg
    if data.get("actual_quantity_kg") is not None:
        order.actual_quantity_kg = data["actual_quantity_kg"]
    rank = {"created": 0, "shipped": 1, "signed": 2}
    if rank.get(data.get("status"), 0) > rank.get(order.status, 0) and order.status != "signed":
        order.status = data["status"]
    if data.get("shipped_at") and order.shipped_at is None:
        shipped = data["shipped_at"]
        order.shipped_at = shipped if isinstance(shipped, datetime) else datetime.fromisoformat(shipped)
    db.add(order)
    db.flush()
    return order


def _apply_lane(db, data, occurred_at):
    code = data.get("code")
    if not isinstance(code, str) or not code:
        return "ignored"
    lane = db.get(Lane, code, with_for_update=True) or Lane(code=code)
    if lane.updated_at is not None and occurred_at < lane.updated_at:
        return "ignored"  # an older picture of the lane than the one we have
    apply_lane(db, lane, data, occurred_at)
    return "applied"


def apply_lane(db, lane, data, at):
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


# -- 到货签收 -----------------------------------------------------------------------------------


def sign_order(db, driver, order_no, data, policy):
    order = db.scalar(select(OutboundOrder).where(OutboundOrder.order_no == order_no).with_for_update())
    if order is None or order.driver_id != driver.id:
        raise LogisticsError("not_found", "单据不存在", status=404)
    if order.status == "signed":
        raise LogisticsError("already_signed", "该单据已签收，不能重复签收", status=409)
    if order.status != "shipped" or not order.actual_quantity_kg:
        raise LogisticsError("not_shipped", "该单据尚未发货，不能签收", status=409)
    form = Form(data)
    quantity = form.integer("signed_quantity_kg", "签收数量（千克）", maximum=100_000)
    note = form.text("note", "备注", max_len=200, required=False)
    tolerance = order.actual_quantity_kg * policy.signoff_tolerance_percent / 100
    if quantity is not None and abs(quantity - order.actual_quantity_kg) > tolerance:
        form.errors["signed_quantity_kg"] = (
            f"签收数量与发货数量 {order.actual_quantity_kg} 千克相差超过 {policy.signoff_tolerance_percent:g}%，请核对或联系调度"
        )
    form.done()
    order.status = "signed"
    order.signed_quantity_kg, order.signed_note, order.signed_at = quantity, note, utcnow()
    order.mark_pending()
    outbox.defer(db, _actors()[0].push_signoff, order.id)
    return order


def orders_of(db, driver, *, status=None, since=None, until=None, before=None, limit=20):
    """The driver's documents, newest first, a page at a time (keyset on id)."""
    query = select(OutboundOrder).where(OutboundOrder.driver_id == driver.id)
    if status:
        query = query.where(OutboundOrder.status == status)
    if since:
        query = query.where(OutboundOrder.created_at >= datetime.combine(since, datetime.min.time(), SHANGHAI))
    if until:
        query = query.where(OutboundOrder.created_at < datetime.combine(until + timedelta(days=1), datetime.min.time(), SHANGHAI))
    if before:
        query = query.where(OutboundOrder.id < before)
    return db.scalars(query.order_by(OutboundOrder.id.desc()).limit(limit)).all()


# -- admin (后台) ---------------------------------------------------------------------------------
# What the admin pages change; each change is audited in the same transaction.

PRODUCT_CODE = re.compile(r"^[A-Z0-9_]{2,32}$")
#: Bounds of a product's own reservation window (minutes): ten minutes to a week.
WINDOW_MINUTES = (10, 10_080)
#: Certificates expiring within this many days are flagged on the admin pages.
EXPIRY_WARNING_DAYS = 30


def expiry_warning(day, today):
    """'expired', 'soon' (within the warning days) or None; the expiry day itself is still valid."""
    if day is None:
        return None
    if day < today:
        return "expired"
    if day <= today + timedelta(days=EXPIRY_WARNING_DAYS):
        return "soon"
    return None


def _admin_reason(reason):
    reason = (reason or "").strip()
    if not reason:
        raise LogisticsError("reason_required", "请填写操作原因", {"reason": "请填写操作原因"})
    if len(reason) > 200:
        raise LogisticsError("reason_too_long", "操作原因不能超过 200 个字", {"reason": "操作原因不能超过 200 个字"})
    return reason


def admin_cancel_booking(db, booking, admin, *, reason, ip=None):
    """取消登记 by an admin, with the reason the driver will read."""
    reason = _admin_reason(reason)
    db.refresh(booking, with_for_update=True)
    before = booking.status.value
    cancel_booking(db, booking, by="admin", reason=reason)
    audit.record(
        db, admin, "booking.cancel", target_type="booking", target_id=booking.id,
        summary=f"取消提送货登记 #{booking.id}（{booking.vehicle.plate_no}）", before={"status": before},
        after={"status": booking.status.value}, ip=ip, note=reason,
    )
    return booking


def admin_expire_booking(db, booking, admin, policy, *, reason, ip=None):
    """手动退卡: a registered booking ended before its window runs out."""
    reason = _admin_reason(reason)
    db.refresh(booking, with_for_update=True)
    if booking.status is not BookingStatus.registered:
        raise LogisticsError("not_registered", f"当前状态为“{booking.status_label}”，只有已登记的预约可以退卡", status=409)
    expire_booking(db, booking.id, policy, by="admin", reason=reason, force=True)
    audit.record(
        db, admin, "booking.expire", target_type="booking", target_id=booking.id,
        summary=f"手动退卡 #{booking.id}（{booking.vehicle.plate_no}）", before={"status": BookingStatus.registered.value},
        after={"status": booking.status.value}, ip=ip, note=reason,
    )
    return booking


def _whole_number(form, name, label, *, minimum, maximum, required=True):
    """A form field typed as text that must hold an integer within bounds."""
    value = form.data.get(name)
    value = value.strip() if isinstance(value, str) else ""
    if not value:
        if required:
            form.errors[name] = f"请填写{label}"
        return None
    if not re.fullmatch(r"-?\d{1,12}", value):
        form.errors[name] = f"{label}须为整数"
        return None
    number = int(value)
    if not minimum <= number <= maximum:
        form.errors[name] = f"{label}须在 {minimum} 到 {maximum} 之间"
        return None
    return number


def _product_fields(form):
    return {
        "name": form.text("name", "品名", max_len=64),
        "threshold_kg": _whole_number(form, "threshold_kg", "存量阈值（千克）", minimum=0, maximum=10**9),
        "reservation_minutes": _whole_number(
            form, "reservation_minutes", "预约有效时长（分钟）", minimum=WINDOW_MINUTES[0], maximum=WINDOW_MINUTES[1], required=False
        ),
    }


def _product_state(product):
    return {
        "name": product.name, "threshold_kg": product.threshold_kg,
        "reservation_minutes": product.reservation_minutes, "active": product.active,
    }


def create_product(db, data, admin, *, ip=None):
    """A new product from the admin form (strings); LogisticsError with every field at fault."""
    form = Form(data)
    code = (form.text("code", "品名代码", max_len=32) or "").upper()
    form.check("code", PRODUCT_CODE.match(code), "品名代码须为 2–32 位大写字母、数字或下划线")
    fields = _product_fields(form)
    form.check("code", db.get(Product, code) is None, "该品名代码已存在")
    form.done()
    product = Product(code=code, active=True, **fields)
    db.add(product)
    db.flush()
    audit.record(
        db, admin, "product.create", target_type="product", target_id=code, summary=f"新增品名 {code}（{product.name}）",
        after=_product_state(product), ip=ip,
    )
    return product


def update_product(db, product, data, admin, *, ip=None):
    """Change name, threshold, window and active; False when nothing changed."""
    form = Form(data)
    fields = _product_fields(form)
    form.done()
    fields["active"] = data.get("active") == "on"
    before = _product_state(product)
    if before == fields:
        return False
    for name, value in fields.items():
        setattr(product, name, value)
    audit.record(
        db, admin, "product.update", target_type="product", target_id=product.code,
        summary=f"修改品名 {product.code}（{product.name}）", before=before, after=_product_state(product), ip=ip,
    )
    return True
