"""The operators' live console in a real browser: 概览 and the lanes board refresh themselves when
LE reports something, and a record page that shows 同步中 turns 已同步 when the worker is done —
all without a reload. LE's events come from its simulator, posted to the app over HTTP.

Pages that refresh every few seconds run on Playwright's clock: the test moves the page's time
on instead of waiting for it."""

from datetime import timedelta

import dramatiq

from portal.db import Transaction
from portal.messaging import runtime
from portal.models.logistics import Booking, BookingKind, BookingStatus, Lane, LeState, Product
from portal.models.meta import utcnow
from portal.services.logistics import bookings as booking_service
from portal.services.logistics import drivers as driver_service
from portal.services.logistics.policy import Policy
from portal.timefmt import local_midnight, today

from ...support import factories
from ..operator import PHONE

NOT_RELOADED = "window.stillTheSamePage"


def _mark(page):
    """Mark the page: a reload would lose the mark."""
    page.evaluate(f"{NOT_RELOADED} = true")


def _same_page(page):
    return page.evaluate(f"{NOT_RELOADED} === true")


def _chart_drawn(page, chart_id):
    page.wait_for_function(
        """id => { const canvas = document.getElementById(id); if (!canvas || !canvas.width) return false;
                   const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                   return pixels.some((value, i) => i % 4 === 3 && value > 0) }""",
        arg=chart_id,
    )


def _a_day_at_the_gate(committed):
    """A logistics admin; one truck inside already and one registered for today noon, with their
    products' stock; returns the registered booking's id."""
    with Transaction(committed) as db:
        factories.admin(db, "logistics", username="wuliu")
        driver = factories.driver(db, name="王师傅")
        other = factories.driver(db, name="李师傅")
        vehicle = driver_service.add_vehicle(db, other, factories.vehicle_payload(plate_no="闽B67890", trailer_no="闽B6789挂"))
        naoh = db.get(Product, "NAOH32")
        naoh.stock_kg, naoh.stock_at = 1_250_000, utcnow()
        db.add(Product(code="HCL31", name="31%盐酸", threshold_kg=50_000, active=True, stock_kg=300_000, stock_at=utcnow()))
        noon = local_midnight(today()) + timedelta(hours=12)
        common = {"product": naoh, "kind": BookingKind.pickup, "quantity_kg": 30_000, "reserved_kg": 30_000, "planned_arrival_at": noon}
        db.add(Booking(driver=other, vehicle=vehicle, status=BookingStatus.entered, entered_at=utcnow(), le_state=LeState.registered,
                       **common))
        booking = Booking(driver=driver, vehicle=driver.vehicles[0], status=BookingStatus.registered, le_state=LeState.registered,
                          expires_at=noon + timedelta(hours=4), **common)
        db.add(booking)
        db.add_all([
            Lane(code="L1", name="1号装车道", status="loading", loading_count=1, waiting_count=0, updated_at=utcnow()),
            Lane(code="L2", name="2号装车道", status="idle", updated_at=utcnow()),
            Lane(code="L3", name="3号装车道", status="maintenance", updated_at=utcnow()),
        ])
        db.flush()
        return booking.id


def test_the_dashboard_refreshes_itself_after_an_le_event(portal, committed, simulators, operators):
    booking_id = _a_day_at_the_gate(committed)
    desk = operators(portal)
    page = desk.page
    page.clock.install()
    desk.login("wuliu")
    inside = desk.part("panel-logistics.inside")
    assert "闽B67890" in inside.inner_text() and "闽A12345" not in inside.inner_text()
    assert page.inner_text("[data-live-status]").startswith("更新于 ")
    _chart_drawn(page, "chart-arrivals")
    _chart_drawn(page, "chart-stock")
    desk.shot("dashboard")
    _mark(page)

    # LE: the registered truck has come through the gate.
    assert simulators["le"].send_event("truck.entered", {"booking_id": booking_id}) == 200
    page.clock.run_for(15_000)
    inside.locator("text=闽A12345").wait_for()
    assert "已入厂未排队" in inside.inner_text() and _same_page(page)
    assert page.inner_text("[data-live-status]").startswith("更新于 ")
    _chart_drawn(page, "chart-arrivals")  # drawn again in the refreshed panel
    desk.shot("dashboard-after-truck-entered")

    # A refresh that fails keeps what is shown and says so; the next one recovers.
    page.route("**/admin/live", lambda route: route.abort())
    page.clock.run_for(15_000)
    page.wait_for_selector(".live-status.failed")
    assert "刷新失败" in page.inner_text("[data-live-status]") and "闽A12345" in inside.inner_text()
    desk.shot("dashboard-refresh-failed")
    page.unroute("**/admin/live")
    page.clock.run_for(15_000)
    page.wait_for_function("!document.querySelector('[data-live-status]').classList.contains('failed')")

    # The admin session ends (logged out elsewhere, expired): the page stops and offers the login.
    desk.context.clear_cookies()
    page.clock.run_for(15_000)
    page.wait_for_selector(".live-status.expired")
    assert "登录已过期" in page.inner_text("[data-live-status]") and _same_page(page)
    desk.shot("dashboard-session-expired")
    page.click("[data-live-status] a")
    page.wait_for_url("**/admin/login?next=%2Fadmin%2F")

    # The same dashboard on a phone.
    phone = operators(portal, PHONE, "phone")
    phone.login("wuliu")
    _chart_drawn(phone.page, "chart-stock")
    phone.shot("dashboard")


def test_the_lanes_board_refreshes_itself(portal, committed, simulators, operators):
    booking_id = _a_day_at_the_gate(committed)
    with Transaction(committed) as db:
        db.query(Lane).delete()  # LE has reported no lane yet
    le = simulators["le"]
    desk = operators(portal)
    page = desk.page
    page.clock.install()
    desk.login("wuliu", "/admin/logistics/lanes")
    board = desk.part("live_board")
    assert "LE 尚未推送装车道信息" in board.inner_text()
    _mark(page)

    assert le.set_lane("L3", "maintenance") == 200
    assert le.send_event("truck.entered", {"booking_id": booking_id}) == 200
    page.clock.run_for(10_000)
    page.wait_for_selector("[data-lane=L3][data-status=maintenance]")
    unqueued = page.locator("#unqueued + table")
    assert "闽A12345" in unqueued.inner_text()
    desk.shot("lanes-truck-inside-not-queued")

    # LE queues the truck at lane 1.
    queue = [{"booking_id": booking_id, "position": 1, "called": False}]
    lane = {"code": "L1", "name": "1号装车道", "status": "loading", "loading_count": 1, "waiting_count": 1, "queue": queue}
    assert le.send_event("lane.changed", lane) == 200
    page.clock.run_for(10_000)
    page.locator("[data-lane=L1][data-status=loading]").locator("text=闽A12345").wait_for()
    assert "闽A12345" not in unqueued.inner_text() and "闽B67890" in unqueued.inner_text()
    assert _same_page(page)
    desk.shot("lanes-truck-queued")

    phone = operators(portal, PHONE, "phone")
    phone.login("wuliu", "/admin/logistics/lanes")
    phone.shot("lanes")


def test_record_pages_turn_synced_without_a_reload(portal, committed, broker, operators):
    with Transaction(committed) as db:
        factories.admin(db, "logistics", username="wuliu")
        driver = factories.driver(db, name="张师傅")  # pushed to LE by a worker: none runs yet
        booking = booking_service.create_booking(db, driver, {
            "kind": "pickup", "product_code": "NAOH32", "quantity_kg": 20_000, "vehicle_id": driver.vehicles[0].id,
            "planned_arrival_at": (utcnow() + timedelta(hours=2)).isoformat(),
        }, runtime().policy(Policy))
        driver_id, booking_id = driver.id, booking.id

    desk = operators(portal)
    desk.login("wuliu", f"/admin/logistics/bookings/{booking_id}")
    assert desk.page.inner_text("#booking-status") == "核对库存中"
    assert "同步中" in desk.part("live_checks").inner_text()
    desk.page.wait_for_selector("[data-live-status]:has-text('完成后本页自动更新')")
    desk.shot("booking-pending")
    _mark(desk.page)

    phone = operators(portal, PHONE, "phone")
    phone.login("wuliu", f"/admin/logistics/drivers/{driver_id}")
    assert phone.page.inner_text("#driver-sync") == "同步中"
    phone.shot("driver-pending")
    _mark(phone.page)

    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        # MES answers the stock check, LE registers the booking and the driver: the pages follow.
        desk.page.wait_for_selector("#booking-status:has-text('已登记')", timeout=60_000)
        desk.page.wait_for_selector("#booking-sync:has-text('已同步')", timeout=60_000)
        phone.page.wait_for_selector("#driver-sync:has-text('已同步')", timeout=60_000)
        phone.part("live_vehicles").locator(".state-synced").wait_for(timeout=60_000)
    finally:
        worker.stop(timeout=10_000)
    assert "同步中" not in desk.part("live_checks").inner_text()
    assert desk.page.is_visible("button:has-text('手动退卡')")  # what may be done now, too
    assert _same_page(desk.page) and _same_page(phone.page)
    assert desk.page.inner_text("[data-live-status]").startswith("更新于 ")
    desk.shot("booking-synced")
    phone.shot("driver-synced")
