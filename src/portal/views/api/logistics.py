"""智慧物流 for drivers: profile, vehicles, entry reports, bookings, documents, lanes."""

from datetime import date

from pyramid.renderers import render
from pyramid.response import Response
from pyramid.view import view_config, view_defaults
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from portal import outbox, validation
from portal.models.logistics import Booking, BookingStatus, EntryReport, Lane, Product
from portal.services import logistics

from . import api_error, json_body
from .me import BINDINGS

MAX_PAGE = 50


def _policy(request):
    return logistics.Policy.from_settings(request.registry.settings)


def _refused(exc):
    return api_error(exc.status, exc.code, exc.message, exc.fields)


def _iso(value):
    return value.isoformat() if value else None


def present_sync(record):
    return {"state": record.sync_state.value, "label": record.sync_label, "error": record.sync_error}


def present_driver(driver):
    escort = None
    if driver.escort_name:
        escort = {
            "name": driver.escort_name,
            "id_card_no": validation.mask_id_card(driver.escort_id_card_no),
            "qualification_no": driver.escort_qualification_no,
            "qualification_expires_on": _iso(driver.escort_qualification_expires_on),
        }
    return {
        "id": driver.id,
        "name": driver.name,
        "id_card_no": validation.mask_id_card(driver.id_card_no),
        "mobile": validation.mask_mobile(driver.mobile),
        "licence_no": driver.licence_no,
        "qualification_no": driver.qualification_no,
        "qualification_expires_on": _iso(driver.qualification_expires_on),
        "escort": escort,
        "le_code": driver.external_ref,
        "sync": present_sync(driver),
    }


def present_vehicle(vehicle):
    return {
        "id": vehicle.id,
        "plate_no": vehicle.plate_no,
        "trailer_no": vehicle.trailer_no,
        "tank_capacity_kg": vehicle.tank_capacity_kg,
        "approved_products": vehicle.approved_products,
        "transport_permit_no": vehicle.transport_permit_no,
        "tank_inspection_expires_on": _iso(vehicle.tank_inspection_expires_on),
        "le_code": vehicle.external_ref,
        "sync": present_sync(vehicle),
    }


def present_booking(booking, timeline=False):
    body = {
        "id": booking.id,
        "kind": booking.kind.value,
        "kind_label": booking.kind_label,
        "product_code": booking.product_code,
        "product_name": booking.product.name,
        "quantity_kg": booking.quantity_kg,
        "vehicle": {"id": booking.vehicle_id, "plate_no": booking.vehicle.plate_no, "trailer_no": booking.vehicle.trailer_no},
        "planned_arrival_at": _iso(booking.planned_arrival_at),
        "status": booking.status.value,
        "status_label": booking.status_label,
        "reason": booking.reason,
        "expires_at": _iso(booking.expires_at),
        "card_no": booking.external_ref,
        "actual_quantity_kg": booking.actual_quantity_kg,
        "queue": {"lane_code": booking.lane_code, "position": booking.queue_position, "called_at": _iso(booking.called_at)},
        "created_at": _iso(booking.created_at),
        "le_sync": present_sync(booking),
        "check": present_sync(booking.stock_checks[-1]) if booking.stock_checks else None,
    }
    if timeline:
        body["timeline"] = [{"at": _iso(e.at), "kind": e.kind, "message": e.message} for e in booking.events]
    return body


def present_order(order):
    return {
        "order_no": order.order_no,
        "booking_id": order.booking_id,
        "product_code": order.product_code,
        "planned_quantity_kg": order.planned_quantity_kg,
        "actual_quantity_kg": order.actual_quantity_kg,
        "status": order.status,
        "status_label": order.status_label,
        "created_at": _iso(order.created_at),
        "shipped_at": _iso(order.shipped_at),
        "signed_quantity_kg": order.signed_quantity_kg,
        "signed_at": _iso(order.signed_at),
        "sign_sync": present_sync(order) if order.status == "signed" else None,
    }


def _driver_binding(request, user):
    driver = logistics.driver_of(request.dbsession, user.id)
    return None if driver is None else {"id": driver.id, "name": driver.name, "sync": present_sync(driver)}


BINDINGS["driver"] = _driver_binding


def _int_param(request, name, default=None, maximum=None):
    value = request.params.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise api_error(400, "invalid", f"参数 {name} 须为整数", {name: "须为整数"}) from None
    if number < 1:
        raise api_error(400, "invalid", f"参数 {name} 须为正整数", {name: "须为正整数"})
    return min(number, maximum) if maximum else number


def _date_param(request, name):
    value = request.params.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise api_error(400, "invalid", f"参数 {name} 格式应为 YYYY-MM-DD", {name: "格式应为 YYYY-MM-DD"}) from None


@view_defaults(renderer="json", permission="wechat", require_csrf=False, openapi=True)
class DriverApi:
    def __init__(self, request):
        self.request = request
        self.db = request.dbsession
        self.user_id = request.wechat_identity.user_id

    @property
    def driver(self):
        try:
            return logistics.require_driver(self.db, self.user_id)
        except logistics.LogisticsError as exc:
            raise _refused(exc) from None

    def _do(self, change, *args, **kwargs):
        try:
            return change(*args, **kwargs)
        except logistics.LogisticsError as exc:
            raise _refused(exc) from None

    # 人员信息登记
    @view_config(route_name="api.logistics.driver", request_method="GET")
    def get_driver(self):
        driver = logistics.driver_of(self.db, self.user_id)
        return {"driver": present_driver(driver) if driver else None}

    @view_config(route_name="api.logistics.driver", request_method="PUT")
    def put_driver(self):
        driver = self._do(logistics.save_driver, self.db, self.request.wechat_user, json_body(self.request))
        return {"driver": present_driver(driver)}

    # 车辆信息登记
    @view_config(route_name="api.logistics.vehicles", request_method="GET")
    def list_vehicles(self):
        return {"vehicles": [present_vehicle(v) for v in self.driver.vehicles if v.active]}

    @view_config(route_name="api.logistics.vehicles", request_method="POST")
    def add_vehicle(self):
        vehicle = self._do(logistics.add_vehicle, self.db, self.driver, json_body(self.request))
        self.request.response.status = 201
        return {"vehicle": present_vehicle(vehicle)}

    @view_config(route_name="api.logistics.vehicle", request_method="PUT")
    def update_vehicle(self):
        vehicle = self._do(logistics.vehicle_of, self.db, self.driver, int(self.request.matchdict["id"]))
        self._do(logistics.update_vehicle, self.db, vehicle, json_body(self.request))
        return {"vehicle": present_vehicle(vehicle)}

    @view_config(route_name="api.logistics.vehicle", request_method="DELETE")
    def remove_vehicle(self):
        vehicle = self._do(logistics.vehicle_of, self.db, self.driver, int(self.request.matchdict["id"]))
        self._do(logistics.remove_vehicle, self.db, vehicle)
        return {"ok": True}

    # 车辆入场报备
    @view_config(route_name="api.logistics.entry_reports", request_method="GET")
    def list_entry_reports(self):
        reports = self.db.scalars(
            select(EntryReport).where(EntryReport.driver_id == self.driver.id).order_by(EntryReport.id.desc()).limit(MAX_PAGE)
        )
        return {"entry_reports": [self._present_report(r) for r in reports]}

    @view_config(route_name="api.logistics.entry_reports", request_method="POST")
    def report_entry(self):
        report = self._do(logistics.report_entry, self.db, self.driver, json_body(self.request))
        self.request.response.status = 201
        return {"entry_report": self._present_report(report)}

    def _present_report(self, report):
        return {
            "id": report.id, "vehicle_id": report.vehicle_id, "plate_no": report.vehicle.plate_no,
            "expected_on": _iso(report.expected_on), "purpose": report.purpose, "report_no": report.external_ref,
            "created_at": _iso(report.created_at), "sync": present_sync(report),
        }

    # 提送货登记
    @view_config(route_name="api.logistics.products", request_method="GET")
    def products(self):
        products = self.db.scalars(select(Product).where(Product.active.is_(True)).order_by(Product.code))
        # The booking form offers arrival times within this many days.
        return {"products": [{"code": p.code, "name": p.name} for p in products], "max_days_ahead": _policy(self.request).max_days_ahead}

    @view_config(route_name="api.logistics.bookings", request_method="GET")
    def list_bookings(self):
        limit = _int_param(self.request, "limit", 20, MAX_PAGE)
        before = _int_param(self.request, "before")
        status = self.request.params.get("status") or None
        if status is not None and status not in {s.value for s in BookingStatus}:
            raise api_error(400, "invalid", "未知的状态", {"status": "未知的状态"})
        identity = self.request.wechat_identity
        # The version was read with the token, before the bookings: an answer is never older
        # than its key.
        body = self.request.registry["list_cache"].get_or_build(
            ("bookings", identity.user_id, identity.data_version, limit, before, status),
            lambda: render("json", self._bookings_page(limit, before, status), self.request).encode(),
        )
        return Response(body=body, content_type="application/json", charset="utf-8")

    def _bookings_page(self, limit, before, status):
        # Everything present_booking reads, in two queries instead of one per booking.
        query = (
            select(Booking)
            .where(Booking.driver_id == self.driver.id)
            .options(
                joinedload(Booking.vehicle, innerjoin=True),
                joinedload(Booking.product, innerjoin=True),
                selectinload(Booking.stock_checks),
            )
        )
        if before:
            query = query.where(Booking.id < before)
        if status:
            query = query.where(Booking.status == BookingStatus(status))
        bookings = self.db.scalars(query.order_by(Booking.id.desc()).limit(limit)).all()
        return {
            "bookings": [present_booking(b) for b in bookings],
            "next_before": bookings[-1].id if len(bookings) == limit else None,
        }

    @view_config(route_name="api.logistics.bookings", request_method="POST")
    def create_booking(self):
        booking = self._do(logistics.create_booking, self.db, self.driver, json_body(self.request), _policy(self.request))
        self.request.response.status = 201
        return {"booking": present_booking(booking, timeline=True)}

    @view_config(route_name="api.logistics.booking", request_method="GET")
    def get_booking(self):
        booking = self._do(logistics.booking_of, self.db, self.driver, int(self.request.matchdict["id"]))
        return {"booking": present_booking(booking, timeline=True)}

    @view_config(route_name="api.logistics.booking_cancel", request_method="POST")
    def cancel_booking(self):
        booking = self._do(logistics.booking_of, self.db, self.driver, int(self.request.matchdict["id"]))
        self._do(logistics.cancel_booking, self.db, booking, by="driver")
        return {"booking": present_booking(booking, timeline=True)}

    # 单据查询 / 到货签收
    @view_config(route_name="api.logistics.orders", request_method="GET")
    def list_orders(self):
        limit = _int_param(self.request, "limit", 20, MAX_PAGE)
        status = self.request.params.get("status") or None
        if status not in (None, "created", "shipped", "signed"):
            raise api_error(400, "invalid", "未知的单据状态", {"status": "可选 created、shipped、signed"})
        orders = logistics.orders_of(
            self.db, self.driver, status=status, since=_date_param(self.request, "from"),
            until=_date_param(self.request, "to"), before=_int_param(self.request, "before"), limit=limit,
        )
        return {
            "orders": [present_order(o) for o in orders],
            "next_before": orders[-1].id if len(orders) == limit else None,
            # Shown on the sign-off form before the driver submits.
            "signoff_tolerance_percent": _policy(self.request).signoff_tolerance_percent,
        }

    @view_config(route_name="api.logistics.orders_refresh", request_method="POST")
    def refresh_orders(self):
        from portal.actors.le import refresh_documents

        outbox.defer(self.db, refresh_documents, self.driver.id)
        self.request.response.status = 202
        return {"ok": True, "message": "正在从物流系统刷新单据，请稍后查看"}

    @view_config(route_name="api.logistics.order_sign", request_method="POST")
    def sign_order(self):
        order = self._do(
            logistics.sign_order, self.db, self.driver, self.request.matchdict["order_no"], json_body(self.request), _policy(self.request)
        )
        return {"order": present_order(order)}

    # 排队信息
    @view_config(route_name="api.logistics.lanes", request_method="GET")
    def lanes(self):
        lanes = self.db.scalars(select(Lane).order_by(Lane.code)).all()
        mine = self.db.scalars(
            select(Booking).where(
                Booking.driver_id == self.driver.id,
                Booking.status.in_([BookingStatus.registered, BookingStatus.entered, BookingStatus.loading]),
            )
        ).all()
        return {
            "lanes": [
                {"code": l.code, "name": l.name, "status": l.status, "status_label": l.status_label,
                 "loading_count": l.loading_count, "waiting_count": l.waiting_count, "updated_at": _iso(l.updated_at)}
                for l in lanes
            ],
            "my_queue": [
                {"booking_id": b.id, "lane_code": b.lane_code, "position": b.queue_position, "called": b.called_at is not None,
                 "status": b.status.value, "status_label": b.status_label}
                for b in mine
            ],
        }
