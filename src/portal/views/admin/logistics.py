"""智慧物流 admin pages: bookings (with the Excel export), drivers and vehicles, products, lanes,
and the events LE sent; the lanes board and the booking and driver pages refresh themselves
(``*_live``, portal.views.admin.live)."""

import json
from functools import partial
from io import BytesIO
from urllib.parse import quote

from openpyxl import Workbook
from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.response import Response
from pyramid.view import view_config

from portal import validation
from portal.forms import Form, positive
from portal.models.logistics import Booking, BookingStatus, Driver, LeEventResult, Product, VisitFactKind
from portal.refusal import Refusal
from portal.services import audit
from portal.services.logistics import bookings as booking_rules
from portal.services.logistics import dashboard, queries
from portal.services.logistics import drivers as driver_rules
from portal.services.logistics import products as product_rules
from portal.services.logistics.policy import Policy
from portal.timefmt import SHANGHAI, today

from . import KeysetPage, Page, client_ip, form_errors, get_or_404, live

PERMISSION = "admin:logistics"
#: Rows in one Excel export; more would make a file few spreadsheets open comfortably.
EXPORT_LIMIT = 50_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_HEADERS = [
    "编号", "类型", "品名", "数量（千克）", "实际数量（千克）", "车牌", "挂车", "驾驶员", "计划到厂",
    "状态", "原因", "LE 状态", "LE 卡号", "创建时间",
]


def _people():
    """Template helpers: masked identifiers and expiry warnings as of today (Beijing)."""
    return {
        "mask_id_card": validation.mask_id_card,
        "mask_mobile": validation.mask_mobile,
        "expiry_warning": partial(driver_rules.expiry_warning, on=today()),
        "warning_days": driver_rules.EXPIRY_WARNING_DAYS,
    }


# -- 提送货登记 ---------------------------------------------------------------------------------


def _booking_query(request):
    """The filters of the list (and its export), the query they select, and their errors."""
    filters = {key: request.params.get(key, "").strip() for key in ("status", "product", "plate", "driver", "from", "to")}
    dates = Form(filters)
    query = queries.booking_list(
        status=BookingStatus(filters["status"]) if filters["status"] in {s.value for s in BookingStatus} else None,
        product=filters["product"], plate=filters["plate"], driver=filters["driver"],
        since=dates.date("from", "日期", required=False), until=dates.date("to", "日期", required=False),
    )
    return filters, query, dates.errors


@view_config(route_name="admin.logistics.bookings", renderer="admin/logistics/bookings.html", permission=PERMISSION)
def bookings(request):
    db = request.dbsession
    filters, query, errors = _booking_query(request)
    return {
        "page": KeysetPage(request, db, query, Booking.id),
        "filters": filters,
        "errors": errors,
        "statuses": list(BookingStatus),
        "products": queries.products(db),
        "export_url": request.route_url("admin.logistics.bookings_xlsx", _query={k: v for k, v in filters.items() if v}),
    }


def _excel_time(value):
    # Excel has no time zones: write the Beijing wall-clock time, to the second.
    return value.astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0) if value else None


def _export_row(booking):
    return [
        booking.id, booking.kind.label, booking.product.name, booking.quantity_kg, booking.actual_quantity_kg,
        booking.vehicle.plate_no, booking.vehicle.trailer_no, booking.driver.name, _excel_time(booking.planned_arrival_at),
        booking.status.label, booking.reason, booking.le_state.label, booking.external_ref,
        _excel_time(booking.created_at),
    ]


@view_config(route_name="admin.logistics.bookings_xlsx", permission=PERMISSION)
def export_bookings(request):
    _, query, _ = _booking_query(request)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("提送货登记")
    sheet.append(EXPORT_HEADERS)
    rows = queries.stream(request.dbsession, query, EXPORT_LIMIT + 1)
    for n, booking in enumerate(rows):
        if n == EXPORT_LIMIT:
            sheet.append([f"仅导出前 {EXPORT_LIMIT} 条，请缩小筛选范围后分批导出"])
            break
        sheet.append(_export_row(booking))
    rows.close()
    body = BytesIO()
    book.save(body)
    day = f"{today():%Y%m%d}"
    return Response(
        body=body.getvalue(),
        content_type=XLSX,
        content_disposition=f"attachment; filename=\"bookings-{day}.xlsx\"; filename*=UTF-8''{quote(f'提送货登记-{day}.xlsx')}",
    )


@view_config(
    route_name="admin.logistics.booking", request_method="GET", renderer="admin/logistics/booking.html", permission=PERMISSION
)
def booking(request):
    booking = get_or_404(request, Booking)
    db = request.dbsession
    return {
        "booking": booking, "checks": queries.stock_checks_of(db, booking), "le_events": queries.le_event_counts(db, booking),
        "facts": [booking.facts[kind] for kind in VisitFactKind if kind in booking.facts],
        "live": live.while_pending(request.route_url("admin.logistics.booking_live", id=booking.id)), **_people(),
    }


@view_config(route_name="admin.logistics.booking_live", renderer="json", permission=PERMISSION)
def booking_live(request):
    return live.answer(request, live.parts(request, "admin/logistics/booking.html", booking(request)))


@view_config(route_name="admin.logistics.booking", request_method="POST", permission=PERMISSION)
def change_booking(request):
    booking = get_or_404(request, Booking)
    db, admin, ip = request.dbsession, request.admin_session.admin, client_ip(request)
    reason = request.POST.get("reason")
    action = request.POST.get("action")
    try:
        if action == "cancel":
            booking_rules.admin_cancel_booking(db, booking, admin, request.policy(Policy), reason=reason, ip=ip)
            request.session.flash(f"已取消登记 #{booking.id}", "success")
        elif action == "expire":
            booking_rules.admin_expire_booking(db, booking, admin, request.policy(Policy), reason=reason, ip=ip)
            request.session.flash(f"已为登记 #{booking.id} 手动退卡", "success")
        else:
            request.session.flash("未知的操作", "error")
    except Refusal as refusal:
        request.session.flash(refusal.message, "error")
    return HTTPFound(request.route_url("admin.logistics.booking", id=booking.id))


# -- 驾驶员与车辆 -------------------------------------------------------------------------------


@view_config(route_name="admin.logistics.drivers", renderer="admin/logistics/drivers.html", permission=PERMISSION)
def drivers(request):
    q = request.params.get("q", "").strip()
    warning = request.params.get("warning", "")
    query = queries.driver_list(search=q, expiring_before=queries.expiring_soon(today()) if warning == "yes" else None)
    return {"page": Page(request, request.dbsession, query), "q": q, "warning": warning, **_people()}


def _driver_context(request, driver, move=None, errors=None, target=None):
    db = request.dbsession
    return {
        "driver": driver, "bookings": queries.recent_bookings_of(db, driver), "product_names": queries.product_names(db),
        "history": audit.history_of(db, "driver", driver.id), "move": move or {}, "errors": errors or {}, "target": target,
        "live": live.while_pending(request.route_url("admin.logistics.driver_live", id=driver.id)), **_people(),
    }


@view_config(
    route_name="admin.logistics.driver", request_method="GET", renderer="admin/logistics/driver.html", permission=PERMISSION
)
def driver(request):
    return _driver_context(request, get_or_404(request, Driver))


@view_config(route_name="admin.logistics.driver_live", renderer="json", permission=PERMISSION)
def driver_live(request):
    return live.answer(request, live.parts(request, "admin/logistics/driver.html", driver(request)))


@view_config(
    route_name="admin.logistics.driver", request_method="POST", renderer="admin/logistics/driver.html", permission=PERMISSION
)
def move_driver(request):
    """转移微信账号 in two steps: the target account shown for confirmation, then the move."""
    driver = get_or_404(request, Driver)
    db = request.dbsession
    move = {"target": request.POST.get("target", "").strip(), "reason": request.POST.get("reason", "").strip()}
    try:
        if request.POST.get("confirmed") != "yes":
            audit.required_reason(move["reason"])
            return _driver_context(request, driver, move, target=driver_rules.move_target(db, driver, move["target"]))
        admin = request.admin_session.admin
        driver_rules.move_driver(db, driver, move["target"], admin, reason=move["reason"], ip=client_ip(request))
    except Refusal as refusal:
        request.response.status = refusal.status
        return _driver_context(request, driver, move, form_errors(refusal))
    request.session.flash(f"已将驾驶员 {driver.name} 转移到微信用户 #{driver.user_id}", "success")
    return HTTPFound(request.route_url("admin.logistics.driver", id=driver.id))


# -- 品名与库存 ---------------------------------------------------------------------------------


def _products_context(request, form=None, errors=None):
    return {
        "rows": queries.products_with_reservations(request.dbsession),
        "default_minutes": request.policy(Policy).reservation_minutes,
        "window": product_rules.WINDOW_MINUTES,
        "form": form or {},
        "errors": errors or {},
    }


@view_config(
    route_name="admin.logistics.products", request_method="GET", renderer="admin/logistics/products.html", permission=PERMISSION
)
def products(request):
    return _products_context(request)


@view_config(
    route_name="admin.logistics.products", request_method="POST", renderer="admin/logistics/products.html", permission=PERMISSION
)
def create_product(request):
    form = request.POST.mixed()
    try:
        product = product_rules.create_product(request.dbsession, form, request.admin_session.admin, ip=client_ip(request))
    except Refusal as refusal:
        request.response.status = 400
        return _products_context(request, form, form_errors(refusal))
    request.session.flash(f"已新增品名 {product.code}（{product.name}）", "success")
    return HTTPFound(request.route_url("admin.logistics.products"))


def _product_or_404(request):
    product = request.dbsession.get(Product, request.matchdict["code"])
    if product is None:
        raise HTTPNotFound()
    return product


def _product_context(request, product, form, errors=None):
    return {
        "product": product, "form": form, "errors": errors or {},
        "default_minutes": request.policy(Policy).reservation_minutes, "window": product_rules.WINDOW_MINUTES,
    }


@view_config(
    route_name="admin.logistics.product", request_method="GET", renderer="admin/logistics/product.html", permission=PERMISSION
)
def product(request):
    product = _product_or_404(request)
    form = {
        "name": product.name, "threshold_kg": product.threshold_kg,
        "reservation_minutes": product.reservation_minutes or "", "active": "on" if product.active else "",
    }
    return _product_context(request, product, form)


@view_config(
    route_name="admin.logistics.product", request_method="POST", renderer="admin/logistics/product.html", permission=PERMISSION
)
def update_product(request):
    product = _product_or_404(request)
    form = request.POST.mixed()
    try:
        admin = request.admin_session.admin
        changed = product_rules.update_product(request.dbsession, product, form, admin, ip=client_ip(request))
    except Refusal as refusal:
        request.response.status = 400
        return _product_context(request, product, form, form_errors(refusal))
    if changed:
        request.session.flash(f"已保存品名 {product.code}（{product.name}）", "success")
    else:
        request.session.flash("没有修改任何内容", "info")
    return HTTPFound(request.route_url("admin.logistics.product", code=product.code))


# -- 装车道 -------------------------------------------------------------------------------------


@view_config(route_name="admin.logistics.lanes", renderer="admin/logistics/lanes.html", permission=PERMISSION)
def lanes(request):
    db = request.dbsession
    lanes, queues = queries.lane_queues(db)
    page = live.every(request.route_url("admin.logistics.lanes_live"), seconds=10)
    return {"lanes": lanes, "queues": queues, "unqueued": dashboard.unqueued(db), "live": page}


@view_config(route_name="admin.logistics.lanes_live", renderer="json", permission=PERMISSION)
def lanes_live(request):
    return live.answer(request, live.parts(request, "admin/logistics/lanes.html", lanes(request)))


# -- LE 事件 ------------------------------------------------------------------------------------

#: What an operator filters LE's events by (a duplicate is only an answer, never a row).
EVENT_RESULTS = (LeEventResult.applied, LeEventResult.ignored, LeEventResult.conflict)


@view_config(route_name="admin.logistics.le_events", renderer="admin/logistics/le_events.html", permission=PERMISSION)
def le_events(request):
    filters = {key: request.params.get(key, "").strip() for key in ("result", "booking")}
    result = LeEventResult(filters["result"]) if filters["result"] in EVENT_RESULTS else None
    booking_id = positive(filters["booking"])
    query = queries.le_event_list(result=result, booking_id=booking_id if booking_id and booking_id < 2**63 else None)
    return {
        "page": Page(request, request.dbsession, query, per_page=50), "filters": filters, "results": EVENT_RESULTS,
        "as_json": partial(json.dumps, ensure_ascii=False),
    }
