"""智慧物流 admin pages: bookings (filters, detail, cancel, 退卡, Excel), drivers, products, lanes."""

import re
from datetime import datetime, timedelta
from io import BytesIO
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from portal.models.admin import AuditEntry
from portal.models.logistics import (
    Booking,
    BookingEvent,
    BookingKind,
    BookingStatus,
    Driver,
    Lane,
    LeState,
    Product,
    StockCheck,
    Vehicle,
)
from portal.models.meta import utcnow
from portal.models.outbox import OutboxMessage
from portal.services.logistics.policy import Policy
from portal.timefmt import SHANGHAI
from portal.views.admin.logistics import bookings as views

from ...support import factories
from ...support.factories import csrf_from, login_admin

ID_CARD = "11010519491231002X"
MOBILE = "13800138000"
PAGES = [
    "/admin/logistics/bookings",
    "/admin/logistics/bookings.xlsx",
    "/admin/logistics/bookings/{booking}",
    "/admin/logistics/drivers",
    "/admin/logistics/drivers/{driver}",
    "/admin/logistics/products",
    "/admin/logistics/products/NAOH",
    "/admin/logistics/lanes",
    "/admin/logistics/le-events",
]


def _today():
    return datetime.now(SHANGHAI).date()


def _login(testapp, db):
    admin = factories.admin(db, "logistics", username="wuliu")
    login_admin(testapp, "wuliu")
    return admin


def _product(db, code="NAOH", name="液碱", **fields):
    product = Product(code=code, name=name, threshold_kg=fields.pop("threshold_kg", 0), active=True, **fields)
    db.add(product)
    db.flush()
    return product


def _driver(db, name="张师傅", expires_in=365, id_card_no=None, **fields):
    driver = Driver(
        user=factories.wechat_user(db), name=name, id_card_no=id_card_no or factories.unique_id_card(), mobile=MOBILE, licence_no="350102198001011234",
        qualification_no="QC-0001", qualification_expires_on=_today() + timedelta(days=expires_in), **fields,
    )
    db.add(driver)
    db.flush()
    return driver


def _vehicle(db, driver, plate="闽A12345", inspection_in=365, active=True):
    vehicle = Vehicle(
        driver=driver, plate_no=plate, trailer_no="闽A1234挂", tank_capacity_kg=30_000, approved_products=["NAOH"],
        transport_permit_no="闽交运管001", tank_inspection_expires_on=_today() + timedelta(days=inspection_in), active=active,
    )
    db.add(vehicle)
    db.flush()
    return vehicle


def _booking(db, vehicle, product, status=BookingStatus.registered, created_at=None, **fields):
    now = utcnow()
    booking = Booking(
        driver=vehicle.driver, vehicle=vehicle, product=product, kind=BookingKind.pickup, quantity_kg=20_000,
        planned_arrival_at=now + timedelta(hours=2), status=status,
        reserved_kg=20_000 if status in (BookingStatus.registered, BookingStatus.entered) else 0,
        expires_at=now + timedelta(hours=6), le_state=fields.pop("le_state", LeState.none), created_at=created_at or now, **fields,
    )
    db.add(booking)
    db.flush()
    return booking


def _world(db):
    product = _product(db)
    vehicle = _vehicle(db, _driver(db, id_card_no=ID_CARD))
    return product, vehicle, _booking(db, vehicle, product)


def _audit(db, action):
    return db.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


# -- permissions -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_admins_without_the_logistics_area_are_forbidden(testapp, db, path):
    factories.admin(db, "visitors", username="fangke")
    login_admin(testapp, "fangke")
    response = testapp.get(path.format(booking=1, driver=1), status=403)
    assert "没有访问该页面的权限" in response.text


def test_actions_without_the_logistics_area_are_forbidden(testapp, db):
    _, _, booking = _world(db)
    factories.admin(db, "visitors", username="fangke")
    login_admin(testapp, "fangke")
    token = csrf_from(testapp.get("/admin/"))
    testapp.post(f"/admin/logistics/bookings/{booking.id}", {"action": "cancel", "reason": "x", "csrf_token": token}, status=403)
    testapp.post("/admin/logistics/products", {"code": "HCL", "name": "盐酸", "threshold_kg": "0", "csrf_token": token}, status=403)
    testapp.post("/admin/logistics/products/NAOH", {"name": "改名", "threshold_kg": "0", "csrf_token": token}, status=403)
    assert booking.status is BookingStatus.registered
    assert db.get(Product, "HCL") is None and db.get(Product, "NAOH").name == "液碱"


def test_a_logistics_admin_gets_in_and_sees_the_navigation(testapp, db):
    _, vehicle, booking = _world(db)
    _login(testapp, db)
    for path in PAGES:
        testapp.get(path.format(booking=booking.id, driver=vehicle.driver_id), status=200)
    nav = testapp.get("/admin/").text.split("<nav>")[1].split("</nav>")[0]
    assert [label for label in ("概览", "提送货登记", "驾驶员与车辆", "品名与库存", "装车道", "LE 事件", "公众号用户") if label in nav] == [
        "概览", "提送货登记", "驾驶员与车辆", "品名与库存", "装车道", "LE 事件",
    ]
    assert nav.index("概览") < nav.index("提送货登记") < nav.index("装车道")
    testapp.get("/admin/logistics/bookings/999999", status=404)
    testapp.get("/admin/logistics/drivers/999999", status=404)
    testapp.get("/admin/logistics/products/NOPE", status=404)


# -- bookings ----------------------------------------------------------------------------------


def _listed(page):
    """Ids of the bookings a list page shows, in order."""
    return [int(i) for i in re.findall(r'href="[^"]*/admin/logistics/bookings/(\d+)"', page.text)]


def test_the_booking_list_filters_and_paginates(testapp, db):
    _login(testapp, db)
    product = _product(db)
    hcl = _product(db, "HCL", "盐酸")
    first = _vehicle(db, _driver(db, "张师傅"), "闽A12345")
    second = _vehicle(db, _driver(db, "李师傅"), "闽B67890")
    mine = [_booking(db, first, product) for _ in range(22)]
    cancelled = _booking(db, second, hcl, BookingStatus.cancelled, reason="驾驶员取消")
    # 23:30 and 00:30 Beijing time, either side of midnight (both 1 March in UTC).
    late = _booking(db, second, product, BookingStatus.completed, created_at=datetime.fromisoformat("2020-03-01T23:30:00+08:00"))
    early = _booking(db, second, product, BookingStatus.expired, created_at=datetime.fromisoformat("2020-03-02T00:30:00+08:00"))
    newest_first = sorted([b.id for b in mine] + [cancelled.id, late.id, early.id], reverse=True)

    # Newest first, 20 a page, by id: no count, no page numbers.
    page = testapp.get("/admin/logistics/bookings")
    assert _listed(page) == newest_first[:20]
    assert "20.000 吨" in page.text and "已登记" in page.text and "共" not in page.text
    assert "上一页" not in page.text and "首页" not in page.text
    older = page.click(description="下一页")
    assert older.request.GET["before"] == str(newest_first[19])
    assert _listed(older) == newest_first[20:] and "下一页" not in older.text
    assert _listed(older.click(description="上一页")) == newest_first[:20]
    assert _listed(older.click(description="首页")) == newest_first[:20]

    assert _listed(testapp.get("/admin/logistics/bookings", {"status": "cancelled"})) == [cancelled.id]
    assert len(_listed(testapp.get("/admin/logistics/bookings", {"plate": "b678"}))) == 3
    assert _listed(testapp.get("/admin/logistics/bookings", {"product": "HCL"})) == [cancelled.id]
    by_driver = testapp.get("/admin/logistics/bookings", {"driver": "张"})
    assert len(_listed(by_driver)) + len(_listed(by_driver.click(description="下一页"))) == 22

    assert _listed(testapp.get("/admin/logistics/bookings", {"from": "2020-03-02", "to": "2020-03-02"})) == [early.id]
    assert _listed(testapp.get("/admin/logistics/bookings", {"to": "2020-03-01"})) == [late.id]
    bad = testapp.get("/admin/logistics/bookings", {"from": "26/11/2026"})
    assert "日期格式应为 YYYY-MM-DD" in bad.text and _listed(bad) == newest_first[:20]

    # The export link and the page links carry the filters.
    filtered = testapp.get("/admin/logistics/bookings", {"plate": "闽A", "status": "registered"})
    assert "/admin/logistics/bookings.xlsx?status=registered&amp;plate=" in filtered.text
    registered_first = sorted((b.id for b in mine), reverse=True)
    assert _listed(filtered) == registered_first[:20]
    next_page = filtered.click(description="下一页")
    assert next_page.request.GET["plate"] == "闽A" and next_page.request.GET["status"] == "registered"
    assert _listed(next_page) == registered_first[20:]
    # A page asked for above the newest booking is simply the first page.
    assert _listed(testapp.get("/admin/logistics/bookings", {"after": newest_first[0]})) == newest_first[:20]


def test_the_booking_detail_shows_figures_timeline_and_le_state(testapp, db):
    _login(testapp, db)
    _, _, booking = _world(db)
    booking.le_state, booking.external_ref = LeState.registered, "LE-CARD-0042"
    booking.mark_failed("LE物流系统返回 HTTP 503")
    db.add(StockCheck(booking_id=booking.id, stock_kg=150_000, reserved_kg=40_000, threshold_kg=10_000, accepted=True))
    booking.events.append(BookingEvent(kind="created", message="提交提货登记：液碱 20000 千克", at=utcnow() - timedelta(minutes=5)))
    booking.events.append(BookingEvent(kind="stock_ok", message="库存核对通过：可用 110000 千克", at=utcnow()))
    db.flush()

    page = testapp.get(f"/admin/logistics/bookings/{booking.id}")
    timeline = page.text[page.text.index('id="timeline"'):]
    assert timeline.index("提交提货登记") < timeline.index("库存核对通过")
    assert "LE-CARD-0042" in page.text and "同步失败" in page.text and "HTTP 503" in page.text
    assert "150.000 吨" in page.text and "通过" in page.text
    assert "闽A12345" in page.text and "张师傅" in page.text
    assert ID_CARD not in page.text and "110***********002X" in page.text
    assert "取消登记" in page.text and "手动退卡" in page.text


def _act(testapp, booking, action, reason):
    page = testapp.get(f"/admin/logistics/bookings/{booking.id}")
    return testapp.post(
        f"/admin/logistics/bookings/{booking.id}", {"action": action, "reason": reason, "csrf_token": csrf_from(page)}, status=302
    ).follow()


def test_cancelling_needs_a_reason_and_is_audited(testapp, db):
    admin = _login(testapp, db)
    _, _, booking = _world(db)

    refused = _act(testapp, booking, "cancel", "   ")
    assert "请填写操作原因" in refused.text
    assert (booking.status, booking.reserved_kg) == (BookingStatus.registered, 20_000)
    assert not _audit(db, "booking.cancel")

    done = _act(testapp, booking, "cancel", "客户取消订单")
    assert f"已取消登记 #{booking.id}" in done.text
    assert (booking.status, booking.reserved_kg, booking.reason) == (BookingStatus.cancelled, 0, "客户取消订单")
    assert "客户取消订单" in done.text and "（管理员）" in done.text  # on the timeline
    [entry] = _audit(db, "booking.cancel")
    assert (entry.admin_username, entry.target_id, entry.note) == (admin.username, str(booking.id), "客户取消订单")
    assert (entry.before, entry.after) == ({"status": "registered"}, {"status": "cancelled"})
    pushes = db.scalars(select(OutboxMessage).where(OutboxMessage.actor_name == "le.sync_booking")).all()
    assert [row.args for row in pushes] == [[booking.id]]  # LE is told, once the transaction commits

    again = _act(testapp, booking, "cancel", "再取消一次")
    assert "不能取消" in again.text and len(_audit(db, "booking.cancel")) == 1
    assert "取消登记原因" not in again.text  # no action forms on an ended booking


def test_manual_expiry_is_only_for_registered_bookings(testapp, db):
    _login(testapp, db)
    product, vehicle, booking = _world(db)
    entered = _booking(db, vehicle, product, BookingStatus.entered)

    page = testapp.get(f"/admin/logistics/bookings/{entered.id}")
    assert "手动退卡" not in page.text
    refused = testapp.post(
        f"/admin/logistics/bookings/{entered.id}", {"action": "expire", "reason": "逾期", "csrf_token": csrf_from(page)}, status=302
    ).follow()
    assert "只有已登记的预约可以退卡" in refused.text
    assert (entered.status, entered.reserved_kg) == (BookingStatus.entered, 20_000)
    assert "请填写操作原因" in _act(testapp, booking, "expire", "").text
    assert booking.status is BookingStatus.registered

    done = _act(testapp, booking, "expire", "车辆故障，无法按时到厂")
    assert f"已为登记 #{booking.id} 手动退卡" in done.text
    assert (booking.status, booking.reserved_kg, booking.reason) == (BookingStatus.expired, 0, "车辆故障，无法按时到厂")
    [entry] = _audit(db, "booking.expire")
    assert (entry.before, entry.after) == ({"status": "registered"}, {"status": "expired"})


def test_the_excel_export_follows_the_filters(testapp, db, monkeypatch):
    _login(testapp, db)
    product = _product(db)
    first = _vehicle(db, _driver(db, "张师傅"), "闽A12345")
    second = _vehicle(db, _driver(db, "李师傅"), "闽B67890")
    wanted = [_booking(db, first, product, external_ref=f"CARD-{i}", le_state=LeState.registered) for i in range(3)]
    _booking(db, second, product)

    response = testapp.get("/admin/logistics/bookings.xlsx", {"plate": "闽A"})
    assert response.content_type == views.XLSX
    day = datetime.now(SHANGHAI).strftime("%Y%m%d")
    assert response.headers["Content-Disposition"].startswith("attachment; ")
    assert f"filename*=UTF-8''{quote(f'提送货登记-{day}.xlsx')}" in response.headers["Content-Disposition"]
    rows = list(load_workbook(BytesIO(response.body)).active.iter_rows(values_only=True))
    assert rows[0][:5] == ("编号", "类型", "品名", "数量（千克）", "实际数量（千克）")
    assert [row[0] for row in rows[1:]] == [b.id for b in reversed(wanted)]
    newest = rows[1]
    assert newest[1:4] == ("提货", "液碱", 20_000) and newest[5] == "闽A12345" and newest[7] == "张师傅"
    assert newest[9] == "已登记" and newest[11:13] == ("已登记", "CARD-2")
    assert newest[8] == wanted[2].planned_arrival_at.astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0)

    monkeypatch.setattr(views, "EXPORT_LIMIT", 2)
    capped = list(load_workbook(BytesIO(testapp.get("/admin/logistics/bookings.xlsx").body)).active.iter_rows(values_only=True))
    assert len(capped) == 4 and capped[3][0].startswith("仅导出前 2 条")


# -- drivers and vehicles ----------------------------------------------------------------------


def test_drivers_are_masked_and_expiring_certificates_flagged(testapp, db):
    _login(testapp, db)
    _product(db)
    expired = _driver(db, "过期", expires_in=-1)
    soon = _driver(db, "将到期", expires_in=10)
    fine = _driver(db, "正常", id_card_no=ID_CARD)
    escort = _driver(db, "押运", escort_name="王押运", escort_id_card_no=ID_CARD, escort_qualification_no="QE-1",
                     escort_qualification_expires_on=_today() + timedelta(days=3))
    tank = _driver(db, "罐检")
    _vehicle(db, tank, "闽C11111", inspection_in=5)
    removed = _driver(db, "已删车")
    _vehicle(db, removed, "闽D22222", inspection_in=-10, active=False)
    _vehicle(db, fine, "闽E33333")

    page = testapp.get("/admin/logistics/drivers")
    assert "共 6 条" in page.text
    assert ID_CARD not in page.text and "110***********002X" in page.text
    assert MOBILE not in page.text and "138****8000" in page.text
    assert "已过期" in page.text and "30天内到期" in page.text
    assert "闽C11111 罐检30天内到期" in page.text

    warned = testapp.get("/admin/logistics/drivers", {"warning": "yes"})
    assert "共 4 条" in warned.text
    for driver in (expired, soon, escort, tank):
        assert f"/admin/logistics/drivers/{driver.id}\"" in warned.text
    for driver in (fine, removed):
        assert f"/admin/logistics/drivers/{driver.id}\"" not in warned.text

    assert "共 1 条" in testapp.get("/admin/logistics/drivers", {"q": "将到"}).text
    by_plate = testapp.get("/admin/logistics/drivers", {"q": "e333"})
    assert "共 1 条" in by_plate.text and "正常" in by_plate.text


def test_the_driver_detail_lists_vehicles_and_recent_bookings(testapp, db):
    _login(testapp, db)
    product = _product(db)
    driver = _driver(db, escort_name="王押运", escort_id_card_no=ID_CARD, escort_qualification_no="QE-1",
                     escort_qualification_expires_on=_today() - timedelta(days=1))
    active = _vehicle(db, driver, "闽A12345", inspection_in=20)
    _vehicle(db, driver, "闽A54321", inspection_in=-30, active=False)
    booking = _booking(db, active, product)

    page = testapp.get(f"/admin/logistics/drivers/{driver.id}")
    assert ID_CARD not in page.text and MOBILE not in page.text
    assert "王押运" in page.text and "已过期" in page.text  # the escort's certificate
    assert "闽A12345" in page.text and "30天内到期" in page.text and "液碱" in page.text
    assert "闽A54321" in page.text and "已删除" in page.text
    assert f"/admin/logistics/bookings/{booking.id}" in page.text


# -- products ----------------------------------------------------------------------------------


def _create(testapp, status=302, **fields):
    page = testapp.get("/admin/logistics/products")
    form = {"code": "HCL", "name": "盐酸", "threshold_kg": "5000", "reservation_minutes": "", **fields}
    return testapp.post("/admin/logistics/products", {**form, "csrf_token": csrf_from(page)}, status=status)


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"code": "X"}, "code", "品名代码须为 2–32 位大写字母、数字或下划线"),
        ({"code": "HC-L"}, "code", "品名代码须为 2–32 位大写字母、数字或下划线"),
        ({"code": "NAOH"}, "code", "该品名代码已存在"),
        ({"name": ""}, "name", "请填写品名"),
        ({"name": "长" * 65}, "name", "品名不能超过 64 个字"),
        ({"threshold_kg": ""}, "threshold_kg", "请填写存量阈值（千克）"),
        ({"threshold_kg": "1.5"}, "threshold_kg", "存量阈值（千克）须为整数"),
        ({"threshold_kg": "-1"}, "threshold_kg", "存量阈值（千克）须在 0 到 1000000000 之间"),
        ({"reservation_minutes": "5"}, "reservation_minutes", "预约有效时长（分钟）须在 10 到 10080 之间"),
        ({"reservation_minutes": "10081"}, "reservation_minutes", "预约有效时长（分钟）须在 10 到 10080 之间"),
        ({"reservation_minutes": "两小时"}, "reservation_minutes", "预约有效时长（分钟）须为整数"),
    ],
)
def test_an_invalid_product_is_refused_field_by_field(testapp, db, fields, field, message):
    _login(testapp, db)
    _product(db)
    response = _create(testapp, status=400, **fields)
    assert message in response.text and "提交的信息有误" in response.text
    assert f'name="{field}"' in response.text
    assert db.scalars(select(Product.code)).all() == ["NAOH"]
    assert not _audit(db, "product.create")


def test_a_product_is_created_listed_and_audited(testapp, db, settings):
    admin = _login(testapp, db)
    naoh = _product(db, stock_kg=100_000, stock_at=utcnow())
    _booking(db, _vehicle(db, _driver(db)), naoh)

    done = _create(testapp, code="hcl_31", reservation_minutes="120").follow()
    assert "已新增品名 HCL_31（盐酸）" in done.text
    product = db.get(Product, "HCL_31")
    assert (product.name, product.threshold_kg, product.reservation_minutes, product.active) == ("盐酸", 5000, 120, True)
    [entry] = _audit(db, "product.create")
    assert entry.admin_username == admin.username and entry.target_id == "HCL_31"
    assert entry.after == {"name": "盐酸", "threshold_kg": 5000, "reservation_minutes": 120, "active": True}

    # 液碱: 100 t in the tanks, 20 t held by the booking, 80 t available; 盐酸 has no MES figure yet.
    assert "100.000 吨" in done.text and "20.000 吨" in done.text and "80.000 吨" in done.text
    assert "未获取" in done.text and "120 分钟" in done.text
    assert f"默认 {Policy.from_settings(settings).reservation_minutes} 分钟" in done.text


def test_a_product_is_edited_with_validation_and_audit(testapp, db):
    admin = _login(testapp, db)
    product = _product(db, threshold_kg=1000)
    page = testapp.get("/admin/logistics/products/NAOH")
    assert 'value="液碱"' in page.text and 'value="1000"' in page.text

    def post(**fields):
        form = {"name": "液碱 32%", "threshold_kg": "8000", "reservation_minutes": "", "active": "on", **fields}
        return testapp.post("/admin/logistics/products/NAOH", {**form, "csrf_token": csrf_from(page)}, status="*")

    refused = post(name="", reservation_minutes="3")
    assert refused.status_int == 400 and "请填写品名" in refused.text and "须在 10 到 10080 之间" in refused.text
    assert (product.name, product.threshold_kg) == ("液碱", 1000)

    saved = post(active="").follow()
    assert "已保存品名 NAOH（液碱 32%）" in saved.text
    assert (product.name, product.threshold_kg, product.reservation_minutes, product.active) == ("液碱 32%", 8000, None, False)
    [entry] = _audit(db, "product.update")
    assert entry.admin_username == admin.username
    assert entry.before == {"name": "液碱", "threshold_kg": 1000, "reservation_minutes": None, "active": True}
    assert entry.after == {"name": "液碱 32%", "threshold_kg": 8000, "reservation_minutes": None, "active": False}

    unchanged = post(active="").follow()
    assert "没有修改任何内容" in unchanged.text and len(_audit(db, "product.update")) == 1


# -- lanes -------------------------------------------------------------------------------------


def test_the_lanes_page_shows_each_queue_in_order(testapp, db):
    _login(testapp, db)
    product = _product(db)
    db.add_all([
        Lane(code="L1", name="1号装车道", status="loading", loading_count=1, waiting_count=2, updated_at=utcnow()),
        Lane(code="L2", name="2号装车道", status="maintenance", updated_at=utcnow()),
    ])
    second = _booking(db, _vehicle(db, _driver(db, "排第二"), "闽A22222"), product, BookingStatus.entered, lane_code="L1", queue_position=2)
    first = _booking(db, _vehicle(db, _driver(db, "排第一"), "闽A11111"), product, BookingStatus.entered, lane_code="L1", queue_position=1,
                     called_at=utcnow())
    _booking(db, _vehicle(db, _driver(db, "已离队"), "闽A33333"), product, BookingStatus.completed, lane_code="L1")

    page = testapp.get("/admin/logistics/lanes")
    assert "1号装车道" in page.text and "装车中" in page.text and "检修" in page.text
    assert page.text.index("闽A11111") < page.text.index("闽A22222") < page.text.index("2号装车道")
    assert "闽A33333" not in page.text
    assert "已叫号" in page.text and "等待叫号" in page.text
    assert f"/admin/logistics/bookings/{first.id}" in page.text and f"/admin/logistics/bookings/{second.id}" in page.text
    assert "无排队车辆" in page.text  # lane 2
