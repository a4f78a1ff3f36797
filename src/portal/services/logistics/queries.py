"""What the driver's API and the operators' pages read. Lists the pages show a page at a time
are returned as queries (newest first) for the pagers; the rest as rows."""

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import ScalarResult, Select, and_, func, or_, select
from sqlalchemy.orm import Session, contains_eager, joinedload, selectinload

from portal import validation
from portal.models.logistics import (
    RESERVING,
    Booking,
    BookingStatus,
    Driver,
    EntryReport,
    Lane,
    LeEvent,
    LeEventResult,
    OutboundOrder,
    Product,
    StockCheck,
    Vehicle,
)
from portal.refusal import Refusal
from portal.timefmt import local_midnight

from .drivers import EXPIRY_WARNING_DAYS

#: Statuses in which a driver's truck may stand in a lane's queue.
QUEUEING = (BookingStatus.registered, BookingStatus.entered, BookingStatus.loading)


# -- the driver's API ------------------------------------------------------------------------------


def entry_reports_of(db: Session, driver: Driver, limit: int) -> list[EntryReport]:
    return db.scalars(
        select(EntryReport).where(EntryReport.driver_id == driver.id).order_by(EntryReport.id.desc()).limit(limit)
    ).all()


def active_products(db: Session) -> list[Product]:
    return db.scalars(select(Product).where(Product.active.is_(True)).order_by(Product.code)).all()


def bookings_of(
    db: Session, driver: Driver, *, limit: int, before: int | None = None, status: BookingStatus | None = None
) -> list[Booking]:
    """A page of the driver's bookings, newest first, with what their presentation reads, in
    two queries instead of one per booking."""
    query = (
        select(Booking)
        .where(Booking.driver_id == driver.id)
        .options(
            joinedload(Booking.vehicle, innerjoin=True),
            joinedload(Booking.product, innerjoin=True),
            joinedload(Booking.lane),
            selectinload(Booking.stock_checks),
        )
    )
    if before:
        query = query.where(Booking.id < before)
    if status:
        query = query.where(Booking.status == status)
    return db.scalars(query.order_by(Booking.id.desc()).limit(limit)).all()


def orders_of(
    db: Session, driver: Driver, *, status: str | None = None, since: date | None = None, until: date | None = None,
    before: int | None = None, limit: int = 20,
) -> list[OutboundOrder]:
    """The driver's documents, newest first, a page at a time (keyset on id), with their products."""
    query = select(OutboundOrder).where(OutboundOrder.driver_id == driver.id).options(joinedload(OutboundOrder.product))
    if status:
        query = query.where(OutboundOrder.status == status)
    if since:
        query = query.where(OutboundOrder.created_at >= local_midnight(since))
    if until:
        query = query.where(OutboundOrder.created_at < local_midnight(until + timedelta(days=1)))
    if before:
        query = query.where(OutboundOrder.id < before)
    return db.scalars(query.order_by(OutboundOrder.id.desc()).limit(limit)).all()


def order_of(db: Session, driver: Driver, order_no: str) -> OutboundOrder:
    """One of the driver's documents by its number."""
    order = db.scalar(
        select(OutboundOrder).where(OutboundOrder.order_no == order_no).options(joinedload(OutboundOrder.product))
    )
    if order is None or order.driver_id != driver.id:
        raise Refusal("not_found", "单据不存在", status=404)
    return order


def lanes(db: Session) -> list[Lane]:
    return db.scalars(select(Lane).order_by(Lane.code)).all()


def queueing_bookings_of(db: Session, driver: Driver) -> list[Booking]:
    """The driver's bookings that may stand in a lane's queue."""
    return db.scalars(
        select(Booking).where(Booking.driver_id == driver.id, Booking.status.in_(QUEUEING)).options(joinedload(Booking.lane))
    ).all()


# -- the operators' pages ----------------------------------------------------------------------------


def booking_list(
    *, status: BookingStatus | None = None, product: str | None = None, plate: str | None = None, driver: str | None = None,
    since: date | None = None, until: date | None = None,
) -> Select:
    """提送货登记 filtered (each filter optional), newest first, with vehicle, driver and product."""
    query = (
        select(Booking)
        .join(Booking.vehicle)
        .join(Booking.driver)
        .join(Booking.product)
        .options(contains_eager(Booking.vehicle), contains_eager(Booking.driver), contains_eager(Booking.product))
        .order_by(Booking.id.desc())
    )
    if status:
        query = query.where(Booking.status == status)
    if product:
        query = query.where(Booking.product_code == product)
    if plate:
        query = query.where(Vehicle.plate_no.ilike(f"%{validation.normalise_plate(plate)}%"))
    if driver:
        query = query.where(Driver.name.ilike(f"%{driver}%"))
    if since:
        query = query.where(Booking.created_at >= local_midnight(since))
    if until:
        query = query.where(Booking.created_at < local_midnight(until + timedelta(days=1)))
    return query


def stream(db: Session, query: Select, limit: int) -> ScalarResult:
    """Up to ``limit`` rows of a list query, read a thousand at a time (exports); close it after."""
    return db.scalars(query.limit(limit).execution_options(yield_per=1000))


def products(db: Session) -> list[Product]:
    return db.scalars(select(Product).order_by(Product.code)).all()


def product_names(db: Session) -> dict[str, str]:
    return dict(db.execute(select(Product.code, Product.name)).all())


def products_with_reservations(db: Session) -> list[tuple[Product, int]]:
    """Every product with the kilograms its active pickups hold, in one grouped query."""
    reserved = func.coalesce(func.sum(Booking.reserved_kg), 0)
    return db.execute(
        select(Product, reserved)
        .outerjoin(Booking, and_(Booking.product_code == Product.code, Booking.status.in_(RESERVING)))
        .group_by(Product.code)
        .order_by(Product.code)
    ).all()


def stock_checks_of(db: Session, booking: Booking) -> list[StockCheck]:
    return db.scalars(select(StockCheck).where(StockCheck.booking_id == booking.id).order_by(StockCheck.id)).all()


def driver_list(*, search: str | None = None, expiring_before: date | None = None) -> Select:
    """驾驶员 with their vehicles, newest first: by name or plate, or with a certificate (or an
    active vehicle's tank inspection) expiring on or before ``expiring_before``."""
    query = select(Driver).options(selectinload(Driver.vehicles)).order_by(Driver.id.desc())
    if search:
        plate = Driver.vehicles.any(Vehicle.plate_no.ilike(f"%{validation.normalise_plate(search)}%"))
        query = query.where(or_(Driver.name.ilike(f"%{search}%"), plate))
    if expiring_before:
        query = query.where(
            or_(
                Driver.qualification_expires_on <= expiring_before,
                Driver.escort_qualification_expires_on <= expiring_before,
                Driver.vehicles.any(Vehicle.active.is_(True) & (Vehicle.tank_inspection_expires_on <= expiring_before)),
            )
        )
    return query


def expiring_soon(on: date) -> date:
    """The last expiry day the warning filter flags, as of ``on``."""
    return on + timedelta(days=EXPIRY_WARNING_DAYS)


def recent_bookings_of(db: Session, driver: Driver, limit: int = 20) -> list[Booking]:
    return db.scalars(
        select(Booking)
        .where(Booking.driver_id == driver.id)
        .options(selectinload(Booking.vehicle), selectinload(Booking.product))
        .order_by(Booking.id.desc())
        .limit(limit)
    ).all()


def lane_queues(db: Session) -> tuple[list[Lane], dict[str, list[Booking]]]:
    """Every lane, and the bookings queued at each in order, with vehicle, driver and product."""
    all_lanes = lanes(db)
    queued = db.scalars(
        select(Booking)
        .join(Booking.vehicle)
        .join(Booking.driver)
        .join(Booking.product)
        .options(contains_eager(Booking.vehicle), contains_eager(Booking.driver), contains_eager(Booking.product))
        .where(Booking.lane_code.in_([lane.code for lane in all_lanes]), Booking.queue_position.is_not(None))
        .order_by(Booking.lane_code, Booking.queue_position)
    ).all()
    queues = defaultdict(list)
    for booking in queued:
        queues[booking.lane_code].append(booking)
    return all_lanes, queues


def le_event_list(*, result: LeEventResult | None = None, booking_id: int | None = None) -> Select:
    """LE 事件: what LE sent and what became of it, latest received first."""
    query = select(LeEvent).order_by(LeEvent.received_at.desc(), LeEvent.event_id)
    if result:
        query = query.where(LeEvent.result == result)
    if booking_id:
        query = query.where(LeEvent.booking_id == booking_id)
    return query


def le_event_counts(db: Session, booking: Booking) -> dict[LeEventResult, int]:
    """How many of LE's events about the booking ended each way."""
    rows = db.execute(select(LeEvent.result, func.count()).where(LeEvent.booking_id == booking.id).group_by(LeEvent.result))
    return {LeEventResult(result): count for result, count in rows}
