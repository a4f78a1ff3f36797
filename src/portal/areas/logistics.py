"""Smart logistics (智慧物流): drivers, vehicles, entry reports, bookings against the MES stock,
LE's events, documents and sign-off, lanes — and the LE and MES systems they need."""

from functools import partial

from sqlalchemy import func, select

from portal.actors import le, mes  # noqa: F401  (records the area's actors)
from portal.integrations.le import LeClient
from portal.integrations.mes import MesClient
from portal.messaging import runtime
from portal.models.logistics import Product
from portal.services.logistics import bookings, dashboard, notices
from portal.services.logistics.policy import Policy
from portal.simulators.le import LeSimulator
from portal.simulators.mes import MesSimulator
from portal.views.api.callbacks import check_signature
from portal.views.api.logistics import driver_binding

#: The products the MES simulator holds stock of (``portal migrate --demo``).
DEMO_PRODUCTS = [
    {"code": "NAOH32", "name": "32%液碱", "threshold_kg": 100_000, "reservation_minutes": 240},
    {"code": "HCL31", "name": "31%盐酸", "threshold_kg": 50_000, "reservation_minutes": 180},
    {"code": "NACLO10", "name": "10%次氯酸钠", "threshold_kg": 20_000, "reservation_minutes": None},
]


def load_demo(db, catalogue):
    if db.scalar(select(func.count()).select_from(Product)):
        return []
    db.add_all(Product(active=True, **product) for product in DEMO_PRODUCTS)
    return ["products " + ", ".join(p["code"] for p in DEMO_PRODUCTS)]


def _expire_overdue_bookings():
    rt = runtime()
    return bookings.expire_overdue(rt.session_factory, rt.policy(Policy))


def _warn_expiring_certificates():
    rt = runtime()
    notices.warn_expiring(rt.session_factory, rt.policy(Policy))


def includeme(config):
    config.add_area("logistics", "智慧物流")
    config.add_policy(Policy)
    config.add_client("le", LeClient)
    config.add_client("mes", MesClient)
    config.add_simulator("le", LeSimulator)
    config.add_simulator("mes", MesSimulator)

    # The driver's JSON API (the mini-program and H5 pages) and LE's callback.
    config.add_route("api.logistics.driver", "/api/logistics/driver")
    config.add_route("api.logistics.vehicles", "/api/logistics/vehicles")
    config.add_route("api.logistics.vehicle", "/api/logistics/vehicles/{id}")
    config.add_route("api.logistics.entry_reports", "/api/logistics/entry-reports")
    config.add_route("api.logistics.products", "/api/logistics/products")
    config.add_route("api.logistics.bookings", "/api/logistics/bookings")
    config.add_route("api.logistics.booking", "/api/logistics/bookings/{id}")
    config.add_route("api.logistics.booking_cancel", "/api/logistics/bookings/{id}/cancel")
    config.add_route("api.logistics.orders", "/api/logistics/orders")
    config.add_route("api.logistics.orders_refresh", "/api/logistics/orders/refresh")
    config.add_route("api.logistics.order", "/api/logistics/orders/{order_no}")
    config.add_route("api.logistics.order_sign", "/api/logistics/orders/{order_no}/sign")
    config.add_route("api.logistics.lanes", "/api/logistics/lanes")
    config.add_route("api.le.events", "/api/le/events")
    # LE's signature is checked before its body is refused for its nesting (portal.limits).
    config.add_body_limit("api.le.events", authenticate=partial(check_signature, system="le"))
    config.scan("portal.views.api.logistics")
    config.scan("portal.views.api.le_events")
    config.add_me_section("driver", driver_binding)

    # The operators' pages.
    config.add_route("admin.logistics.bookings", "/admin/logistics/bookings")
    config.add_route("admin.logistics.bookings_xlsx", "/admin/logistics/bookings.xlsx")
    config.add_route("admin.logistics.booking", r"/admin/logistics/bookings/{id:\d+}")
    config.add_route("admin.logistics.drivers", "/admin/logistics/drivers")
    config.add_route("admin.logistics.driver", r"/admin/logistics/drivers/{id:\d+}")
    config.add_route("admin.logistics.products", "/admin/logistics/products")
    config.add_route("admin.logistics.product", "/admin/logistics/products/{code:[A-Z0-9_]{2,32}}")
    config.add_route("admin.logistics.lanes", "/admin/logistics/lanes")
    # What the lanes board and the record pages refresh without a reload (portal.views.admin.live).
    config.add_route("admin.logistics.lanes_live", "/admin/logistics/lanes/live")
    config.add_route("admin.logistics.booking_live", r"/admin/logistics/bookings/{id:\d+}/live")
    config.add_route("admin.logistics.driver_live", r"/admin/logistics/drivers/{id:\d+}/live")
    config.add_route("admin.logistics.le_events", "/admin/logistics/le-events")
    config.scan("portal.views.admin.logistics")
    config.add_admin_nav("提送货登记", "admin.logistics.bookings", area="logistics")
    config.add_admin_nav("驾驶员与车辆", "admin.logistics.drivers", area="logistics")
    config.add_admin_nav("品名与库存", "admin.logistics.products", area="logistics")
    config.add_admin_nav("装车道", "admin.logistics.lanes", area="logistics")
    config.add_admin_nav("LE 事件", "admin.logistics.le_events", area="logistics")

    # Its panels of 概览: the day at the gate first.
    for name, title, read, wide in (
        ("arrivals", "今日计划到厂", dashboard.arrivals, True),
        ("inside", "厂内车辆", dashboard.trucks_inside, False),
        ("lanes", "装车道", dashboard.lanes, False),
        ("statuses", "今日登记状态", dashboard.bookings_by_status, False),
        ("stock", "库存与占用", dashboard.stock, False),
        ("expiring", "证件即将到期", dashboard.expiring, False),
        ("sync_failures", "同步失败", dashboard.sync_failures, False),
    ):
        template = f"admin/logistics/panels/{name}.html"
        config.add_dashboard_panel(f"logistics.{name}", title, template, read, area="logistics", wide=wide)

    config.add_periodic_job("booking-expiry-sweep", 60, "提送货登记逾期退卡（延时消息的兜底）", run=_expire_overdue_bookings)
    config.add_periodic_job("le-lanes-refresh", 60, "从 LE 刷新装车道排队信息", actor="le.refresh_lanes")
    config.add_periodic_job("mes-stock-refresh", 300, "从 MES 刷新罐区库存", actor="mes.refresh_stock")
    config.add_periodic_job(
        "certificate-expiry-warnings", 86400, "证件与罐检 30 天内到期提醒（每份证件每个到期日一次）",
        run=_warn_expiring_certificates,
    )
    config.add_demo_data(load_demo)
