"""What smart logistics shows on 概览 and the lanes board: the day at the gate, the trucks inside,
the lanes, the stock, the certificates running out and the records LE or the MES did not take.

Each panel function reads its figures in a few queries and returns the values its template
(``templates/admin/logistics/panels/``) shows; the area's include registers them. Days are
Beijing days.
"""

from collections import Counter
from datetime import date, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, contains_eager, joinedload

from portal.models.logistics import (
    Booking,
    BookingStatus,
    Driver,
    EntryReport,
    Lane,
    OutboundOrder,
    StockCheck,
    Vehicle,
)
from portal.models.sync import SyncState
from portal.timefmt import SHANGHAI, local_midnight, today

from .drivers import EXPIRY_WARNING_DAYS
from .queries import products_with_reservations

#: In the plant: through the gate and not out yet.
INSIDE = (BookingStatus.entered, BookingStatus.loading, BookingStatus.loaded)
#: Today's planned arrivals, by what became of them (bookings refused or withdrawn are not coming).
ARRIVED = (*INSIDE, BookingStatus.completed)
EXPECTED = (BookingStatus.checking, BookingStatus.registered)
MISSED = (BookingStatus.expired,)
#: Rows a list on a panel shows; the page it links to has the rest.
PANEL_ROWS = 10


def _day(on: date) -> tuple:
    return local_midnight(on), local_midnight(on + timedelta(days=1))


def _with_people(query: Select) -> Select:
    return (
        query.join(Booking.vehicle).join(Booking.driver).join(Booking.product)
        .options(contains_eager(Booking.vehicle), contains_eager(Booking.driver), contains_eager(Booking.product))
    )


def arrivals(db: Session, on: date | None = None) -> dict:
    """今日计划到厂: the day's bookings by the hour they planned to arrive — arrived, still
    expected, and 退卡 for not coming."""
    on = on or today()
    start, end = _day(on)
    rows = db.execute(
        select(Booking.planned_arrival_at, Booking.status)
        .where(Booking.planned_arrival_at >= start, Booking.planned_arrival_at < end)
        .where(Booking.status.in_(ARRIVED + EXPECTED + MISSED))
    ).all()
    hours = {name: [0] * 24 for name in ("arrived", "expected", "missed")}
    for planned, status in rows:
        group = "arrived" if status in ARRIVED else "expected" if status in EXPECTED else "missed"
        hours[group][planned.astimezone(SHANGHAI).hour] += 1
    return {"day": on, "labels": [f"{hour}时" for hour in range(24)], **hours, **{f"{k}_total": sum(v) for k, v in hours.items()}}


def trucks_inside(db: Session) -> dict:
    """厂内车辆: trucks through the gate and not out yet, the longest inside first."""
    trucks = db.scalars(
        _with_people(select(Booking)).where(Booking.status.in_(INSIDE)).order_by(Booking.entered_at, Booking.id)
    ).all()
    waiting = [b for b in trucks if b.status is BookingStatus.entered and b.queue_position is None]
    return {"trucks": trucks, "unqueued": len(waiting)}


def unqueued(db: Session) -> list[Booking]:
    """Trucks inside the plant that no lane has queued yet (已入厂、未排队), the longest first."""
    return db.scalars(
        _with_people(select(Booking))
        .where(Booking.status == BookingStatus.entered, Booking.queue_position.is_(None))
        .order_by(Booking.entered_at, Booking.id)
    ).all()


def lanes(db: Session) -> dict:
    """装车道: each lane's status and counts as LE reports them, and the trucks we see queued there."""
    queued = dict(
        db.execute(
            select(Booking.lane_code, func.count()).where(Booking.queue_position.is_not(None)).group_by(Booking.lane_code)
        ).all()
    )
    all_lanes = db.scalars(select(Lane).order_by(Lane.code)).all()
    return {"lanes": [(lane, queued.get(lane.code, 0)) for lane in all_lanes]}


def bookings_by_status(db: Session, on: date | None = None) -> dict:
    """今日登记状态: the day's bookings (by planned arrival) counted by status, in the order of a visit."""
    on = on or today()
    start, end = _day(on)
    counts = Counter(
        dict(
            db.execute(
                select(Booking.status, func.count())
                .where(Booking.planned_arrival_at >= start, Booking.planned_arrival_at < end)
                .group_by(Booking.status)
            ).all()
        )
    )
    return {"day": on, "counts": [(status, counts[status]) for status in BookingStatus], "total": sum(counts.values())}


def stock(db: Session) -> dict:
    """库存与占用: per active product the MES stock, what active pickups hold, the threshold that
    must remain, and what is left to book (stock − held − threshold); the chart's series in 吨."""
    rows = []
    for product, reserved in products_with_reservations(db):
        if not product.active:
            continue
        free = None if product.stock_kg is None else max(0, product.stock_kg - reserved - product.threshold_kg)
        rows.append({"product": product, "reserved_kg": reserved, "free_kg": free})
    series = {
        name: [_tonnes(kg) for kg in values]
        for name, values in (
            ("stock", [row["product"].stock_kg or 0 for row in rows]),
            ("reserved", [row["reserved_kg"] for row in rows]),
            ("threshold", [row["product"].threshold_kg for row in rows]),
        )
    }
    return {"rows": rows, "names": [row["product"].name for row in rows], **series}


def _tonnes(kg: int) -> float:
    return round(kg / 1000, 3)


def expiring(db: Session, on: date | None = None) -> dict:
    """证件到期: certificates and active vehicles' tank inspections running out within the
    warning days, or run out within as many days past (older ones are on the drivers' list)."""
    on = on or today()
    low, high = on - timedelta(days=EXPIRY_WARNING_DAYS), on + timedelta(days=EXPIRY_WARNING_DAYS)
    found = []
    for driver in db.scalars(
        select(Driver).where(
            or_(
                Driver.qualification_expires_on.between(low, high),
                Driver.escort_qualification_expires_on.between(low, high),
            )
        )
    ):
        if low <= driver.qualification_expires_on <= high:
            found.append((driver.qualification_expires_on, driver, "从业资格证"))
        day = driver.escort_qualification_expires_on
        if day and low <= day <= high:
            found.append((day, driver, f"押运员 {driver.escort_name} 从业资格证"))
    for vehicle in db.scalars(
        select(Vehicle)
        .options(joinedload(Vehicle.driver))
        .where(Vehicle.active.is_(True), Vehicle.tank_inspection_expires_on.between(low, high))
    ):
        found.append((vehicle.tank_inspection_expires_on, vehicle.driver, f"{vehicle.plate_no} 罐体检验"))
    found.sort(key=lambda item: (item[0], item[1].id))
    items = [{"expires_on": day, "days_left": (day - on).days, "driver": driver, "what": what} for day, driver, what in found]
    return {"items": items[:PANEL_ROWS], "total": len(items), "warning_days": EXPIRY_WARNING_DAYS}


def _order_page(order: OutboundOrder) -> tuple:
    return ("booking", order.booking_id, order.order_no) if order.booking_id else ("driver", order.driver_id, order.order_no)


#: The records pushed to LE or asked of the MES, with what an operator calls them, and the
#: booking or driver page that shows each.
_SYNCED = (
    (Driver, "人员信息", lambda r: ("driver", r.id, r.name)),
    (Vehicle, "车辆信息", lambda r: ("driver", r.driver_id, r.plate_no)),
    (EntryReport, "车辆入场报备", lambda r: ("driver", r.driver_id, f"报备 #{r.id}")),
    (Booking, "提送货登记", lambda r: ("booking", r.id, f"登记 #{r.id}")),
    (StockCheck, "库存核对", lambda r: ("booking", r.booking_id, f"登记 #{r.booking_id}")),
    (OutboundOrder, "出库单签收", _order_page),
)


def sync_failures(db: Session) -> dict:
    """同步失败: records LE or the MES did not take for good, the latest of each kind first."""
    counts, items = [], []
    for model, label, describe in _SYNCED:
        failed = model.sync_state == SyncState.failed
        count = db.scalar(select(func.count()).select_from(model).where(failed))
        if not count:
            continue
        counts.append((label, count))
        for record in db.scalars(select(model).where(failed).order_by(model.id.desc()).limit(PANEL_ROWS)):
            page, page_id, name = describe(record)
            items.append({"label": label, "page": page, "id": page_id, "name": name, "error": record.sync_error})
    return {"counts": counts, "total": sum(count for _, count in counts), "items": items[:PANEL_ROWS]}

