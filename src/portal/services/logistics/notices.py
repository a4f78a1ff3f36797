"""通知司机: what a driver is told about their bookings, documents and certificates, and which
page each message opens.

Each message is queued once (its dedupe key) in the transaction of the change it reports, by
the channel the driver has (portal.services.notifications.tell): a template message on the
Official Account (``portal.wechat_template_logistics``), else a mini-program subscribe message
of the kind's template (``portal.wechat_subscribe_<kind>``) when the driver accepted one.
Every message carries the same keys, so one template of each can show them all:

=======  ======  ==================================
key      meaning  example
=======  ======  ==================================
thing1   业务     提货 32%液碱 25 吨
thing2   状态     登记成功
thing3   详情     卡号 LE-C-000123
thing4   提示     请于 11-26 13:00 前入厂
time5    时间     2026-11-26 09:00
=======  ======  ==================================

WeChat cuts each value to 20 characters: a detail comes first, the page has the rest.
"""

from datetime import date, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload, sessionmaker

from portal.db import Transaction
from portal.models.logistics import Booking, BookingStatus, Driver, OrderStatus, OutboundOrder, Vehicle
from portal.models.meta import utcnow
from portal.quantities import tonnes
from portal.services.notifications import Message, tell
from portal.timefmt import local_time, today

from .drivers import EXPIRY_WARNING_DAYS
from .policy import Policy

H5 = "/h5/logistics"


def _send(db: Session, driver: Driver, subscribe_template: str | None, message: Message, policy: Policy) -> None:
    tell(db, driver.user, message, template_id=policy.notify_template, subscribe_template_id=subscribe_template)


def _data(subject: str, state: str, detail: str, hint: str) -> dict:
    return {"thing1": subject, "thing2": state, "thing3": detail, "thing4": hint, "time5": local_time(utcnow(), "%Y-%m-%d %H:%M")}


def _subject(booking: Booking) -> str:
    return f"{booking.kind.label} {booking.product.name} {tonnes(booking.quantity_kg)}"


# -- bookings ---------------------------------------------------------------------------------------


def booking_registered(db: Session, booking: Booking, policy: Policy) -> None:
    """登记成功: LE handed out the card; the driver must enter before the deadline."""
    deadline = local_time(booking.expires_at, "%m-%d %H:%M")
    data = _data(_subject(booking), "登记成功", f"卡号 {booking.external_ref}", f"请于 {deadline} 前入厂")
    message = Message("登记成功", data, f"{H5}/bookings/{booking.id}/result", f"booking:{booking.id}:registered")
    _send(db, booking.driver, policy.subscribe_booking_result, message, policy)


def booking_rejected(db: Session, booking: Booking, policy: Policy) -> None:
    """登记被拒: the product is short (the figures stay with the operators)."""
    data = _data(_subject(booking), "登记被拒", f"{booking.product.name}库存不足", "请减少数量或改日再登记")
    message = Message("登记被拒", data, f"{H5}/bookings/{booking.id}/result", f"booking:{booking.id}:rejected")
    _send(db, booking.driver, policy.subscribe_booking_result, message, policy)


def booking_ended(db: Session, booking: Booking, by: str, policy: Policy) -> None:
    """Cancelled or 退卡 by an admin (``by`` "admin": the admin's reason), or 退卡 on expiry (by
    the system). A driver's own cancellation is not told: they did it."""
    if by == "admin":
        state = "登记已取消" if booking.status is BookingStatus.cancelled else "已退卡"
        detail, hint = f"原因：{booking.reason}", "如有疑问请联系调度"
    else:
        state, hint = "已退卡", "请重新登记"
        detail = f"未在 {local_time(booking.expires_at, '%m-%d %H:%M')} 前入厂"
    data = _data(_subject(booking), state, detail, hint)
    message = Message(state, data, f"{H5}/bookings/{booking.id}", f"booking:{booking.id}:ended")
    _send(db, booking.driver, policy.subscribe_booking_ended, message, policy)


def queue_called(db: Session, booking: Booking, lane_name: str, policy: Policy) -> None:
    """装车叫号: the lane to drive to."""
    data = _data(_subject(booking), "装车叫号", f"请前往{lane_name}", f"卡号 {booking.external_ref or '—'}")
    # Once per call: LE may call a truck again later (it missed its turn), and that is news.
    called = int(booking.called_at.timestamp()) if booking.called_at else 0
    message = Message("装车叫号", data, f"{H5}/queue", f"booking:{booking.id}:called:{called}")
    _send(db, booking.driver, policy.subscribe_queue_called, message, policy)


# -- documents --------------------------------------------------------------------------------------


def order_shipped(db: Session, order: OutboundOrder, policy: Policy) -> None:
    """已出库待签收: the order can be signed for (once, whichever report makes it signable)."""
    if order.status is not OrderStatus.shipped or not order.actual_quantity_kg:
        return
    driver = db.get(Driver, order.driver_id)
    product = order.product.name if order.product else order.product_code
    subject = f"提货 {product} {tonnes(order.actual_quantity_kg)}"
    # The number alone: a template value holds 20 characters, as LE's numbers do.
    data = _data(subject, "已出库待签收", order.order_no, "到货后请核对数量并签收")
    message = Message("已出库待签收", data, f"{H5}/orders/{order.order_no}/sign", f"order:{order.id}:shipped")
    _send(db, driver, policy.subscribe_order_shipped, message, policy)


# -- certificates (a daily job) ---------------------------------------------------------------------


def _expiring(
    db: Session, driver: Driver, document: str, key: str, expires_on: date, subject: str, path: str, policy: Policy
) -> None:
    data = _data(subject, "证件即将到期", f"{document} {expires_on.isoformat()} 到期", "请及时更新证件信息")
    message = Message(f"{document}即将到期", data, path, f"expiry:{key}:{expires_on.isoformat()}")
    _send(db, driver, policy.subscribe_expiry_warning, message, policy)


def warn_expiring(session_factory: sessionmaker, policy: Policy, on: date | None = None) -> None:
    """证件到期提醒: the driver's and the escort's qualification and each active vehicle's tank
    inspection expiring within the warning days — once per document and expiry date (a renewed
    document that expires soon again is told again)."""
    on = on or today()
    until = on + timedelta(days=EXPIRY_WARNING_DAYS)
    with Transaction(session_factory) as db:
        drivers = db.scalars(
            select(Driver)
            .where(or_(
                Driver.qualification_expires_on.between(on, until), Driver.escort_qualification_expires_on.between(on, until),
            ))
            .options(joinedload(Driver.user))
        )
        for driver in drivers:
            if on <= driver.qualification_expires_on <= until:
                _expiring(db, driver, "从业资格证", f"driver:{driver.id}:qualification", driver.qualification_expires_on,
                          f"驾驶员 {driver.name}", f"{H5}/driver", policy)
            escort_on = driver.escort_qualification_expires_on
            if escort_on and on <= escort_on <= until:
                _expiring(db, driver, "押运员资格证", f"driver:{driver.id}:escort", escort_on,
                          f"押运员 {driver.escort_name}", f"{H5}/driver", policy)
        vehicles = db.scalars(
            select(Vehicle)
            .where(Vehicle.active.is_(True), Vehicle.tank_inspection_expires_on.between(on, until))
            .options(joinedload(Vehicle.driver).joinedload(Driver.user))
        )
        for vehicle in vehicles:
            _expiring(db, vehicle.driver, "罐体检验", f"vehicle:{vehicle.id}:tank", vehicle.tank_inspection_expires_on,
                      f"车辆 {vehicle.plate_no}", f"{H5}/vehicles", policy)
