"""A simulator of LE (物流管理系统), the logistics system: docs/contract.md, section LE.

LE keeps portal's drivers, vehicles, entry reports and bookings (each write an upsert keyed by
portal's id; refused data answers 422 ``INVALID``), hands out a gate card per booking, lists
its outbound orders and lanes, and takes the driver's signature for an order.

LE also calls portal: :meth:`LeSimulator.play_visit` plays a truck's visit as LE's events
(``truck.entered`` … ``truck.exited``), signed with LE's app key and posted to the callback URL.
:class:`EventFaults` duplicates, reorders or drops them, as the contract warns they may be. An
event portal could not take (no answer, 429, 5xx) is sent again a little later, with the same
event id; any other answer is final — a 409 ``ORDER_CONFLICT`` is recorded and never retried.

Control endpoints besides the base's:

* ``GET /_sim/`` — a page listing bookings (with a button that plays a visit), lanes, outbound
  orders and sent events;
* ``POST /_sim/visits`` ``{"booking_id", "actual_quantity_kg"?, "lane_code"?, "step_seconds"?}``
  — plays a visit in the background;
* ``GET /_sim/state``, ``GET /_sim/events`` (the events sent), ``POST /_sim/events``
  ``{"type", "data", "event_id"?, "occurred_at"?}`` (send one, through the event faults),
  ``GET|PUT /_sim/event-faults``, ``POST /_sim/lanes/<code>`` ``{"status"}``.
"""

import html
import json
import random
import secrets
import threading
import time
import uuid
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from functools import partial
from urllib.parse import urlencode, urlsplit

import requests
from webob import Response

from portal.integrations.contract import signature
from portal.settings import CoreSettings, SystemSettings, Typed
from portal.timefmt import SHANGHAI

from .base import Reject, Replay
from .contract import ContractSimulator

KINDS = ("pickup", "delivery")
LANE_STATUSES = ("idle", "loading", "maintenance", "closed")
#: The lanes LE starts with: (code, name, status).
SEED_LANES = (("L1", "1号装车道", "idle"), ("L2", "2号装车道", "idle"), ("L3", "3号装车道", "maintenance"))
#: Without a given actual quantity, a truck is loaded short of its booking by up to this fraction.
MAX_SHORTFALL = 0.005
EVENT_TIMEOUT = 5
#: Seconds before each new attempt at an event portal could not take; then it is given up.
EVENT_RETRY_SECONDS = (0.5, 2.0)
ORDER_EVENT_FIELDS = ("order_no", "booking_id", "driver_id", "product_code", "planned_quantity_kg", "actual_quantity_kg")
LANE_CONTROL = "/_sim/lanes/"
PAGE_EVENTS = 50

KIND_LABELS = {"pickup": "提货", "delivery": "送货"}
BOOKING_LABELS = {
    "registered": "已登记",
    "cancelled": "已退卡",
    "entered": "已入厂",
    "loading": "装车中",
    "loaded": "已装车",
    "exited": "已出厂",
}
LANE_LABELS = {"idle": "空闲", "loading": "装车中", "maintenance": "检修", "closed": "关闭"}
ORDER_LABELS = {"created": "已创建", "shipped": "已发货", "signed": "已签收"}
EVENT_LABELS = {
    "truck.entered": "车辆入厂",
    "lane.changed": "装车道变化",
    "queue.called": "叫号",
    "loading.started": "开始装车",
    "truck.loaded": "装车完成",
    "outbound_order.created": "生成出库单",
    "truck.exited": "车辆出厂",
}
PAGE_TITLE = "LE物流系统模拟器"


@dataclass
class EventFaults:
    """How LE's events go wrong: sent twice, swapped pairwise within a visit, or lost."""

    duplicate_rate: float = 0.0
    reorder: bool = False
    drop_rate: float = 0.0

    def update(self, **changes):
        for name, value in changes.items():
            if name not in {f.name for f in fields(self)}:
                raise ValueError(f"unknown event fault {name!r}")
            expected = bool if name == "reorder" else (int, float)
            if not isinstance(value, expected):
                raise ValueError(f"{name} must be {'true or false' if expected is bool else 'a number'}")
            setattr(self, name, value)


@dataclass
class _Visit:
    """One truck's visit being played."""

    booking: dict
    lane: dict
    actual_quantity_kg: int | None

    @property
    def booking_id(self):
        return self.booking["booking_id"]


# -- validation: every refusal is a permanent 422 naming the field -----------------------------


def _invalid(name, problem):
    return Reject(422, "INVALID", f"{name} {problem}")


def _object(body):
    if not isinstance(body, dict):
        raise Reject(422, "INVALID", "body must be a JSON object")
    return body


def _text(body, name):
    value = body.get(name)
    if value is None:
        raise _invalid(name, "is required")
    if not isinstance(value, str) or not value.strip():
        raise _invalid(name, "must be a non-empty string")
    return value


def _integer(body, name, *, positive=False):
    value = body.get(name)
    if value is None:
        raise _invalid(name, "is required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(name, "must be an integer")
    if positive and value <= 0:
        raise _invalid(name, "must be greater than 0")
    return value


def _optional(body, name, kind, description):
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise _invalid(name, f"must be {description}")
    return value


def _seed_lanes():
    return {
        code: {"code": code, "name": name, "status": status, "loading": None, "queue": []}
        for code, name, status in SEED_LANES
    }


def _lane_json(lane):
    """A lane as the contract shows it; ``position`` counts the waiting trucks from 1."""
    return {
        "code": lane["code"],
        "name": lane["name"],
        "status": lane["status"],
        "loading_count": 0 if lane["loading"] is None else 1,
        "waiting_count": len(lane["queue"]),
        "queue": [
            {"booking_id": entry["booking_id"], "position": position, "called": entry["called"]}
            for position, entry in enumerate(lane["queue"], 1)
        ],
    }


def _advance(booking, status):
    # A withdrawn card stays withdrawn, even while a truck already inside finishes its visit.
    if booking["status"] != "cancelled":
        booking["status"] = status


@dataclass(frozen=True)
class LeSimulatorSettings(Typed):
    """``portal.le_callback_url``: where the LE simulator posts its events (default: our own)."""

    PREFIX = "portal.le_"

    callback_url: str | None = None


class LeSimulator(ContractSimulator):
    """LE's contract endpoints, and a Python API for tests and the page: :meth:`play_visit`,
    :meth:`call_to_lane`, :meth:`set_lane`, :meth:`send_event` and :meth:`state`;
    ``event_faults`` and ``sent_events`` concern the events sent to portal."""

    def __init__(self, app_key, app_secret, *, callback_url, clock=time.time):
        super().__init__("le", app_key, app_secret)
        self.callback_url = callback_url
        self.clock = clock
        #: Seconds between the events of a visit started from the page.
        self.page_step_seconds = 2.0
        self.event_retry_seconds = EVENT_RETRY_SECONDS
        self.route("POST", "/v1/drivers", self.upsert_driver, write=True)
        self.route("POST", "/v1/vehicles", self.upsert_vehicle, write=True)
        self.route("POST", "/v1/entry-reports", self.upsert_entry_report, write=True)
        self.route("POST", "/v1/bookings", self.upsert_booking, write=True)
        self.route("POST", "/v1/bookings/{booking_id}/cancel", self.cancel_booking, write=True)
        self.route("POST", "/v1/outbound-orders/{order_no}/sign", self.sign_outbound_order, write=True)
        self.route("GET", "/v1/outbound-orders", self.outbound_orders)
        self.route("GET", "/v1/lanes", self.list_lanes)
        self._controls = {
            ("POST", "/_sim/visits"): self._control_visit,
            ("GET", "/_sim/state"): lambda body: self.state(),
            ("GET", "/_sim/events"): lambda body: {"events": list(self.sent_events)},
            ("POST", "/_sim/events"): self._control_send_event,
            ("GET", "/_sim/event-faults"): lambda body: asdict(self.event_faults),
            ("PUT", "/_sim/event-faults"): self._control_event_faults,
        }
        # LE's records start empty, as after a reset.
        self.reset()

    @classmethod
    def from_settings(cls, settings, system="le"):
        """LE accepting portal's credentials, its events posted to ``portal.le_callback_url``
        (by default our own ``/api/le/events``)."""
        own = SystemSettings.of(settings, system)
        callback = LeSimulatorSettings.from_settings(settings).callback_url
        callback = callback or CoreSettings.from_settings(settings).public_url.rstrip("/") + "/api/le/events"
        return cls(own.app_key, own.app_secret, callback_url=callback)

    def reset(self):
        """Forget every record, sent event and event fault; the lanes are as seeded."""
        with self.lock:
            super().reset()
            self.drivers = {}
            self.vehicles = {}
            self.entry_reports = {}
            self.bookings = {}
            self.orders = {}
            self.lanes = _seed_lanes()
            self.sent_events = []
            self.event_faults = EventFaults()

    def state(self):
        """Everything LE holds, as JSON-ready lists."""
        with self.lock:
            return {
                "drivers": [dict(d) for d in self.drivers.values()],
                "vehicles": [dict(v) for v in self.vehicles.values()],
                "entry_reports": [dict(r) for r in self.entry_reports.values()],
                "bookings": [dict(b) for b in self.bookings.values()],
                "orders": [dict(o) for o in self.orders.values()],
                "lanes": [_lane_json(lane) for lane in self.lanes.values()],
            }

    def _now(self):
        # Whole seconds in Beijing time, as the contract's examples: 2026-11-26T09:12:00+08:00.
        return datetime.fromtimestamp(self.clock(), SHANGHAI).replace(microsecond=0)

    # -- the contract's endpoints (the base calls handlers holding self.lock) ---------------

    def upsert_driver(self, request, body):
        body = _object(body)
        driver_id = _integer(body, "driver_id")
        for name in ("name", "id_card_no", "mobile"):
            _text(body, name)
        _optional(body, "escort", dict, "an object or null")
        code = f"LE-D-{driver_id:06d}"
        self.drivers[driver_id] = {**body, "driver_code": code}
        return 200, {"driver_code": code}

    def upsert_vehicle(self, request, body):
        body = _object(body)
        vehicle_id = _integer(body, "vehicle_id")
        _integer(body, "driver_id")
        _text(body, "plate_no")
        _integer(body, "tank_capacity_kg", positive=True)
        _optional(body, "approved_products", list, "a list")
        _optional(body, "active", bool, "true or false")
        code = f"LE-V-{vehicle_id:06d}"
        self.vehicles[vehicle_id] = {**body, "active": body.get("active", True), "vehicle_code": code}
        return 200, {"vehicle_code": code}

    def upsert_entry_report(self, request, body):
        body = _object(body)
        report_id = _integer(body, "report_id")
        _text(body, "plate_no")
        report_no = f"LE-R-{report_id:06d}"
        self.entry_reports[report_id] = {**body, "report_no": report_no, "status": "received"}
        return 200, {"report_no": report_no, "status": "received"}

    def upsert_booking(self, request, body):
        body = _object(body)
        booking_id = _integer(body, "booking_id")
        if body.get("kind") not in KINDS:
            raise _invalid("kind", "must be pickup or delivery")
        _text(body, "product_code")
        _integer(body, "quantity_kg", positive=True)
        _text(body, "plate_no")
        # An update keeps the card and where the booking stands.
        known = self.bookings.get(booking_id)
        card_no = known["card_no"] if known else self._new_card_no()
        status = known["status"] if known else "registered"
        self.bookings[booking_id] = {**body, "card_no": card_no, "status": status}
        return 200, {"card_no": card_no}

    def _new_card_no(self):
        used = {booking["card_no"] for booking in self.bookings.values()}
        while True:
            card_no = f"K{random.randrange(10**8):08d}"
            if card_no not in used:
                return card_no

    def cancel_booking(self, request, body, booking_id):
        # Unknown or already cancelled: the same answer, the end state is what matters.
        booking = self.bookings.get(int(booking_id)) if booking_id.isdigit() else None
        if booking is not None:
            booking["status"] = "cancelled"
            self._leave_queues(booking["booking_id"])
        return 200, {"status": "cancelled"}

    def sign_outbound_order(self, request, body, order_no):
        body = _object(body)
        quantity = _integer(body, "signed_quantity_kg", positive=True)
        signed_at = _optional(body, "signed_at", str, "a string")
        order = self.orders.get(order_no)
        if order is None:
            raise Reject(404, "ORDER_NOT_FOUND", f"no outbound order {order_no}")
        if order["status"] == "signed":
            if order["signed_quantity_kg"] != quantity:
                raise Reject(409, "ALREADY_SIGNED", f"{order_no} was signed for {order['signed_quantity_kg']} kg")
            raise Replay(200, {"status": "signed"})
        order.update(status="signed", signed_quantity_kg=quantity, signed_at=signed_at or self._now().isoformat())
        return 200, {"status": "signed"}

    def outbound_orders(self, request, body):
        driver_id = request.GET.get("driver_id")
        if driver_id is not None and not driver_id.isdigit():
            raise _invalid("driver_id", "must be an integer")
        orders = [
            dict(order) for order in self.orders.values() if driver_id is None or order["driver_id"] == int(driver_id)
        ]
        return 200, {"orders": orders}

    def list_lanes(self, request, body):
        return 200, {"lanes": [_lane_json(lane) for lane in self.lanes.values()]}

    # -- events to portal --------------------------------------------------------------------

    def make_event(self, type, data, *, event_id=None, occurred_at=None):
        return {
            "event_id": event_id or "evt-" + uuid.uuid4().hex,
            "type": type,
            "occurred_at": occurred_at or self._now().isoformat(),
            "data": data,
        }

    def send_event(self, type, data, *, event_id=None, occurred_at=None):
        """Send one event to portal through the event faults: the HTTP status of the answer, or
        None when the event was dropped or portal could not be reached."""
        return self._deliver(self.make_event(type, data, event_id=event_id, occurred_at=occurred_at))

    def _deliver(self, event):
        faults = self.event_faults
        if random.random() < faults.drop_rate:
            self._sent(event, None, "dropped (simulated)")
            return None
        status = self._post(event)
        if random.random() < faults.duplicate_rate:
            status = self._post(event)
        return status

    def _post(self, event):
        """Post an event until portal takes or refuses it, or the attempts run out; the last status."""
        attempts = 0
        for delay in (*self.event_retry_seconds, None):
            attempts += 1
            status, error = self._post_once(event)
            if delay is None or not _transient(status):
                break
            time.sleep(delay)
        self._sent(event, status, error, attempts)
        return status

    def _post_once(self, event):
        """(HTTP status or None, what went wrong or None)."""
        body = json.dumps(event, ensure_ascii=False).encode()
        split = urlsplit(self.callback_url)
        path_qs = (split.path or "/") + (f"?{split.query}" if split.query else "")
        # Real time, not self.clock: portal checks the timestamp against its own clock.
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(16)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Portal-Key": self.app_key,
            "X-Portal-Timestamp": timestamp,
            "X-Portal-Nonce": nonce,
            "X-Portal-Signature": signature(self.app_secret, "POST", path_qs, timestamp, nonce, body),
        }
        try:
            response = requests.post(self.callback_url, data=body, headers=headers, timeout=EVENT_TIMEOUT)
        except requests.RequestException as exc:
            return None, f"{exc.__class__.__name__}: {exc}"
        if response.status_code < 400:
            return response.status_code, None
        try:
            error = response.json()["error"]
            return response.status_code, f"{error['code']}: {error['message']}"
        except (ValueError, KeyError, TypeError):
            return response.status_code, response.text[:200]

    def _sent(self, event, status, error, attempts=1):
        with self.lock:
            self.sent_events.append({"event": event, "status": status, "error": error, "attempts": attempts})

    # -- visits --------------------------------------------------------------------------------

    def _booking(self, booking_id, *statuses):
        booking = self.bookings.get(booking_id)
        if booking is None:
            raise ValueError(f"LE has no booking {booking_id}")
        if booking["status"] not in statuses:
            raise ValueError(f"booking {booking_id} is {booking['status']}")
        return booking

    def _lane(self, code, *statuses):
        lane = self.lanes.get(code)
        if lane is None:
            raise ValueError(f"LE has no lane {code}")
        if statuses and lane["status"] not in statuses:
            raise ValueError(f"lane {code} is {lane['status']}")
        return lane

    def _leave_queues(self, booking_id):
        for lane in self.lanes.values():
            lane["queue"] = [entry for entry in lane["queue"] if entry["booking_id"] != booking_id]

    def play_visit(self, booking_id, *, actual_quantity_kg=None, lane_code="L1", step_seconds=0.0, background=False):
        """Play a registered booking's truck through the gate, a lane and out again, sending
        LE's events in order ``step_seconds`` apart; returns the thread when ``background``.

        The outbound order is created shipped; the actual quantity is the given one, or the
        booked one less up to 0.5 %. Raises ValueError for a booking that is not registered
        (unknown, cancelled, visited already) or a lane that is unknown or out of service.
        """
        with self.lock:
            booking = self._booking(booking_id, "registered")
            lane = self._lane(lane_code, "idle", "loading")
            # The truck is in from now on: a second visit of the booking is refused.
            booking["status"] = "entered"
        visit = _Visit(booking, lane, actual_quantity_kg)
        if not background:
            self._play(visit, step_seconds)
            return None
        thread = threading.Thread(target=self._play, args=(visit, step_seconds), name=f"le-visit-{booking_id}", daemon=True)
        thread.start()
        return thread

    def _play(self, visit, step_seconds):
        held = None
        for index, step in enumerate(self._VISIT_STEPS):
            if index:
                time.sleep(step_seconds)
            with self.lock:
                event = step(self, visit)
            # Reordering holds an event back and sends it after the next one.
            if self.event_faults.reorder and held is None:
                held = event
                continue
            self._deliver(event)
            if held is not None:
                self._deliver(held)
                held = None
        if held is not None:
            self._deliver(held)

    def call_to_lane(self, booking_id, lane_code):
        """Queue a booking's truck at a lane and call it: lane.changed, then queue.called."""
        with self.lock:
            visit = _Visit(self._booking(booking_id, "registered", "entered"), self._lane(lane_code, "idle", "loading"), None)
            events = [self._truck_waits(visit), self._truck_called(visit)]
        for event in events:
            self._deliver(event)

    def set_lane(self, code, status):
        """Change a lane's status and send lane.changed; the HTTP status of portal's answer."""
        if status not in LANE_STATUSES:
            raise ValueError(f"lane status must be one of {', '.join(LANE_STATUSES)}")
        with self.lock:
            lane = self._lane(code)
            lane["status"] = status
            snapshot = _lane_json(lane)
        return self.send_event("lane.changed", snapshot)

    # The steps of a visit: each changes LE's state (under the lock) and makes its event.

    def _truck_entered(self, visit):
        return self.make_event("truck.entered", {"booking_id": visit.booking_id})

    def _truck_waits(self, visit):
        self._leave_queues(visit.booking_id)
        visit.lane["queue"].append({"booking_id": visit.booking_id, "called": False})
        return self.make_event("lane.changed", _lane_json(visit.lane))

    def _truck_called(self, visit):
        for entry in visit.lane["queue"]:
            if entry["booking_id"] == visit.booking_id:
                entry["called"] = True
        return self.make_event("queue.called", {"booking_id": visit.booking_id, "lane_code": visit.lane["code"]})

    def _loading_started(self, visit):
        self._leave_queues(visit.booking_id)
        visit.lane["loading"] = visit.booking_id
        if visit.lane["status"] == "idle":
            visit.lane["status"] = "loading"
        _advance(visit.booking, "loading")
        return self.make_event("loading.started", {"booking_id": visit.booking_id, "lane_code": visit.lane["code"]})

    def _truck_loaded(self, visit):
        booked = visit.booking["quantity_kg"]
        if visit.actual_quantity_kg is None:
            visit.actual_quantity_kg = booked - round(booked * random.uniform(0, MAX_SHORTFALL))
        visit.booking["actual_quantity_kg"] = visit.actual_quantity_kg
        _advance(visit.booking, "loaded")
        return self.make_event("truck.loaded", {"booking_id": visit.booking_id, "actual_quantity_kg": visit.actual_quantity_kg})

    def _new_order_no(self, now):
        # Random rather than counted: LE's records start empty again after a restart, while
        # portal keeps every number it was sent (a number used again would be refused, 409).
        while True:
            order_no = f"SO{now:%Y%m%d}{secrets.token_hex(5).upper()}"
            if order_no not in self.orders:
                return order_no

    def _order_created(self, visit):
        now = self._now()
        order_no = self._new_order_no(now)
        self.orders[order_no] = order = {
            "order_no": order_no,
            "booking_id": visit.booking_id,
            "driver_id": visit.booking.get("driver_id"),
            "product_code": visit.booking["product_code"],
            "planned_quantity_kg": visit.booking["quantity_kg"],
            "actual_quantity_kg": visit.actual_quantity_kg,
            "status": "shipped",
            "created_at": now.isoformat(),
            "shipped_at": now.isoformat(),
            "signed_quantity_kg": None,
            "signed_at": None,
        }
        return self.make_event("outbound_order.created", {name: order[name] for name in ORDER_EVENT_FIELDS})

    def _lane_freed(self, visit):
        visit.lane["loading"] = None
        if visit.lane["status"] == "loading":
            visit.lane["status"] = "idle"
        return self.make_event("lane.changed", _lane_json(visit.lane))

    def _truck_exited(self, visit):
        _advance(visit.booking, "exited")
        return self.make_event("truck.exited", {"booking_id": visit.booking_id})

    _VISIT_STEPS = (
        _truck_entered,
        _truck_waits,
        _truck_called,
        _loading_started,
        _truck_loaded,
        _order_created,
        _lane_freed,
        _truck_exited,
    )

    # -- control endpoints ---------------------------------------------------------------------

    def _control(self, request):
        path, method = request.path_info, request.method
        if (method, path) == ("GET", "/_sim/"):
            return self._page(request)
        if (method, path) == ("POST", "/_sim/visits-form"):
            return self._visit_form(request)
        handler = self._controls.get((method, path))
        if handler is None and method == "POST" and path.startswith(LANE_CONTROL):
            handler = partial(self._control_lane, path[len(LANE_CONTROL):])
        if handler is None:
            return super()._control(request)
        try:
            answer = handler(json.loads(request.body) if request.body else {})
        except KeyError as exc:
            return self._json(400, {"error": f"{exc.args[0]} is required"})
        except (ValueError, TypeError) as exc:
            return self._json(400, {"error": str(exc)})
        return self._json(200, answer)

    def _control_visit(self, body):
        actual = body.get("actual_quantity_kg")
        self.play_visit(
            int(body["booking_id"]),
            actual_quantity_kg=None if actual is None else int(actual),
            lane_code=body.get("lane_code", "L1"),
            step_seconds=float(body.get("step_seconds", 0)),
            background=True,
        )
        return {"ok": True}

    def _control_send_event(self, body):
        if not isinstance(body.get("data"), dict):
            raise ValueError("data must be an object")
        event = self.make_event(body["type"], body["data"], event_id=body.get("event_id"), occurred_at=body.get("occurred_at"))
        status = self._deliver(event)
        with self.lock:
            sent = [item for item in self.sent_events if item["event"] is event]
        return {"status": status, "sent": sent}

    def _control_event_faults(self, body):
        with self.lock:
            self.event_faults.update(**body)
            return asdict(self.event_faults)

    def _control_lane(self, code, body):
        self.set_lane(code, body["status"])
        with self.lock:
            return _lane_json(self.lanes[code])

    def _visit_form(self, request):
        # Back to the page either way; SCRIPT_NAME keeps the mount prefix (/sim/le).
        query = ""
        try:
            self.play_visit(int(request.POST.get("booking_id", "")), step_seconds=self.page_step_seconds, background=True)
        except ValueError as exc:
            query = "?" + urlencode({"error": str(exc)})
        return Response(status=303, location=request.script_name + "/_sim/" + query)

    # -- the page ------------------------------------------------------------------------------

    def _page(self, request):
        state = self.state()
        with self.lock:
            events = list(reversed(self.sent_events[-PAGE_EVENTS:]))
            faults = self.event_faults
            fault_note = f"重复率 {faults.duplicate_rate}，乱序 {'是' if faults.reorder else '否'}，丢失率 {faults.drop_rate}"
        error = request.GET.get("error")
        sections = [
            f'<p class="error">无法模拟车辆到厂：{_e(error)}</p>' if error else "",
            f"<p>事件发往 {_e(self.callback_url)}；事件故障：{_e(fault_note)}</p>",
            "<h2>提送货登记</h2>",
            _table(
                ["登记号", "类型", "产品", "数量(kg)", "车牌", "卡号", "状态", ""],
                [
                    [
                        _e(b["booking_id"]),
                        _e(KIND_LABELS[b["kind"]]),
                        _e(b["product_code"]),
                        _e(b["quantity_kg"]),
                        _e(b["plate_no"]),
                        _e(b["card_no"]),
                        _e(BOOKING_LABELS[b["status"]]),
                        _visit_button(b["booking_id"]) if b["status"] == "registered" else "",
                    ]
                    for b in state["bookings"]
                ],
                empty="还没有登记。",
            ),
            "<h2>装车道</h2>",
            _table(
                ["编号", "名称", "状态", "装车", "排队"],
                [
                    [
                        _e(lane["code"]),
                        _e(lane["name"]),
                        _e(LANE_LABELS[lane["status"]]),
                        _e(lane["loading_count"]),
                        _e("，".join(_queue_entry(entry) for entry in lane["queue"])),
                    ]
                    for lane in state["lanes"]
                ],
            ),
            "<h2>出库单</h2>",
            _table(
                ["单号", "登记号", "产品", "计划(kg)", "实装(kg)", "状态", "发货时间", "签收(kg)"],
                [
                    [
                        _e(o["order_no"]),
                        _e(o["booking_id"]),
                        _e(o["product_code"]),
                        _e(o["planned_quantity_kg"]),
                        _e(o["actual_quantity_kg"]),
                        _e(ORDER_LABELS[o["status"]]),
                        _e(o["shipped_at"]),
                        _e(o["signed_quantity_kg"]),
                    ]
                    for o in state["orders"]
                ],
                empty="还没有出库单。",
            ),
            f"<h2>已发送事件（最近 {PAGE_EVENTS} 条）</h2>",
            _table(
                ["时间", "事件", "内容", "结果"],
                [
                    [
                        _e(item["event"]["occurred_at"]),
                        _e(f"{EVENT_LABELS.get(item['event']['type'], '')} {item['event']['type']}"),
                        _e(json.dumps(item["event"]["data"], ensure_ascii=False)),
                        _e(_outcome(item)),
                    ]
                    for item in events
                ],
                empty="还没有发送事件。",
            ),
        ]
        text = (
            '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            # Refreshes to the plain page, so a played visit shows its events as they go out.
            '<meta http-equiv="refresh" content="3; url=./">'
            f"<title>{PAGE_TITLE}</title></head><body><h1>{PAGE_TITLE}</h1>{''.join(sections)}</body></html>"
        )
        return Response(text=text, content_type="text/html", charset="utf-8")


def _transient(status):
    """No answer, 429 or 5xx: worth sending again (the contract's rule, both ways)."""
    return status is None or status == 429 or status >= 500


def _outcome(item):
    """A sent event's answer on the page: the status, portal's error, and whether it was retried."""
    status = item["status"]
    answer = item["error"] if status is None else f"HTTP {status}" + (f" {item['error']}" if item["error"] else "")
    if status is not None and status >= 400 and not _transient(status):
        answer += "（不再重试）"
    return answer + (f"（共发送 {item['attempts']} 次）" if item["attempts"] > 1 else "")


def _e(value):
    return "" if value is None else html.escape(str(value))


def _queue_entry(entry):
    return f"{entry['position']}. 登记号 {entry['booking_id']}" + ("（已叫号）" if entry["called"] else "")


def _visit_button(booking_id):
    # A relative action: the page works under any mount prefix.
    return (
        '<form method="post" action="visits-form">'
        f'<input type="hidden" name="booking_id" value="{_e(booking_id)}">'
        '<button type="submit">模拟车辆到厂</button></form>'
    )


def _table(headings, rows, empty=None):
    """An HTML table of cells that are HTML already (escaped by the caller)."""
    if not rows and empty:
        return f"<p>{empty}</p>"
    head = "".join(f"<th>{heading}</th>" for heading in headings)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
