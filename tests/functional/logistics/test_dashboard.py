"""智慧物流 on 概览 and the lanes board, and the live endpoints the pages poll."""

import json
import re
from datetime import timedelta

import pytest

from portal.models.logistics import BookingStatus, Lane, StockCheck
from portal.models.meta import utcnow
from portal.services.logistics import dashboard
from portal.timefmt import local_midnight

from ...support import factories
from ...support.factories import login_admin
from ..test_ops_admin import _dead_letter
from .test_admin import _booking, _driver, _login, _product, _today, _vehicle


def _at(hour, days=0):
    """An instant ``hour`` o'clock Beijing time, ``days`` from today."""
    return local_midnight(_today() + timedelta(days=days)) + timedelta(hours=hour)


def _planned(db, vehicle, product, status=BookingStatus.registered, hour=9, days=0, **fields):
    booking = _booking(db, vehicle, product, status, **fields)
    booking.planned_arrival_at = _at(hour, days)
    db.flush()
    return booking


def _panel(page, name):
    """The HTML of one panel of 概览."""
    return re.search(rf'<section class="panel[^"]*" data-part="panel-{re.escape(name)}">(.*?)</section>', page.text, re.S).group(1)


def _day_at_the_gate(db):
    """Two products, three trucks booked for today at 8, 9 and 9 o'clock — one inside, one
    queued at L1 — one that did not come, one for tomorrow, and one rejected."""
    product = _product(db, threshold_kg=10_000, stock_kg=100_000)
    _product(db, "HCL", "盐酸", stock_kg=None)
    first = _vehicle(db, _driver(db, "王师傅"), "闽A11111")
    second = _vehicle(db, _driver(db, "李师傅", expires_in=-3), "闽A22222", inspection_in=12)
    third = _vehicle(db, _driver(db, "赵师傅"), "闽A33333")
    db.add(Lane(code="L1", name="1号装车道", status="loading", loading_count=1, waiting_count=1, updated_at=utcnow()))
    inside = _planned(db, first, product, BookingStatus.entered, hour=8, entered_at=utcnow())
    queued = _planned(db, second, product, BookingStatus.entered, lane_code="L1", queue_position=1)
    expected = _planned(db, third, product)
    _planned(db, third, product, BookingStatus.expired, hour=6)
    _planned(db, third, product, days=1)
    _planned(db, third, product, BookingStatus.rejected, hour=10)
    return inside, queued, expected


def test_the_dashboard_shows_the_day_at_the_gate(testapp, db):
    _login(testapp, db)
    inside, queued, expected = _day_at_the_gate(db)
    expected.mark_failed("LE物流系统返回 HTTP 422（车牌已被占用）")

    page = testapp.get("/admin/")
    assert 'data-live="http://example.com/admin/live"' in page.text and "更新于" in page.text
    assert "/admin/assets/" in page.text  # the admin script, which refreshes the panels and draws the charts

    arrivals = _panel(page, "logistics.arrivals")
    assert re.search(r"<strong>4</strong>今日计划到厂", arrivals)  # not tomorrow's, not the rejected one
    assert re.search(r"<strong>2</strong>已入厂", arrivals) and re.search(r"<strong>1</strong>未到已退卡", arrivals)
    chart = json.loads(re.search(r"data-chart='([^']*)'", arrivals).group(1))
    series = {d["label"]: d["data"] for d in chart["data"]["datasets"]}
    assert chart["data"]["labels"][8] == "8时" and series["已入厂"][8:10] == [1, 1] and series["待入厂"][9] == 1
    assert series["未到已退卡"][6] == 1 and chart["options"]["scales"]["x"]["stacked"]

    trucks = _panel(page, "logistics.inside")
    assert "闽A11111" in trucks and "闽A22222" in trucks and "闽A33333" not in trucks
    assert "未排队" in trucks and "L1 第 1 位" in trucks and re.search(r"<strong>1</strong>已入厂未排队", trucks)

    lanes = _panel(page, "logistics.lanes")
    assert "1号装车道" in lanes and 'tone-info">装车中' in lanes

    statuses = _panel(page, "logistics.statuses")
    assert re.search(r'data-status="entered"><strong>2</strong>', statuses)
    assert re.search(r'data-status="rejected"><strong>1</strong>', statuses)

    stock = _panel(page, "logistics.stock")
    # 100 t in stock, four trucks hold 20 t each (tomorrow's too), 10 t must remain: 10 t free to book.
    assert "100.000 吨" in stock and "80.000 吨" in stock and "10.000 吨" in stock
    assert "未知" in stock  # 盐酸: no MES figure yet
    chart = json.loads(re.search(r"data-chart='([^']*)'", stock).group(1))
    assert {d["label"]: d["data"] for d in chart["data"]["datasets"]}["已占用"] == [0.0, 80.0]

    expiring = _panel(page, "logistics.expiring")
    assert "已过期 3 天" in expiring and "闽A22222 罐体检验" in expiring and "12 天后到期" in expiring
    assert "王师傅" not in expiring

    failures = _panel(page, "logistics.sync_failures")
    assert f'/admin/logistics/bookings/{expected.id}"' in failures and "车牌已被占用" in failures
    # What only a super-admin handles is not shown to a logistics admin.
    assert 'data-part="panel-attention"' not in page.text


def test_an_empty_day_says_so(testapp, db):
    _login(testapp, db)
    page = testapp.get("/admin/")
    assert "厂内暂无车辆" in page.text and "没有同步失败的记录" in page.text and "尚无启用的品名" in page.text
    assert "LE 尚未推送装车道信息" in page.text


def test_panels_follow_the_admins_areas(testapp, db):
    factories.admin(db, "super", username="boss")
    login_admin(testapp, "boss")
    page = testapp.get("/admin/")
    names = re.findall(r'data-part="panel-([\w.]+)"', page.text)
    # The areas' panels first, the super-admin's last.
    assert names[0] == "logistics.arrivals" and names[-1] == "attention"
    assert "<strong>0</strong>待处理死信" in page.text

    testapp.reset()
    factories.admin(db, "visitors", username="fangke")
    login_admin(testapp, "fangke")
    page = testapp.get("/admin/")
    assert "data-part=" not in page.text and "data-live=" not in page.text and "暂无概览内容" in page.text


def test_the_attention_panel_lists_open_dead_letters(testapp, db):
    letter, _ = _dead_letter(db)
    factories.admin(db, "super", username="boss")
    login_admin(testapp, "boss")
    panel = _panel(testapp.get("/admin/"), "attention")
    assert "<strong>1</strong>待处理死信" in panel and f"/admin/dead-letters/{letter.id}" in panel and "HTTP 422" in panel


def test_the_live_endpoint_renders_the_panels_again(testapp, db):
    _login(testapp, db)
    product = _product(db)
    vehicle = _vehicle(db, _driver(db))
    booking = _planned(db, vehicle, product, hour=10)

    before = testapp.get("/admin/live", headers={"Accept": "application/json"})
    assert before.headers["Cache-Control"] == "no-store"
    assert re.fullmatch(r"\d\d:\d\d:\d\d", before.json["updated_at"])
    assert "panel-attention" not in before.json["parts"]
    assert "厂内暂无车辆" in before.json["parts"]["panel-logistics.inside"]

    booking.status, booking.entered_at = BookingStatus.entered, utcnow()  # as LE's truck.entered does
    db.flush()
    after = testapp.get("/admin/live").json["parts"]["panel-logistics.inside"]
    assert after.startswith('<section class="panel" data-part="panel-logistics.inside">') and "闽A12345" in after


@pytest.mark.parametrize("path", ["/admin/live", "/admin/logistics/lanes/live", "/admin/logistics/bookings/1/live",
                                  "/admin/logistics/drivers/1/live"])
def test_live_endpoints_need_an_admin_session(testapp, db, path):
    response = testapp.get(path, status=302)  # the page's script reads this as an expired session
    assert "/admin/login" in response.location


def test_the_lanes_board_shows_queues_and_trucks_not_queued(testapp, db):
    _login(testapp, db)
    inside, queued, _ = _day_at_the_gate(db)
    db.add(Lane(code="L9", name="9号装车道", status="flooded", updated_at=utcnow()))  # a status LE added
    db.flush()

    page = testapp.get("/admin/logistics/lanes")
    assert 'data-live="http://example.com/admin/logistics/lanes/live"' in page.text
    assert 'data-lane="L1" data-status="loading"' in page.text and 'tone-bad">flooded' in page.text
    unqueued = page.text[page.text.index('id="unqueued"'):]
    assert "闽A11111" in unqueued and "闽A22222" not in unqueued

    board = testapp.get("/admin/logistics/lanes/live").json["parts"]["live_board"]
    assert board.strip().startswith('<div data-part="live_board">') and "闽A22222" in board and "闽A11111" in board
    assert dashboard.unqueued(db) == [inside]


def test_a_booking_page_refreshes_while_it_is_pending(testapp, db):
    _login(testapp, db)
    product = _product(db)
    booking = _booking(db, _vehicle(db, _driver(db)), product, BookingStatus.checking)
    db.add(StockCheck(booking_id=booking.id))
    db.flush()

    page = testapp.get(f"/admin/logistics/bookings/{booking.id}")
    assert f'data-live="http://example.com/admin/logistics/bookings/{booking.id}/live" data-live-every="2" data-live-while-pending' in page.text
    assert 'id="booking-status" data-pending' in page.text

    parts = testapp.get(f"/admin/logistics/bookings/{booking.id}/live").json["parts"]
    assert set(parts) == {"live_facts", "live_checks", "live_timeline", "live_actions"}
    assert "取消登记" in parts["live_actions"] and "手动退卡" not in parts["live_actions"]
    assert "data-pending" in parts["live_facts"] and 'class="state-pending"' in parts["live_checks"]
    # Each part is the page's own markup.
    for html in parts.values():
        assert html.strip() in page.text

    booking.status = BookingStatus.registered
    booking.stock_checks[0].mark_synced()
    booking.mark_synced("LE-CARD-1")
    db.flush()
    parts = testapp.get(f"/admin/logistics/bookings/{booking.id}/live").json["parts"]
    assert "data-pending" not in parts["live_facts"] and "已登记" in parts["live_facts"] and "LE-CARD-1" in parts["live_facts"]
    assert "state-pending" not in parts["live_checks"]
    assert "手动退卡" in parts["live_actions"] and 'name="csrf_token"' in parts["live_actions"]  # a form that works as the page's
    testapp.get("/admin/logistics/bookings/999999/live", status=404)


def test_a_driver_page_refreshes_while_a_vehicle_is_pending(testapp, db):
    _login(testapp, db)
    driver = _driver(db)
    vehicle = _vehicle(db, driver)
    driver.mark_synced()
    parts = testapp.get(f"/admin/logistics/drivers/{driver.id}/live").json["parts"]
    assert set(parts) == {"live_driver", "live_vehicles"}
    assert "state-pending" not in parts["live_driver"] and 'class="state-pending"' in parts["live_vehicles"]
    vehicle.mark_synced()
    db.flush()
    assert "已同步" in testapp.get(f"/admin/logistics/drivers/{driver.id}/live").json["parts"]["live_vehicles"]
