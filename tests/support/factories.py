"""Small builders of test records; every one goes through the services the app uses."""

import itertools
import re
from datetime import timedelta

from chaos.traffic import id_card

from portal.messaging import runtime
from portal.models.identity import WeChatUser
from portal.models.logistics import Product
from portal.models.meta import utcnow
from portal.services import admin_accounts, identity
from portal.services.logistics import drivers as driver_service
from portal.services.ops import request_connectivity_check
from portal.timefmt import SHANGHAI

PASSWORD = "correct-horse-42"
_seq = itertools.count(1)


def admin(db, *areas, username=None, password=PASSWORD):
    return admin_accounts.create_admin(
        db, username=username or f"admin{next(_seq)}", display_name="测试管理员", password=password,
        areas=list(areas) or ["super"], known_areas=runtime().catalogue.admin_areas,
    )


def connectivity_check(db, system, **details):
    """A connectivity check with one of the app's contract systems, through the service."""
    return request_connectivity_check(db, system, systems=runtime().catalogue.contract_systems, **details)


def wechat_user(db, *, staff=False, name=None, **fields):
    n = next(_seq)
    fields.setdefault("oa_openid", f"o-test-openid-{n:06d}")
    user = WeChatUser(display_name=name or f"用户{n}", is_staff=staff, login_count=1, **fields)
    db.add(user)
    db.flush()
    return user


def token_for(db, user, channel="miniprogram", expires_in=None):
    token, record = identity.issue_token(db, user, channel)
    if expires_in is not None:
        record.expires_at = utcnow() + timedelta(seconds=expires_in)
    return token


def csrf_from(page):
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def login_admin(testapp, username, password=PASSWORD, status=302):
    page = testapp.get("/admin/login")
    return testapp.post(
        "/admin/login", {"username": username, "password": password, "csrf_token": csrf_from(page), "next": "/admin/"}, status=status
    )


# -- smart logistics ----------------------------------------------------------------------------

ID_CARD = "11010519491231002X"


def in_days(days=0):
    """The plant's date (Asia/Shanghai) ``days`` from today, as ``YYYY-MM-DD``: a validity a
    test gives is always ahead of it, whenever the test runs."""
    return (utcnow().astimezone(SHANGHAI).date() + timedelta(days=days)).isoformat()


def driver_payload(**overrides):
    return {
        "name": "张三", "id_card_no": ID_CARD, "mobile": "13800000000", "licence_no": "350102199001011234",
        "qualification_no": "3501002024000123", "qualification_expires_on": in_days(3 * 365), **overrides,
    }


def vehicle_payload(**overrides):
    return {
        "plate_no": "闽A12345", "trailer_no": "闽A1234挂", "tank_capacity_kg": 30000,
        "approved_products": ["NAOH32"], "transport_permit_no": "闽交运管榕字350100123456号",
        "tank_inspection_expires_on": in_days(2 * 365), **overrides,
    }


def product(db, code="NAOH32", name="32%液碱", threshold_kg=100_000, reservation_minutes=240):
    existing = db.get(Product, code)
    if existing:
        return existing
    item = Product(code=code, name=name, threshold_kg=threshold_kg, reservation_minutes=reservation_minutes, active=True)
    db.add(item)
    db.flush()
    return item


def unique_id_card():
    """A valid ID number no other driver of the run has: one person, one driver."""
    return id_card(next(_seq))


def driver(db, user=None, **overrides):
    """A registered driver with one vehicle, through the service (as the API would); a person of
    their own (ID number) unless ``id_card_no`` says otherwise."""
    user = user or wechat_user(db)
    overrides.setdefault("id_card_no", unique_id_card())
    product(db)
    record = driver_service.save_driver(db, user, driver_payload(**overrides))
    driver_service.add_vehicle(db, record, vehicle_payload())
    db.flush()
    db.refresh(record)
    return record
