"""人员信息 and 车辆信息登记: a WeChat user's driver profile and vehicles, each synced to LE."""

from datetime import date, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from portal import outbox, validation
from portal.forms import Form
from portal.models.identity import WeChatUser
from portal.models.logistics import RESERVING, Booking, BookingStatus, Driver, Product, Vehicle
from portal.refusal import Refusal
from portal.timefmt import today

#: Certificates expiring within this many days are flagged on the admin pages.
EXPIRY_WARNING_DAYS = 30

# Built once: every driver request asks it, and building it costs as much as running it.
_DRIVER_OF = select(Driver).where(Driver.user_id == bindparam("user_id"))


def driver_of(db: Session, user_id: int) -> Driver | None:
    return db.scalar(_DRIVER_OF, {"user_id": user_id})


def require_driver(db: Session, user_id: int) -> Driver:
    driver = driver_of(db, user_id)
    if driver is None:
        raise Refusal("driver_required", "请先完成人员信息登记", status=409)
    return driver


def save_driver(db: Session, user: WeChatUser, data: dict) -> Driver:
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
    if fields["qualification_expires_on"] and fields["qualification_expires_on"] < today():
        form.error("qualification_expires_on", "从业资格证已过期")
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
        if fields["escort_qualification_expires_on"] and fields["escort_qualification_expires_on"] < today():
            sub.error("qualification_expires_on", "押运员从业资格证已过期")
        form.errors.update({f"escort.{k}": v for k, v in sub.errors.items()})
    else:
        fields.update(escort_name=None, escort_id_card_no=None, escort_qualification_no=None)
        fields.update(escort_qualification_expires_on=None)
    form.done()

    driver = driver_of(db, user.id) or Driver(user_id=user.id)
    for name, value in fields.items():
        setattr(driver, name, value)
    driver.mark_pending()
    db.add(driver)
    db.flush()
    outbox.defer(db, "le.sync_driver", driver.id)
    return driver


def for_le(driver: Driver) -> dict:
    """The driver as LE's client takes it."""
    escort = None
    if driver.escort_name:
        escort = {
            "name": driver.escort_name, "id_card_no": driver.escort_id_card_no,
            "qualification_no": driver.escort_qualification_no,
            "qualification_expires_on": driver.escort_qualification_expires_on,
        }
    return {
        "driver_id": driver.id, "name": driver.name, "id_card_no": driver.id_card_no, "mobile": driver.mobile,
        "licence_no": driver.licence_no, "qualification_no": driver.qualification_no,
        "qualification_expires_on": driver.qualification_expires_on, "escort": escort,
    }


# -- 车辆信息登记 -------------------------------------------------------------------------------


def _vehicle_fields(db: Session, data: dict) -> dict:
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
        form.error("approved_products", "请选择罐体适装介质")
    elif unknown := sorted(set(products) - known):
        form.error("approved_products", f"未知的介质：{'、'.join(unknown)}")
    else:
        fields["approved_products"] = sorted(set(products))
    if fields["tank_inspection_expires_on"] and fields["tank_inspection_expires_on"] < today():
        form.error("tank_inspection_expires_on", "罐体检验已过期")
    form.done()
    return fields


def _refuse_plate_clash(db: Session, driver_id: int, plate_no: str, other_than: int | None = None) -> None:
    query = select(Vehicle.id).where(Vehicle.driver_id == driver_id, Vehicle.plate_no == plate_no)
    if other_than is not None:
        query = query.where(Vehicle.id != other_than)
    if db.scalar(query):
        raise Refusal("duplicate", "该车牌已登记", {"plate_no": "该车牌已登记"}, status=409)


def add_vehicle(db: Session, driver: Driver, data: dict) -> Vehicle:
    fields = _vehicle_fields(db, data)
    _refuse_plate_clash(db, driver.id, fields["plate_no"])
    vehicle = Vehicle(driver=driver, active=True, **fields)
    db.add(vehicle)
    db.flush()
    outbox.defer(db, "le.sync_vehicle", vehicle.id)
    return vehicle


def update_vehicle(db: Session, vehicle: Vehicle, data: dict) -> Vehicle:
    fields = _vehicle_fields(db, data)
    _refuse_plate_clash(db, vehicle.driver_id, fields["plate_no"], other_than=vehicle.id)
    for name, value in fields.items():
        setattr(vehicle, name, value)
    vehicle.active = True
    vehicle.mark_pending()
    outbox.defer(db, "le.sync_vehicle", vehicle.id)
    return vehicle


def remove_vehicle(db: Session, vehicle: Vehicle) -> None:
    active = db.scalar(
        select(func.count()).select_from(Booking).where(
            Booking.vehicle_id == vehicle.id, Booking.status.in_(RESERVING + (BookingStatus.checking,))
        )
    )
    if active:
        raise Refusal("vehicle_in_use", "该车辆有未完成的提送货登记，不能删除", status=409)
    vehicle.active = False
    vehicle.mark_pending()
    outbox.defer(db, "le.sync_vehicle", vehicle.id)


def check_own_vehicle(vehicle: Vehicle | None, driver: Driver) -> None:
    if vehicle is None or vehicle.driver_id != driver.id or not vehicle.active:
        raise Refusal("not_found", "车辆不存在", status=404)


def vehicle_of(db: Session, driver: Driver, vehicle_id: int) -> Vehicle:
    vehicle = db.get(Vehicle, vehicle_id)
    check_own_vehicle(vehicle, driver)
    return vehicle


def vehicle_for_le(vehicle: Vehicle) -> dict:
    """The vehicle as LE's client takes it."""
    return {
        "vehicle_id": vehicle.id, "driver_id": vehicle.driver_id, "plate_no": vehicle.plate_no,
        "trailer_no": vehicle.trailer_no, "tank_capacity_kg": vehicle.tank_capacity_kg,
        "approved_products": vehicle.approved_products, "transport_permit_no": vehicle.transport_permit_no,
        "tank_inspection_expires_on": vehicle.tank_inspection_expires_on, "active": vehicle.active,
    }


# -- certificates --------------------------------------------------------------------------------


def expiry_warning(day: date | None, on: date) -> str | None:
    """'expired', 'soon' (within the warning days) or None; the expiry day itself is still valid."""
    if day is None:
        return None
    if day < on:
        return "expired"
    if day <= on + timedelta(days=EXPIRY_WARNING_DAYS):
        return "soon"
    return None
