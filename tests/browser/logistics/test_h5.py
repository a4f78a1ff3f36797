"""The driver's journey on a phone: the H5 pages (frontend/, built) against the app, PostgreSQL,
Redis, a real worker and the LE, MES and WeChat simulators. Every write goes through a page;
the simulators' control endpoints play LE's side."""

import re

import requests
from sqlalchemy import update

from portal.db import Transaction
from portal.models.identity import ApiToken
from portal.models.meta import utcnow

from ...support import factories
from ...support.waiting import wait_for

CERTIFICATE_YEAR = str(utcnow().year + 2)


def _products(committed):
    with Transaction(committed) as db:
        factories.product(db, "NAOH32", "32%液碱")
        factories.product(db, "HCL31", "31%盐酸", threshold_kg=50_000)


def _pick_date(phone, name):
    """Open a date field and choose the same day two years on."""
    phone.page.click(f"input[name='{name}']")
    column = phone.page.locator(".van-popup >> visible=true").locator(".van-picker-column").first
    column.locator(f"li:has-text('{CERTIFICATE_YEAR}')").click()
    phone.pick()


def _register_driver(phone, docs=False):
    page = phone.page
    phone.open("/h5/logistics/driver")
    page.fill("input[name=name]", "李师傅")
    page.fill("input[name=id_card_no]", "110105194912310021")  # wrong check digit
    page.fill("input[name=mobile]", "1380000")
    page.fill("input[name=licence_no]", "350102199001011234")
    page.fill("input[name=qualification_no]", "3501002024000123")
    _pick_date(phone, "qualification_expires_on")
    page.click(".van-switch")  # 有押运员随车
    page.fill("input[name='escort.qualification_no']", "3501002024000456")
    _pick_date(phone, "escort.qualification_expires_on")
    page.click("button[type=submit]")
    page.wait_for_selector(".van-field__error-message")
    assert phone.error_under("id_card_no") == "身份证号不正确，请核对"
    assert phone.error_under("mobile") == "手机号格式不正确"
    assert phone.error_under("escort.name") == "请填写押运员姓名"
    assert phone.error_under("escort.id_card_no") == "请填写押运员身份证号"
    phone.shot("driver-field-errors", doc=docs and "driver-field-errors")

    # As a Chinese phone keyboard types them: full-width digits and ｘ.
    page.fill("input[name=id_card_no]", "１１０１０５１９４９１２３１００２ｘ")
    page.fill("input[name=mobile]", "１３８ ０００ ０００００")
    page.fill("input[name='escort.name']", "王押运")
    page.fill("input[name='escort.id_card_no']", "11010519491231002X")
    assert page.locator(".van-field__error-message").count() == 0  # each went as its field changed
    page.click("button[type=submit]")
    # A new driver goes on to the vehicle.
    page.wait_for_url("**/h5/logistics/vehicles/new")


def _add_vehicle(phone, docs=False):
    page = phone.page
    page.click("[data-province=plate_no]")
    page.locator(".grid button:has-text('闽') >> visible=true").click()
    page.fill("input[name=plate_no]", "a12345")
    page.fill("input[name=trailer_no]", "a12")  # too short for a trailer
    page.fill("input[name=tank_capacity_kg]", "30")
    page.fill("input[name=transport_permit_no]", "闽交运管榕字350100123456号")
    _pick_date(phone, "tank_inspection_expires_on")
    page.click(".van-cell:has-text('32%液碱')")
    page.click("button[type=submit]")
    page.wait_for_selector(".van-field__error-message")
    assert phone.error_under("trailer_no") == "挂车号格式不正确，应如“闽A1234挂”"
    assert page.input_value("input[name=plate_no]") == "A12345"
    page.fill("input[name=trailer_no]", "a1234")
    phone.shot("vehicle-form", doc=docs and "vehicle-form")
    page.click("button[type=submit]")
    page.wait_for_url("**/h5/logistics/vehicles")
    page.wait_for_selector("[data-plate='闽A12345']")
    assert "30 吨" in page.inner_text("[data-plate='闽A12345']")
    phone.shot("vehicles")


def _book(phone, kind, tonnes, doc=None):
    """提送货登记 through the form; returns the booking id once the result page shows a card."""
    page = phone.page
    phone.open("/h5/logistics/bookings/new")
    page.click(f"[data-kind={kind}]")
    # The only vehicle and the only product its tank carries are chosen already.
    assert page.input_value("input[name=vehicle_id]") == "闽A12345"
    assert page.input_value("input[name=product_code]") == "32%液碱"
    page.fill("input[name=quantity_kg]", tonnes)
    page.click("input[name=planned_arrival_at]")
    phone.pick()  # the earliest time offered
    phone.shot(f"{kind}-form", doc=doc)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/h5/logistics/bookings/\d+/result$"))
    booking_id = int(re.search(r"bookings/(\d+)/result", page.url).group(1))
    page.wait_for_selector("[data-test=card-no]", timeout=30_000)
    assert page.inner_text("h1") == "登记成功"
    return booking_id


def test_a_new_driver_registers_books_follows_the_visit_signs_off_and_cancels(phone, worker, committed, simulators, served_simulators):
    le = simulators["le"]
    _products(committed)
    page = phone.page

    # From the Official Account menu: WeChat's silent authorization, back on the page opened.
    phone.open("/h5/logistics")
    phone.login(nickname="微信用户")
    page.wait_for_url(phone.base + "/h5/logistics")
    phone.settle()
    assert "您还没有登记人员信息" in page.inner_text("[data-test=driver-state]")
    phone.shot("logistics-new-driver")

    _register_driver(phone, docs=True)
    _add_vehicle(phone, docs=True)

    # Quantity is checked against the tank while typing; the API decides.
    phone.open("/h5/logistics/bookings/new")
    page.fill("input[name=quantity_kg]", "35")
    assert phone.error_under("quantity_kg") == "超过罐体容量 30 吨"

    booking_id = _book(phone, "pickup", "25", doc="booking-form")
    card_no = page.inner_text("[data-test=card-no]")
    assert card_no == le.bookings[booking_id]["card_no"]
    assert "前入厂" in page.inner_text("[data-outcome=registered]")
    phone.shot("booking-registered", doc="booking-result")

    # The home page: the driver's name, the next booking with its card and deadline.
    phone.open("/h5/")
    assert page.inner_text(".area-header h1") == "您好，李师傅"
    assert page.inner_text("[data-test=next-booking] [data-test=card-no]") == card_no
    assert "入厂截止" in page.inner_text("[data-test=next-booking]")
    phone.shot("home", doc="home")

    # LE plays the truck's visit; the detail page follows it to 已出厂.
    phone.open(f"/h5/logistics/bookings/{booking_id}")
    requests.post(served_simulators["le"].url + "/_sim/visits", timeout=5,
                  json={"booking_id": booking_id, "actual_quantity_kg": 24960, "step_seconds": 1.5}).raise_for_status()
    page.wait_for_selector(".status-tag:not([data-status=registered])", timeout=30_000)
    phone.shot("booking-in-the-plant")
    phone.open("/h5/logistics/queue")
    phone.shot("queue")
    phone.open(f"/h5/logistics/bookings/{booking_id}")
    page.wait_for_selector(".status-tag[data-status=completed]", timeout=30_000)
    steps = page.locator(".van-step")
    assert steps.count() == 6
    assert [steps.nth(i).locator(".step-title").inner_text() for i in range(6)] == [
        "已登记", "已入厂", "已叫号（1号装车道）", "装车中", "已装车", "已出厂"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", steps.nth(i).locator(".step-time").inner_text()) for i in range(6))
    assert page.locator(".van-step--finish, .van-step--process").count() == 6
    phone.shot("booking-completed", doc="booking-visit")

    # 到货签收: prefilled with the shipped quantity, the tolerance shown before submitting.
    page.click("text=查看单据 / 到货签收")
    page.wait_for_selector("[data-order]")
    phone.shot("orders")
    order_no = page.get_attribute("[data-order]", "data-order")
    page.click(f"[data-order='{order_no}'] >> text=到货签收")
    page.wait_for_selector("[data-test=tolerance]")
    assert page.input_value("input[name=signed_quantity_kg]") == "24.96"
    assert "32%液碱" in page.inner_text(".fact-cells")  # the order's own product name (a single-order read)
    assert "不能超过 2%，即 24.461 – 25.459 吨" in page.inner_text("[data-test=tolerance]")
    page.fill("input[name=signed_quantity_kg]", "20")
    page.click("button[type=submit]")
    page.wait_for_selector(".van-field__error-message")
    assert "相差超过 2%" in phone.error_under("signed_quantity_kg")
    page.fill("input[name=signed_quantity_kg]", "24.9")
    page.fill("textarea[name=note]", "铅封完好")
    phone.shot("sign-off", doc="sign-off")
    page.click("button[type=submit]")
    page.wait_for_url("**/h5/logistics/orders?status=signed")
    page.wait_for_selector(f"[data-order='{order_no}']")
    wait_for(lambda: le.orders[order_no]["status"] == "signed", message="LE to get the sign-off")
    assert le.orders[order_no]["signed_quantity_kg"] == 24900
    phone.shot("orders-signed")

    # Another booking, cancelled with a confirmation: LE withdraws its card.
    second = _book(phone, "delivery", "10")
    page.click("text=查看登记详情")
    page.wait_for_selector(".status-tag[data-status=registered]")
    page.click("text=取消登记")
    page.wait_for_selector(".van-dialog >> text=确定取消这次送货登记")
    phone.shot("cancel-confirmation", full=False)
    page.click(".van-dialog__confirm")
    page.wait_for_selector(".status-tag[data-status=cancelled]")
    assert page.inner_text("[data-test=reason]").split() == ["取消原因", "驾驶员取消"]
    wait_for(lambda: le.bookings[second]["status"] == "cancelled", message="LE to withdraw the card")
    phone.shot("booking-cancelled")

    phone.open("/h5/logistics/bookings")
    tags = {b: page.get_attribute(f"[data-booking='{b}'] .status-tag", "data-status") for b in (booking_id, second)}
    assert tags == {booking_id: "completed", second: "cancelled"}
    phone.shot("bookings")


def test_refusals_show_where_they_belong(phone, worker, committed):
    _products(committed)
    page = phone.page
    phone.open("/h5/logistics/entry-reports")
    phone.login()
    page.wait_for_url("**/h5/logistics/entry-reports")
    phone.settle()
    assert "请先完成人员信息登记" in page.inner_text(".page-state")
    phone.shot("entry-report-needs-a-driver")

    _register_driver(phone)
    _add_vehicle(phone)

    # The profile shows masked numbers (stored in normal form); a change need not type them again.
    phone.open("/h5/logistics/driver")
    assert "110***********002X" in page.inner_text(".page") and "138****0000" in page.inner_text(".page")
    phone.shot("driver-profile")
    page.click("text=修改信息")
    assert page.input_value("input[name=id_card_no]") == "" and page.input_value("input[name=mobile]") == ""
    page.fill("input[name=licence_no]", "350102199001019999")
    page.click("button[type=submit]")
    page.wait_for_selector("text=350102199001019999")
    assert "110***********002X" in page.inner_text(".page") and "138****0000" in page.inner_text(".page")
    # A vehicle is changed in its own form.
    phone.open("/h5/logistics/vehicles")
    page.click("[data-plate='闽A12345'] >> text=修改")
    page.wait_for_selector("input[name=tank_capacity_kg]")
    assert page.input_value("input[name=plate_no]") == "A12345" and page.input_value("input[name=tank_capacity_kg]") == "30"
    page.fill("input[name=tank_capacity_kg]", "28.5")
    page.click("button[type=submit]")
    page.wait_for_url("**/h5/logistics/vehicles")
    page.wait_for_selector("[data-plate='闽A12345'] >> text=28.5 吨")

    # A lost answer: the page says so and loads again on 重新加载.
    page.route("**/api/logistics/entry-reports", lambda route: route.abort())
    page.goto(phone.base + "/h5/logistics/entry-reports")
    page.wait_for_selector("text=网络连接失败，请检查网络后重试")
    phone.shot("network-error")
    page.unroute("**/api/logistics/entry-reports")
    page.click("text=重新加载")
    page.wait_for_selector("text=报备记录")

    # 车辆入场报备: the API's problem under its field, then the report in the history.
    phone.open("/h5/logistics/entry-reports")
    page.click("button[type=submit]")
    page.wait_for_selector(".van-field__error-message")
    assert phone.error_under("purpose") == "请填写入场事由"
    phone.shot("entry-report-error")
    page.fill("textarea[name=purpose]", "首次提货")
    # The page's CSRF token has gone stale (another tab logged in again, say): the API says so
    # (403 csrf, not 401), the page takes a fresh token and sends the report again — the form
    # is not lost to a new login.
    answers = []
    page.on("response", lambda response: answers.append((response.request.method, response.url, response.status)))

    page.route("**/api/logistics/entry-reports", lambda route: route.continue_(headers={**route.request.headers, "x-csrf-token": "stale"}),
               times=1)
    page.click("button[type=submit]")
    report = page.wait_for_selector("[data-report]")
    writes = [(method, status) for method, url, status in answers if url.endswith("/api/logistics/entry-reports") and method == "POST"]
    assert writes == [("POST", 403), ("POST", 201)]
    page.wait_for_selector("[data-report] >> text=LE-R-", timeout=30_000)
    assert "闽A12345" in report.inner_text()
    phone.shot("entry-reports")

    # 装货人查验 refuses a quantity over the tank's capacity with its reasons.
    phone.open("/h5/logistics/bookings/new")
    page.fill("input[name=quantity_kg]", "29")
    page.click("input[name=planned_arrival_at]")
    phone.pick()
    page.click("button[type=submit]")
    dialog = page.wait_for_selector(".van-dialog")
    assert "装货人查验未通过" in dialog.inner_text() and "登记数量 29 吨超过罐体容量 28.5 吨" in dialog.inner_text()
    phone.shot("booking-check-failed", full=False)


def test_an_id_number_registered_from_another_account_says_how_to_move_it(phone, committed):
    with Transaction(committed) as db:
        factories.driver(db, id_card_no="11010519491231002X")
    page = phone.page
    phone.open("/h5/logistics/driver")
    phone.login(nickname="新手机")
    page.wait_for_url(phone.base + "/h5/logistics/driver")
    phone.settle()
    page.fill("input[name=name]", "李师傅")
    page.fill("input[name=id_card_no]", "１１０１０５１９４９１２３１００２ｘ")
    page.fill("input[name=mobile]", "13800000000")
    page.fill("input[name=licence_no]", "350102199001011234")
    page.fill("input[name=qualification_no]", "3501002024000123")
    _pick_date(phone, "qualification_expires_on")
    page.click("button[type=submit]")
    dialog = page.wait_for_selector(".van-dialog")
    assert "身份证号已登记" in dialog.inner_text() and "告知本账号编号" in dialog.inner_text()
    phone.shot("driver-id-card-registered", full=False)
    page.click("text=知道了")
    assert phone.error_under("id_card_no") == "该身份证号已由另一个微信账号登记"


def test_an_expired_session_comes_back_to_the_same_page(phone, committed):
    page = phone.page
    phone.open("/h5/logistics")
    phone.login(nickname="赵师傅")
    page.wait_for_url(phone.base + "/h5/logistics")
    phone.settle()

    def expire():
        with Transaction(committed) as db:
            db.execute(update(ApiToken).values(expires_at=utcnow()))

    # Inside the app: the next API call answers 401, WeChat authorizes again, same page.
    expire()
    page.click(".van-grid-item:has-text('排队信息')")
    page.wait_for_selector("text=以“赵师傅”身份授权")
    assert page.title() == "模拟微信授权" and "scope=snsapi_base" in page.url
    phone.shot("authorize-again")
    phone.login("赵师傅")
    page.wait_for_url(phone.base + "/h5/logistics/queue")
    phone.settle()
    assert "请先完成人员信息登记" in page.inner_text(".page-state")
    phone.shot("back-on-the-queue-page")

    # Opening a page with an expired session (a link in a message): the same.
    expire()
    phone.open("/h5/logistics/orders?status=shipped")
    phone.login("赵师傅")
    page.wait_for_url(phone.base + "/h5/logistics/orders?status=shipped")
    phone.settle()
    assert page.inner_text(".van-tab--active") == "待签收"
