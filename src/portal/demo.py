"""Demo data for the embedded default (``portal migrate --demo``); safe to load twice."""

from sqlalchemy import func, select

from portal.models.admin import AdminUser
from portal.models.ops import ConnectivityCheck
from portal.services import admin_accounts, wechat_menu
from portal.services.ops import request_connectivity_check

#: Printed in the README: the embedded default's administrator.
DEMO_ADMIN = ("admin", "portal-demo-2026")


def load(db, catalogue):
    """Returns a line per thing created, for the console."""
    created = []
    if not db.scalar(select(func.count()).select_from(ConnectivityCheck)):
        systems = catalogue.contract_systems
        for system in systems:
            check = request_connectivity_check(db, system, systems=systems, requested_by="demo", note="演示数据")
            created.append(f"connectivity check #{check.id} → {system}")
    if not db.scalar(select(func.count()).select_from(AdminUser)):
        username, password = DEMO_ADMIN
        admin_accounts.create_admin(
            db, username=username, display_name="演示管理员", password=password, areas=["super"],
            known_areas=catalogue.admin_areas,
        )
        created.append(f"admin {username} / {password}")
    for load_area in catalogue.demo_data:
        created.extend(load_area(db, catalogue))
    if wechat_menu.latest(db) is None:
        buttons = wechat_menu.default_buttons(catalogue.settings.public_url, catalogue.areas.values())
        menu = wechat_menu.save_draft(db, buttons, admin=None)
        wechat_menu.publish(db, menu, admin=None)
        created.append(f"Official Account menu #{menu.id} (publishing)")
    return created
