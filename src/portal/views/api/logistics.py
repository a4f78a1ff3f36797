"""智慧物流 for drivers: profile, vehicles, entry reports, bookings, documents, lanes."""

from pyramid.renderers import render
from pyramid.view import view_config, view_defaults

from portal import forms, validation
from portal.models.logistics import BookingStatus, OrderStatus
from portal.services.logistics import bookings, drivers, entry_reports, orders, queries
from portal.services.logistics.policy import Policy
from portal.timefmt import api_time

from . import answer_once, json_body, json_response

MAX_PAGE = 50


def present_sync(record):
    return {"state": record.sync_state.value, "label": record.sync_state.label, "error": record.sync_error}


def present_driver(driver):
    escort = None
    if driver.escort_name:
        escort = {
            "name": driver.escort_name,
            "id_card_no": validation.mask_id_card(driver.escort_id_card_no),
            "qualification_no": driver.escort_qualification_no,
            "qualification_expires_on": api_time(driver.escort_qualification_expires_on),
        }
    return {
        "id": driver.id,
        "name": driver.name,
        "id_card_no": validation.mask_id_card(driver.id_card_no),
        "mobile": validation.mask_mobile(driver.mobile),
        "licence_no": driver.licence_no,
        "qualification_no": driver.qualification_no,
        "qualification_expires_on": api_time(driver.qualification_expires_on),
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
        "tank_inspection_expires_on": api_time(vehicle.tank_inspection_expires_on),
        "le_code": vehicle.external_ref,
        "sync": present_sync(vehicle),
    }


def present_booking(booking, timeline=False):
    body = {
        "id": booking.id,
        "kind": booking.kind.value,
        "kind_label": booking.kind.label,
        "product_code": booking.product_code,
        "product_name": booking.product.name,
        "quantity_kg": booking.quantity_kg,
        "vehicle": {"id": booking.vehicle_id, "plate_no": booking.vehicle.plate_no, "trailer_no": booking.vehicle.trailer_no},
        "planned_arrival_at": api_time(booking.planned_arrival_at),
        "status": booking.status.value,
        "status_label": booking.status.label,
        "reason": booking.reason,
        "expires_at": api_time(booking.expires_at),
        "card_no": booking.external_ref,
        "actual_quantity_kg": booking.actual_quantity_kg,
        "queue": {
            "lane_code": booking.lane_code, "lane_name": booking.lane.name if booking.lane else None,
            "position": booking.queue_position, "called_at": api_time(booking.called_at),
        },
        "created_at": api_time(booking.created_at),
        "le_sync": present_sync(booking),
        "check": present_sync(booking.stock_checks[-1]) if booking.stock_checks else None,
    }
    if timeline:
        # In the order things happened (lines added in this session join the loaded list at its end).
        timeline = sorted(booking.events, key=lambda e: e.at)
        body["timeline"] = [{"at": api_time(e.at), "kind": e.kind, "message": e.message} for e in timeline]
    return body


def present_order(order):
    return {
        "order_no": order.order_no,
        "booking_id": order.booking_id,
        "product_code": order.product_code,
        "product_name": order.product.name if order.product else None,
        "planned_quantity_kg": order.planned_quantity_kg,
        "actual_quantity_kg": order.actual_quantity_kg,
        "status": order.status.value,
        "status_label": order.status.label,
        "created_at": api_time(order.created_at),
        "shipped_at": api_time(order.shipped_at),
        "signed_quantity_kg": order.signed_quantity_kg,
        "signed_at": api_time(order.signed_at),
        "sign_sync": present_sync(order) if order.status == OrderStatus.signed else None,
    }


def driver_binding(request, user):
    """The ``driver`` section of ``GET /api/me``."""
    driver = drivers.driver_of(request.dbsession, user.id)
    return None if driver is None else {"id": driver.id, "name": driver.name, "sync": present_sync(driver)}


def present_report(report):
    return {
        "id": report.id, "vehicle_id": report.vehicle_id, "plate_no": report.vehicle.plate_no,
        "expected_on": api_time(report.expected_on), "purpose": report.purpose, "report_no": report.external_ref,
        "created_at": api_time(report.created_at), "sync": present_sync(report),
    }


def present_lane(lane):
    return {
        "code": lane.code, "name": lane.name, "status": lane.status, "status_label": lane.status_label,
        "loading_count": lane.loading_count, "waiting_count": lane.waiting_count, "updated_at": api_time(lane.updated_at),
    }


def present_place_in_queue(booking):
    return {
        "booking_id": booking.id, "lane_code": booking.lane_code, "lane_name": booking.lane.name if booking.lane else None,
        "position": booking.queue_position,
        "called": booking.called_at is not None, "status": booking.status.value, "status_label": booking.status.label,
    }


@view_defaults(renderer="json", permission="wechat", require_csrf=False, openapi=True)
class DriverApi:
    def __init__(self, request):
        self.request = request
        self.db = request.dbsession
        self.user_id = request.wechat_identity.user_id

    @property
    def driver(self):
        return drivers.require_driver(self.db, self.user_id)

    @property
    def policy(self):
        return self.request.policy(Policy)

    def _id(self):
        return int(self.request.matchdict["id"])

    def _created(self, body):
        self.request.response.status = 201
        return body

    # 人员信息登记
    @view_config(route_name="api.logistics.driver", request_method="GET")
    def get_driver(self):
        driver = drivers.driver_of(self.db, self.user_id)
        # The pages flag certificates expiring within these days.
        return {"driver": present_driver(driver) if driver else None, "expiry_warning_days": drivers.EXPIRY_WARNING_DAYS}

    @view_config(route_name="api.logistics.driver", request_method="PUT")
    def put_driver(self):
        return {"driver": present_driver(drivers.save_driver(self.db, self.request.wechat_user, json_body(self.request)))}

    # 车辆信息登记
    @view_config(route_name="api.logistics.vehicles", request_method="GET")
    def list_vehicles(self):
        return {
            "vehicles": [present_vehicle(v) for v in self.driver.vehicles if v.active],
            "expiry_warning_days": drivers.EXPIRY_WARNING_DAYS,
        }

    @view_config(route_name="api.logistics.vehicles", request_method="POST")
    def add_vehicle(self):
        return self._created({"vehicle": present_vehicle(drivers.add_vehicle(self.db, self.driver, json_body(self.request)))})

    @view_config(route_name="api.logistics.vehicle", request_method="PUT")
    def update_vehicle(self):
        vehicle = drivers.vehicle_of(self.db, self.driver, self._id())
        return {"vehicle": present_vehicle(drivers.update_vehicle(self.db, vehicle, json_body(self.request)))}

    @view_config(route_name="api.logistics.vehicle", request_method="DELETE")
    def remove_vehicle(self):
        drivers.remove_vehicle(self.db, drivers.vehicle_of(self.db, self.driver, self._id()))
        return {"ok": True}

    # 车辆入场报备
    @view_config(route_name="api.logistics.entry_reports", request_method="GET")
    def list_entry_reports(self):
        return {"entry_reports": [present_report(r) for r in queries.entry_reports_of(self.db, self.driver, MAX_PAGE)]}

    @view_config(route_name="api.logistics.entry_reports", request_method="POST")
    def report_entry(self):
        report = entry_reports.report_entry(self.db, self.driver, json_body(self.request))
        return self._created({"entry_report": present_report(report)})

    # 提送货登记
    @view_config(route_name="api.logistics.products", request_method="GET")
    def products(self):
        # The booking form offers arrival times within this many days.
        products = [{"code": p.code, "name": p.name} for p in queries.active_products(self.db)]
        return {"products": products, "max_days_ahead": self.policy.max_days_ahead}

    @view_config(route_name="api.logistics.bookings", request_method="GET")
    def list_bookings(self):
        params = self.request.params
        limit = forms.query_integer(params, "limit", 20, MAX_PAGE)
        before = forms.query_integer(params, "before")
        status = forms.query_choice(params, "status", {s.value for s in BookingStatus}, "未知的状态")
        identity = self.request.wechat_identity
        # The version was read with the token, before the bookings: an answer is never older
        # than its key.
        body = self.request.registry["list_cache"].get_or_build(
            ("bookings", identity.user_id, identity.data_version, limit, before, status),
            lambda: render("json", self._bookings_page(limit, before, status), self.request).encode(),
        )
        return json_response(200, body)

    def _bookings_page(self, limit, before, status):
        page = queries.bookings_of(self.db, self.driver, limit=limit, before=before, status=status and BookingStatus(status))
        return {"bookings": [present_booking(b) for b in page], "next_before": page[-1].id if len(page) == limit else None}

    @view_config(route_name="api.logistics.bookings", request_method="POST")
    def create_booking(self):
        def create():
            booking = bookings.create_booking(self.db, self.driver, json_body(self.request), self.policy)
            return 201, {"booking": present_booking(booking, timeline=True)}

        # A double tap or a retry after a lost answer books once (the H5 page sends a key per submission).
        return answer_once(self.request, create)

    @view_config(route_name="api.logistics.booking", request_method="GET")
    def get_booking(self):
        return {"booking": present_booking(bookings.booking_of(self.db, self.driver, self._id()), timeline=True)}

    @view_config(route_name="api.logistics.booking_cancel", request_method="POST")
    def cancel_booking(self):
        booking = bookings.booking_of(self.db, self.driver, self._id())
        return {"booking": present_booking(bookings.cancel_booking(self.db, booking, by="driver"), timeline=True)}

    # 单据查询 / 到货签收
    @view_config(route_name="api.logistics.orders", request_method="GET")
    def list_orders(self):
        params = self.request.params
        limit = forms.query_integer(params, "limit", 20, MAX_PAGE)
        choices = [s.value for s in OrderStatus]
        status = forms.query_choice(params, "status", choices, "未知的单据状态", "可选 " + "、".join(choices))
        found = queries.orders_of(
            self.db, self.driver, status=status, since=forms.query_date(params, "from"), until=forms.query_date(params, "to"),
            before=forms.query_integer(params, "before"), limit=limit,
        )
        return {
            "orders": [present_order(o) for o in found],
            "next_before": found[-1].id if len(found) == limit else None,
            # Shown on the sign-off form before the driver submits.
            "signoff_tolerance_percent": self.policy.signoff_tolerance_percent,
        }

    @view_config(route_name="api.logistics.order", request_method="GET")
    def get_order(self):
        order = queries.order_of(self.db, self.driver, self.request.matchdict["order_no"])
        return {"order": present_order(order), "signoff_tolerance_percent": self.policy.signoff_tolerance_percent}

    @view_config(route_name="api.logistics.orders_refresh", request_method="POST")
    def refresh_orders(self):
        orders.request_documents(self.db, self.driver)
        self.request.response.status = 202
        return {"ok": True, "message": "正在从物流系统刷新单据，请稍后查看"}

    @view_config(route_name="api.logistics.order_sign", request_method="POST")
    def sign_order(self):
        order = orders.sign_order(self.db, self.driver, self.request.matchdict["order_no"], json_body(self.request), self.policy)
        return {"order": present_order(order)}

    # 排队信息
    @view_config(route_name="api.logistics.lanes", request_method="GET")
    def lanes(self):
        return {
            "lanes": [present_lane(lane) for lane in queries.lanes(self.db)],
            "my_queue": [present_place_in_queue(b) for b in queries.queueing_bookings_of(self.db, self.driver)],
        }
