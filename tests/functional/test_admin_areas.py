"""Every admin route × method × area, read from the app itself (its route mapper and views): an
admin of the route's area, or a super admin, gets the page (200) or the action's redirect (302);
an admin of another area gets 403; nobody logged in is sent to the login page.

The area a route needs does not come from its view's permission (the thing under test) but
from who registered the route: an area's include (``portal/areas/<area>.py``) for that area,
the core for the super admin — except the pages every admin has (``ANY_ADMIN``). A new admin
route is in the table as soon as it is registered; if its path has a placeholder or it takes a
POST, the test asks for a record (``RECORDS``) or a form (``FORMS``) for it.
"""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from pyramid.interfaces import IRoutesMapper

from portal.models.admin import AdminUser
from portal.models.meta import utcnow
from portal.models.ops import DeadLetter
from portal.security import ADMIN_COOKIE
from portal.services import admin_accounts, wechat_menu
from portal.services.logistics import bookings as booking_service
from portal.services.logistics.policy import Policy
from portal.views.admin.assets import ENTRY
from portal.views.h5 import DEFAULT_DIST

from ..conftest import Services
from ..support import factories
from ..support.factories import csrf_from

#: Core admin routes open to everyone, and those every admin may use.
OPEN = {"admin.login"}
ANY_ADMIN = {"admin.home", "admin.home_live", "admin.asset", "admin.logout"}


def _needed(route):
    """The area a route's pages need ("" for any admin), by who registered it."""
    registered_by = Path(route.action_info.file)
    if registered_by.parent.name == "areas" and registered_by.parent.parent.name == "portal":
        return registered_by.stem
    return "" if route["name"] in ANY_ADMIN else "super"


def _admin_views():
    """(route name, pattern, method, area needed) of every admin view."""
    introspector = Services.config.registry.introspector
    routes = {item["introspectable"]["name"]: item["introspectable"] for item in introspector.get_category("routes")}
    views = set()
    for item in introspector.get_category("views"):
        name = item["introspectable"]["route_name"]
        if not name or not routes[name]["pattern"].startswith("/admin") or name in OPEN:
            continue
        methods = item["introspectable"]["request_methods"] or ("GET",)
        for method in (methods,) if isinstance(methods, str) else methods:
            views.add((name, routes[name]["pattern"], method, _needed(routes[name])))
    return sorted(views)


VIEWS = _admin_views()
#: Each area an admin may be given, and None: nobody logged in.
AREAS = [*Services.config.registry.catalogue.admin_areas, None]

#: The record a route's placeholder names, from the records every case starts with.
RECORDS = {
    "admin.account": lambda r: {"id": r["other_admin"].id},
    "admin.dead_letter": lambda r: {"id": r["dead_letter"].id},
    "admin.menu_publish": lambda r: {"id": r["menu"].id},
    "admin.wechat_user": lambda r: {"id": r["wechat_user"].id},
    # The admin script's built file (make test builds the front end).
    "admin.asset": lambda r: {"name": r["script"].rsplit("/", 1)[1]},
    "admin.logistics.booking": lambda r: {"id": r["booking"].id},
    "admin.logistics.booking_live": lambda r: {"id": r["booking"].id},
    "admin.logistics.driver": lambda r: {"id": r["driver"].id},
    "admin.logistics.driver_live": lambda r: {"id": r["driver"].id},
    "admin.logistics.product": lambda r: {"code": r["product"].code},
}
#: A form each POST view accepts (or a function of the records that makes one).
FORMS = {
    "admin.logout": {},
    "admin.accounts": {"username": "wangwu", "display_name": "王五", "password": "canteen-pass-2026", "areas": "canteen"},
    "admin.account": {"areas": "canteen", "is_active": "on"},
    "admin.menu": {"b0.name": "智慧物流", "b0.type": "view", "b0.url": "https://portal.example.com/h5/logistics"},
    "admin.menu_publish": {},
    "admin.dead_letter": {"action": "discard"},
    "admin.wechat_user": {"action": "disable", "note": "核实身份"},
    "admin.logistics.booking": {"action": "cancel", "reason": "车辆故障"},
    # The move's first step: the target account shown for confirmation.
    "admin.logistics.driver": lambda r: {"target": str(r["wechat_user"].id), "reason": "驾驶员换了手机"},
    "admin.logistics.products": {"code": "HCL", "name": "盐酸", "threshold_kg": "0"},
    "admin.logistics.product": {"name": "32%液碱（桶装）", "threshold_kg": "0"},
}


def _records(db, settings):
    driver = factories.driver(db)
    booking = booking_service.create_booking(db, driver, {
        "kind": "delivery", "product_code": "NAOH32", "quantity_kg": 10000, "vehicle_id": driver.vehicles[0].id,
        "planned_arrival_at": (utcnow() + timedelta(hours=2)).isoformat()}, Policy.from_settings(settings))
    check = factories.connectivity_check(db, "le")
    dead_letter = DeadLetter(message_id="m-1", actor_name="ops.run_connectivity_check", queue_name="default", args=[check.id],
                             error="LE物流系统返回 HTTP 422", permanent=True)
    other_admin = AdminUser(username="other", display_name="其他管理员", password_hash="-", areas=["visitors"])
    db.add_all([dead_letter, other_admin])
    catalogue = Services.config.registry.catalogue
    menu = wechat_menu.save_draft(db, wechat_menu.default_buttons("https://portal.example.com", catalogue.areas.values()), admin=None)
    db.flush()
    manifest = DEFAULT_DIST / "admin" / ".vite" / "manifest.json"
    assert manifest.is_file(), "the admin script is not built: run make frontend"
    script = json.loads(manifest.read_text())[ENTRY]["file"]
    return {"driver": driver, "booking": booking, "product": factories.product(db), "dead_letter": dead_letter,
            "other_admin": other_admin, "menu": menu, "wechat_user": factories.wechat_user(db), "script": script}


def _path(name, pattern, records):
    if "{" not in pattern:
        return pattern
    assert name in RECORDS, f"{name} ({pattern}): add the record its placeholders name to RECORDS"
    return Services.config.registry.getUtility(IRoutesMapper).get_route(name).generate(RECORDS[name](records))


@pytest.mark.parametrize("area", AREAS, ids=lambda area: area or "nobody")
@pytest.mark.parametrize("name, pattern, method, needed", VIEWS, ids=[f"{method} {pattern}" for _, pattern, method, _ in VIEWS])
def test_admin_route_method_and_area(testapp, db, settings, name, pattern, method, needed, area):
    records = _records(db, settings)
    path = _path(name, pattern, records)
    if area is not None:
        # A session as a login makes it (the password's check is test_admin_auth's).
        admin = AdminUser(username="tester", display_name="测试管理员", password_hash="-", areas=[area])
        db.add(admin)
        db.flush()
        testapp.set_cookie(ADMIN_COOKIE, admin_accounts.start_session(db, admin, ip="unknown", user_agent=None))
    if method == "POST":
        assert name in FORMS, f"POST {pattern}: add a form the view accepts to FORMS"
        form = FORMS[name](records) if callable(FORMS[name]) else FORMS[name]
        response = testapp.post(path, {**form, "csrf_token": csrf_from(testapp.get("/admin/login"))}, expect_errors=True)
    else:
        assert method == "GET", f"{method} {pattern}: add how to send it"
        response = testapp.get(path, expect_errors=True)

    if area is None:
        assert response.status_int == 302 and response.location.startswith("http://example.com/admin/login"), response.status
    elif needed in ("", area) or area == "super":
        assert response.status_int in (200, 302), response.status
        assert "/admin/login" not in response.headers.get("Location", "") or name == "admin.logout"
    else:
        assert response.status_int == 403 and "没有访问该页面的权限" in response.text, response.status


def test_the_table_has_every_kind_of_admin_route():
    """The table is read from the app: these are in it, so it is not silently empty."""
    names = {name for name, *_ in VIEWS}
    assert {"admin.home", "admin.logout", "admin.accounts", "admin.wechat_user", "admin.logistics.product"} <= names
    assert {needed for *_, needed in VIEWS} == {"", "super", "logistics", "visitors"}
