"""人员信息 and 车辆信息登记: a WeChat user's driver profile and vehicles, each synced to LE."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal import outbox, validation
from portal.forms import Form
from portal.models.admin import AdminUser
from portal.models.identity import WeChatUser
from portal.models.logistics import ACTIVE, Booking, Driver, Product, Vehicle
from portal.refusal import Refusal
from portal.services import audit
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
    """Create or update the user's driver profile and sync it to LE.

    On an update the ID numbers and the mobile may be left out: the stored ones are kept (the
    API shows them masked, so a client cannot send them back).
    """
    driver = driver_of(db, user.id)
    form = Form(data)
    fields = {
        "name": form.person_name("name", "姓名"),
        "id_card_no": _id_card(form, "id_card_no", "身份证号", driver and driver.id_card_no),
        "mobile": _mobile(form, driver and driver.mobile),
        "licence_no": _certificate_no(form, "licence_no", "驾驶证号"),
        "qualification_no": _certificate_no(form, "qualification_no", "从业资格证号"),
        "qualification_expires_on": form.date("qualification_expires_on", "从业资格证有效期"),
    }
    if fields["qualification_expires_on"] and fields["qualification_expires_on"] < today():
        form.error("qualification_expires_on", "从业资格证已过期")
    escort = data.get("escort") if isinstance(data, dict) else None
    if escort:
        fields.update(_escort_fields(form, escort, driver))
    else:
        fields.update(escort_name=None, escort_id_card_no=None, escort_qualification_no=None)
        fields.update(escort_qualification_expires_on=None)
    form.done()
    _refuse_id_card_held(db, user, fields["id_card_no"])

    driver = driver or Driver(user_id=user.id)
    # Two accounts registering one ID number at the same moment: the unique index lets one in.
    with _unique(db, lambda: _refuse_id_card_held(db, user, fields["id_card_no"])):
        for name, value in fields.items():
            setattr(driver, name, value)
        driver.mark_pending()
        db.add(driver)
    outbox.defer(db, "le.sync_driver", driver.id)
    return driver


def _escort_fields(form: Form, escort: dict, driver: Driver | None) -> dict:
    """押运员: its problems are the form's, named ``escort.<field>``."""
    sub = Form(escort)
    name = sub.person_name("name", "押运员姓名")
    # Left out, the stored ID number is kept for the same escort only.
    stored = driver if driver is not None and driver.escort_name and "id_card_no" not in sub.data else None
    kept = stored.escort_id_card_no if stored and (name == stored.escort_name or "name" in sub.errors) else None
    fields = {
        "escort_name": name,
        "escort_id_card_no": _id_card(sub, "id_card_no", "押运员身份证号", kept),
        "escort_qualification_no": _certificate_no(sub, "qualification_no", "押运员从业资格证号"),
        "escort_qualification_expires_on": sub.date("qualification_expires_on", "押运员从业资格证有效期"),
    }
    if stored and not kept:
        sub.error("id_card_no", "更换押运员时请填写押运员身份证号")
    if fields["escort_qualification_expires_on"] and fields["escort_qualification_expires_on"] < today():
        sub.error("qualification_expires_on", "押运员从业资格证已过期")
    form.errors.update({f"escort.{k}": v for k, v in sub.errors.items()})
    return fields


def _id_card(form: Form, name: str, label: str, kept: str | None) -> str | None:
    """An ID number in normal form; left out on an update, the stored one (``kept``)."""
    if name not in form.data and kept:
        return kept
    number = validation.normalise_id_card(form.text(name, label, max_len=64))
    form.check(name, validation.id_card_ok(number), f"{label}不正确，请核对")
    return number


def _mobile(form: Form, kept: str | None) -> str | None:
    if "mobile" not in form.data and kept:
        return kept
    number = validation.normalise_mobile(form.text("mobile", "手机号", max_len=32))
    form.check("mobile", validation.mobile_ok(number), "手机号格式不正确")
    return number


def _certificate_no(form: Form, name: str, label: str) -> str | None:
    """A certificate number, its full-width digits and letters folded."""
    text = form.text(name, label, max_len=32)
    return validation.ascii_forms(text) if text else None


def driver_holding(db: Session, id_card_no: str) -> Driver | None:
    """The driver registered with this ID number (in normal form).

    The only lookup by ID number: when ID numbers are stored encrypted with a blind index
    (issue 13), this function and the unique index are what change.
    """
    return db.scalar(select(Driver).where(Driver.id_card_no == id_card_no))


def _refuse_id_card_held(db: Session, user: WeChatUser, id_card_no: str) -> None:
    """One identity, one driver: an ID number already registered from another WeChat account."""
    holder = driver_holding(db, id_card_no)
    if holder is not None and holder.user_id != user.id:
        raise Refusal(
            "id_card_registered",
            "该身份证号已由另一个微信账号登记为驾驶员。如需改用本微信账号，请联系厂区调度员（物流管理员），"
            f"告知本账号编号 {user.id}，由其在后台将驾驶员信息转移到本账号",
            {"id_card_no": "该身份证号已由另一个微信账号登记"},
            status=409,
        )


@contextmanager
def _unique(db: Session, refuse: Callable[[], None]) -> Iterator[None]:
    """The changes made inside, flushed in a savepoint. When a unique index refuses them (another
    transaction won a race meanwhile), ``refuse()`` says why, or they are refused as a conflict."""
    try:
        with db.begin_nested():
            yield
            db.flush()
    except IntegrityError:
        refuse()
        raise Refusal("conflict", "该信息刚刚被另一个请求修改，请刷新后重试", status=409) from None


# -- 转移微信账号 (operators) ----------------------------------------------------------------------


def find_wechat_user(db: Session, reference: str | None) -> WeChatUser | None:
    """A WeChat user by number (``wechat_users.id``) or by an exact openid or unionid."""
    reference = (reference or "").strip()
    if not reference:
        return None
    if reference.isascii() and reference.isdigit():
        return db.get(WeChatUser, int(reference)) if len(reference) < 19 else None
    return db.scalar(
        select(WeChatUser).where(
            or_(WeChatUser.oa_openid == reference, WeChatUser.mp_openid == reference, WeChatUser.unionid == reference)
        )
    )


def move_target(db: Session, driver: Driver, reference: str | None) -> WeChatUser:
    """The WeChat account a driver profile may be moved to, or the refusal saying why not."""
    target = find_wechat_user(db, reference)
    if target is None:
        problem = "请填写目标微信用户的编号或 openid" if not (reference or "").strip() else "未找到该微信用户"
        raise Refusal("invalid", problem, {"target": problem})
    if target.id == driver.user_id:
        raise Refusal("invalid", "驾驶员已绑定该微信账号", {"target": "驾驶员已绑定该微信账号"})
    if not target.is_active:
        raise Refusal("invalid", "该微信账号已停用", {"target": "该微信账号已停用"})
    if (other := driver_of(db, target.id)) is not None:
        problem = f"该微信账号已登记为驾驶员（{other.name}），不能再转入"
        raise Refusal("target_has_driver", problem, {"target": problem}, status=409)
    return target


def move_driver(
    db: Session, driver: Driver, reference: str | None, admin: AdminUser, *, reason: str | None, ip: str | None = None
) -> Driver:
    """转移微信账号: the driver profile (vehicles, bookings, documents) follows the person to
    another WeChat account, e.g. a new phone; audited with both accounts."""
    reason = audit.required_reason(reason)
    db.refresh(driver, with_for_update=True)
    target = move_target(db, driver, reference)
    before = driver.user
    # The target registering a profile of its own meanwhile: the unique user index refuses one.
    with _unique(db, lambda: move_target(db, driver, reference)):
        driver.user = target
    audit.record(
        db, admin, "driver.move", target_type="driver", target_id=driver.id,
        summary=f"驾驶员 {driver.name} 转移微信账号：#{before.id} → #{target.id}",
        before=_account(before), after=_account(target), ip=ip, note=reason,
    )
    return driver


def _account(user: WeChatUser) -> dict:
    return {"user_id": user.id, "display_name": user.display_name, "openid": user.openid_masked}


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
        "plate_no": validation.normalise_plate(form.text("plate_no", "车牌号", max_len=32)),
        "trailer_no": validation.normalise_plate(form.text("trailer_no", "罐车（挂车）号", max_len=32)),
        "tank_capacity_kg": form.kilograms("tank_capacity_kg", "罐体容量", maximum=100_000),
        "transport_permit_no": validation.ascii_forms(form.text("transport_permit_no", "道路运输证号", max_len=64)) or None,
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
            Booking.vehicle_id == vehicle.id, Booking.status.in_(ACTIVE)
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
