"""Demo data for the embedded default (``portal migrate --demo``); safe to load twice."""

from sqlalchemy import func, select

from portal.models.admin import AdminUser
from portal.models.logistics import Product
from portal.models.ops import ConnectivityCheck
from portal.services import admin_accounts, wechat_menu
from portal.services.ops import request_connectivity_check
from portal.settings import CONTRACT_SYSTEMS

#: Printed in the README: the embedded default's administrator.
DEMO_ADMIN = ("admin", "portal-demo-2026")

#: The products the MES simulator holds stock of.
DEMO_PRODUCTS = [
    {"code": "NAOH32", "name": "32%液碱", "threshold_kg": 100_000, "reservation_minutes": 240},
    {"code": "HCL31", "name": "31%盐酸", "threshold_kg": 50_000, "reservation_minutes": 180},
    {"code": "NACLO10", "name": "10%次氯酸钠", "threshold_kg": 20_000, "reservation_minutes": None},
]


def load(db, settings):
    """Returns a line per thing created, for the console."""
    created = []
    if not db.scalar(select(func.count()).select_from(ConnectivityCheck)):
        for system in CONTRACT_SYSTEMS:
            check = request_connectivity_check(db, system, requested_by="demo", note="演示数据")
            created.append(f"connectivity check #{check.id} → {system}")
    if not db.scalar(select(func.count()).select_from(AdminUser)):
        username, password = DEMO_ADMIN
        admin_accounts.create_admin(db, username=username, display_name="演示管理员", password=password, areas=["super"])
        created.append(f"admin {username} / {password}")
    if not db.scalar(select(func.count()).select_from(Product)):
        db.add_all(Product(active=True, **product) for product in DEMO_PRODUCTS)
        created.append("products " + ", ".join(p["code"] for p in DEMO_PRODUCTS))
    if wechat_menu.latest(db) is None:
        menu = wechat_menu.save_draft(db, wechat_menu.default_buttons(settings["portal.public_url"]), admin=None)
        wechat_menu.publish(db, menu, admin=None)
        created.append(f"Official Account menu #{menu.id} (publishing)")
    return created
