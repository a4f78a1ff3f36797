"""提送货登记 admin pages: the list (with its Excel export), a booking, its live parts and the
operators' cancel and 手动退卡."""

from io import BytesIO
from urllib.parse import quote

from openpyxl import Workbook
from pyramid.httpexceptions import HTTPFound
from pyramid.response import Response
from pyramid.view import view_config

from portal.forms import Form
from portal.models.logistics import Booking, BookingStatus, VisitFactKind
from portal.refusal import Refusal
from portal.services.logistics import bookings as booking_rules
from portal.services.logistics import queries
from portal.services.logistics.policy import Policy
from portal.timefmt import SHANGHAI, today

from .. import KeysetPage, client_ip, get_or_404, live
from . import PERMISSION, people

#: Rows in one Excel export; more would make a file few spreadsheets open comfortably.
EXPORT_LIMIT = 50_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_HEADERS = [
    "编号", "类型", "品名", "数量（千克）", "实际数量（千克）", "车牌", "挂车", "驾驶员", "计划到厂",
    "状态", "原因", "LE 状态", "LE 卡号", "创建时间",
]


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
        "live": live.while_pending(request.route_url("admin.logistics.booking_live", id=booking.id)), **people(),
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
