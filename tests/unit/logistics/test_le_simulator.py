"""The LE simulator over real HTTP: signed contract endpoints, events sent to portal, controls."""

import json
import re
import threading
from datetime import datetime
from functools import partial

import pytest
import requests

from portal.integrations.base import PermanentError
from portal.integrations.contract import ContractClient, SignatureError, verify
from portal.simulators.base import serve
from portal.simulators.le import LeSimulator
from portal.timefmt import SHANGHAI

from ...support.waiting import wait_for

KEY, SECRET = "le-test", "le-test-secret"
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI).timestamp()
VISIT = [
    "truck.entered",
    "lane.changed",
    "queue.called",
    "loading.started",
    "truck.loaded",
    "outbound_order.created",
    "lane.changed",
    "truck.exited",
]
DRIVER = {
    "driver_id": 12, "name": "张三", "id_card_no": "350102199001011234", "mobile": "13800000000",
    "licence_no": "350102199001011234", "qualification_no": "3501002024000123",
    "qualification_expires_on": "2028-06-30", "escort": None,
}
VEHICLE = {
    "vehicle_id": 7, "driver_id": 12, "plate_no": "闽A12345", "trailer_no": "闽A6789挂", "tank_capacity_kg": 30000,
    "approved_products": ["NAOH32", "HCL31"], "transport_permit_no": "闽交运管榕字350100123456号",
    "tank_inspection_expires_on": "2027-05-01", "active": True,
}
BOOKING = {
    "booking_id": 5, "kind": "pickup", "product_code": "NAOH32", "quantity_kg": 30000, "driver_id": 12,
    "vehicle_id": 7, "plate_no": "闽A12345", "trailer_no": "闽A6789挂",
    "planned_arrival_at": "2026-11-26T09:00:00+08:00", "expires_at": "2026-11-26T13:00:00+08:00",
}


class Portal:
    """Stands in for portal's /api/le/events: checks each event's signature and keeps it."""

    def __init__(self):
        self.events = []
        self.refused = []
        self.nonces = set()
        #: (status line, body) to answer the next events with, in turn; then 200 applied.
        self.answers = []
        self.lock = threading.Lock()

    def _nonce_seen(self, key, nonce):
        seen = (key, nonce) in self.nonces
        self.nonces.add((key, nonce))
        return seen

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {name[5:].replace("_", "-").title(): value for name, value in environ.items() if name.startswith("HTTP_")}
        query = environ.get("QUERY_STRING")
        with self.lock:
            try:
                verify(
                    headers=headers, method=environ["REQUEST_METHOD"],
                    path_qs=environ["PATH_INFO"] + (f"?{query}" if query else ""), body=body,
                    secret_for={KEY: SECRET}.get, nonce_seen=self._nonce_seen,
                )
            except SignatureError as exc:
                self.refused.append(exc.code)
                start_response("401 Unauthorized", [("Content-Type", "application/json")])
                return [json.dumps({"code": exc.code, "message": exc.message}).encode()]
            self.events.append((environ["PATH_INFO"], json.loads(body)))
            status, answer = self.answers.pop(0) if self.answers else ("200 OK", {"status": "applied"})
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(answer, ensure_ascii=False).encode()]

    def types(self):
        return [event["type"] for _, event in self.events]


class Current:
    """Serves the running test's app: one server per module (stopping one takes 0.5 s)."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


class Mounted(Current):
    """The running test's app under a prefix, as Pyramid's wsgiapp2 mounts it in the embedded
    default: the prefix moves to SCRIPT_NAME."""

    def __init__(self, prefix):
        self.prefix = prefix

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        assert path.startswith(self.prefix + "/")
        environ = {**environ, "SCRIPT_NAME": self.prefix, "PATH_INFO": path[len(self.prefix):]}
        return super().__call__(environ, start_response)


@pytest.fixture(scope="module")
def portal_server():
    served = serve(Current())
    yield served
    served.close()


@pytest.fixture
def portal(portal_server):
    portal = portal_server.app.app = Portal()
    return portal


@pytest.fixture(scope="module")
def served():
    served = serve(Mounted("/sim/le"))
    yield served
    served.close()


@pytest.fixture
def sim(portal, portal_server, served):
    sim = LeSimulator(KEY, SECRET, callback_url=portal_server.url + "/api/le/events", clock=lambda: NOW)
    served.app.app = sim
    return sim


@pytest.fixture
def url(sim, served):
    return served.url + "/sim/le"


@pytest.fixture
def le(url):
    return ContractClient("le", url, KEY, SECRET)


def refused(call):
    with pytest.raises(PermanentError) as caught:
        call()
    return caught.value


def register(le, **changes):
    return le.write("/v1/bookings", {**BOOKING, **changes}, idempotency_key=f"booking-{changes.get('booking_id', 5)}-register")


# -- the contract's endpoints ----------------------------------------------------------------


def test_the_common_connectivity_check_still_answers(le):
    assert le.connectivity_check(idempotency_key="check-1")["system"] == "le"


def test_drivers_are_upserted_by_our_id(le, sim):
    assert le.write("/v1/drivers", DRIVER, idempotency_key="driver-12-a") == {"driver_code": "LE-D-000012"}
    escort = {"name": "李四", "id_card_no": "350102199202021234", "qualification_no": "q", "qualification_expires_on": "2027-01-31"}
    assert le.write("/v1/drivers", {**DRIVER, "name": "张三丰", "escort": escort}, idempotency_key="driver-12-b") == {
        "driver_code": "LE-D-000012"
    }
    [driver] = sim.state()["drivers"]
    assert (driver["name"], driver["escort"]["name"]) == ("张三丰", "李四")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"name": None}, "name is required"),
        ({"name": "  "}, "name must be a non-empty string"),
        ({"id_card_no": 350102}, "id_card_no must be a non-empty string"),
        ({"mobile": None}, "mobile is required"),
        ({"driver_id": "12"}, "driver_id must be an integer"),
        ({"escort": "李四"}, "escort must be an object or null"),
    ],
)
def test_refused_drivers_answer_422_naming_the_field(le, sim, changes, message):
    error = refused(lambda: le.write("/v1/drivers", {**DRIVER, **changes}, idempotency_key="driver-bad"))
    assert (error.status, error.code) == (422, "INVALID")
    assert message in str(error)
    assert sim.drivers == {}


def test_a_body_that_is_not_an_object_is_refused(le):
    error = refused(lambda: le.write("/v1/drivers", [DRIVER], idempotency_key="driver-list"))
    assert (error.status, error.code) == (422, "INVALID")


def test_vehicles_are_upserted_and_can_be_deactivated(le, sim):
    assert le.write("/v1/vehicles", VEHICLE, idempotency_key="vehicle-7-a") == {"vehicle_code": "LE-V-000007"}
    le.write("/v1/vehicles", {**VEHICLE, "active": False}, idempotency_key="vehicle-7-b")
    [vehicle] = sim.state()["vehicles"]
    assert (vehicle["vehicle_code"], vehicle["active"]) == ("LE-V-000007", False)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"plate_no": None}, "plate_no is required"),
        ({"driver_id": None}, "driver_id is required"),
        ({"tank_capacity_kg": 0}, "tank_capacity_kg must be greater than 0"),
        ({"tank_capacity_kg": 30000.5}, "tank_capacity_kg must be an integer"),
        ({"active": "no"}, "active must be true or false"),
    ],
)
def test_refused_vehicles_answer_422(le, changes, message):
    error = refused(lambda: le.write("/v1/vehicles", {**VEHICLE, **changes}, idempotency_key="vehicle-bad"))
    assert (error.status, error.code) == (422, "INVALID")
    assert message in str(error)


def test_entry_reports_are_received(le, sim):
    report = {"report_id": 3, "driver_id": 12, "vehicle_id": 7, "plate_no": "闽A12345", "trailer_no": "闽A6789挂",
              "driver_name": "张三", "expected_on": "2026-11-26", "purpose": "提货"}
    assert le.write("/v1/entry-reports", report, idempotency_key="report-3") == {"report_no": "LE-R-000003", "status": "received"}
    error = refused(lambda: le.write("/v1/entry-reports", {**report, "report_id": None}, idempotency_key="report-x"))
    assert (error.status, error.code) == (422, "INVALID")
    assert [r["report_no"] for r in sim.state()["entry_reports"]] == ["LE-R-000003"]


def test_a_booking_gets_a_gate_card_that_an_upsert_keeps(le, sim):
    card_no = register(le)["card_no"]
    assert re.fullmatch(r"K\d{8}", card_no)
    # The same key replays the first answer; a new key updates the booking and keeps its card.
    assert le.write("/v1/bookings", {**BOOKING, "quantity_kg": 1}, idempotency_key="booking-5-register") == {"card_no": card_no}
    assert le.write("/v1/bookings", {**BOOKING, "quantity_kg": 25000}, idempotency_key="booking-5-update") == {"card_no": card_no}
    assert (sim.bookings[5]["quantity_kg"], sim.bookings[5]["status"]) == (25000, "registered")
    assert register(le, booking_id=6)["card_no"] != card_no
    assert [e.replayed for e in sim.effects("/v1/bookings")] == [False, False, False]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"booking_id": None}, "booking_id is required"),
        ({"kind": "other"}, "kind must be pickup or delivery"),
        ({"product_code": ""}, "product_code must be a non-empty string"),
        ({"quantity_kg": 0}, "quantity_kg must be greater than 0"),
        ({"quantity_kg": "30000"}, "quantity_kg must be an integer"),
        ({"plate_no": None}, "plate_no is required"),
    ],
)
def test_refused_bookings_answer_422(le, sim, changes, message):
    error = refused(lambda: le.write("/v1/bookings", {**BOOKING, **changes}, idempotency_key="booking-bad"))
    assert (error.status, error.code) == (422, "INVALID")
    assert message in str(error)
    assert sim.bookings == {}


def test_cancelling_always_ends_cancelled_and_leaves_the_queue(le, sim, portal):
    register(le)
    sim.call_to_lane(5, "L2")
    assert le.read("/v1/lanes")["lanes"][1]["queue"] == [{"booking_id": 5, "position": 1, "called": True}]
    reason = {"reason": "cancelled_by_driver", "note": "不去了"}
    assert le.write("/v1/bookings/5/cancel", reason, idempotency_key="booking-5-cancel") == {"status": "cancelled"}
    assert sim.bookings[5]["status"] == "cancelled"
    assert le.read("/v1/lanes")["lanes"][1]["waiting_count"] == 0
    # Already cancelled, or never registered: the same answer.
    assert le.write("/v1/bookings/5/cancel", reason, idempotency_key="booking-5-cancel-again") == {"status": "cancelled"}
    assert le.write("/v1/bookings/99/cancel", reason, idempotency_key="booking-99-cancel") == {"status": "cancelled"}
    assert 99 not in sim.bookings


def test_path_templates_match_one_segment_only(le):
    error = refused(lambda: le.write("/v1/bookings/5/x/cancel", {}, idempotency_key="k"))
    assert (error.status, error.code) == (404, "NOT_FOUND")


def test_the_lanes_are_seeded(le):
    lanes = le.read("/v1/lanes")["lanes"]
    assert [(lane["code"], lane["name"], lane["status"]) for lane in lanes] == [
        ("L1", "1号装车道", "idle"),
        ("L2", "2号装车道", "idle"),
        ("L3", "3号装车道", "maintenance"),
    ]
    assert lanes[0] == {"code": "L1", "name": "1号装车道", "status": "idle", "loading_count": 0, "waiting_count": 0, "queue": []}


def test_setting_a_lane_tells_portal(le, sim, portal):
    assert sim.set_lane("L3", "idle") == 200
    assert le.read("/v1/lanes")["lanes"][2]["status"] == "idle"
    [(path, event)] = portal.events
    assert (path, event["type"]) == ("/api/le/events", "lane.changed")
    assert (event["data"]["code"], event["data"]["status"]) == ("L3", "idle")
    with pytest.raises(ValueError):
        sim.set_lane("L3", "flooded")
    with pytest.raises(ValueError):
        sim.set_lane("L9", "idle")


# -- outbound orders -------------------------------------------------------------------------


def visited(le, sim, **changes):
    """A registered booking whose truck came, loaded and left: its outbound order number."""
    register(le, **changes)
    sim.play_visit(changes.get("booking_id", 5), actual_quantity_kg=29950)
    return next(order["order_no"] for order in sim.orders.values() if order["booking_id"] == changes.get("booking_id", 5))


def test_outbound_orders_are_listed_per_driver(le, sim):
    order_no = visited(le, sim)
    visited(le, sim, booking_id=6, driver_id=13)
    [order] = le.read("/v1/outbound-orders", {"driver_id": 12})["orders"]
    assert order == {
        "order_no": order_no, "booking_id": 5, "driver_id": 12, "product_code": "NAOH32",
        "planned_quantity_kg": 30000, "actual_quantity_kg": 29950, "status": "shipped",
        "created_at": "2026-11-26T09:00:00+08:00", "shipped_at": "2026-11-26T09:00:00+08:00",
        "signed_quantity_kg": None, "signed_at": None,
    }
    assert re.fullmatch(r"SO20261126[0-9A-F]{10}", order_no)
    assert le.read("/v1/outbound-orders", {"driver_id": 99}) == {"orders": []}
    assert len(le.read("/v1/outbound-orders")["orders"]) == 2
    error = refused(lambda: le.read("/v1/outbound-orders", {"driver_id": "x"}))
    assert (error.status, error.code) == (422, "INVALID")


def test_signing_an_order(le, sim):
    order_no = visited(le, sim)
    path = f"/v1/outbound-orders/{order_no}/sign"
    signed = {"signed_quantity_kg": 29950, "note": "", "signed_at": "2026-11-26T15:00:00+08:00"}
    assert le.write(path, signed, idempotency_key=f"signoff-{order_no}") == {"status": "signed"}
    [order] = le.read("/v1/outbound-orders", {"driver_id": 12})["orders"]
    assert (order["status"], order["signed_quantity_kg"], order["signed_at"]) == ("signed", 29950, "2026-11-26T15:00:00+08:00")
    # The same signature again is the same end state; a different one is refused.
    assert le.write(path, signed, idempotency_key="signoff-again") == {"status": "signed"}
    assert sim.ledger[-1].replayed and not sim.ledger[-1].applied
    error = refused(lambda: le.write(path, {**signed, "signed_quantity_kg": 29000}, idempotency_key="signoff-other"))
    assert (error.status, error.code) == (409, "ALREADY_SIGNED")
    assert sim.orders[order_no]["signed_quantity_kg"] == 29950


def test_signing_refuses_unknown_orders_and_bad_quantities(le, sim):
    error = refused(lambda: le.write("/v1/outbound-orders/SO000/sign", {"signed_quantity_kg": 1}, idempotency_key="s1"))
    assert (error.status, error.code) == (404, "ORDER_NOT_FOUND")
    order_no = visited(le, sim)
    for quantity in (0, -5, "29950", None):
        body = {"signed_quantity_kg": quantity}
        error = refused(partial(le.write, f"/v1/outbound-orders/{order_no}/sign", body, idempotency_key=f"s-{quantity}"))
        assert (error.status, error.code) == (422, "INVALID")
    assert sim.orders[order_no]["status"] == "shipped"


def test_unsigned_requests_are_refused(url):
    response = requests.post(url + "/v1/bookings", json=BOOKING)
    assert (response.status_code, response.json()["code"]) == (401, "AUTH_MISSING")


# -- events ----------------------------------------------------------------------------------


def test_a_visit_sends_signed_events_in_order(le, sim, portal):
    register(le)
    sim.play_visit(5, actual_quantity_kg=29950)
    assert portal.refused == []
    assert portal.types() == VISIT
    events = [event for _, event in portal.events]
    assert all(re.fullmatch(r"evt-[0-9a-f]{32}", e["event_id"]) for e in events)
    assert len({e["event_id"] for e in events}) == len(VISIT)
    assert {e["occurred_at"] for e in events} == {"2026-11-26T09:00:00+08:00"}
    data = [e["data"] for e in events]
    assert data[0] == data[7] == {"booking_id": 5}
    assert data[1]["queue"] == [{"booking_id": 5, "position": 1, "called": False}]
    assert data[2] == {"booking_id": 5, "lane_code": "L1"}
    assert data[3] == {"booking_id": 5, "lane_code": "L1"}
    assert data[4] == {"booking_id": 5, "actual_quantity_kg": 29950}
    [order_no] = sim.orders
    assert data[5] == {
        "order_no": order_no, "booking_id": 5, "driver_id": 12, "product_code": "NAOH32",
        "planned_quantity_kg": 30000, "actual_quantity_kg": 29950,
    }
    assert data[6] == {"code": "L1", "name": "1号装车道", "status": "idle", "loading_count": 0, "waiting_count": 0, "queue": []}
    assert sim.bookings[5]["status"] == "exited"
    assert sim.orders[order_no]["status"] == "shipped"
    assert [(item["status"], item["error"], item["attempts"]) for item in sim.sent_events] == [(200, None, 1)] * len(VISIT)


def test_the_loaded_quantity_falls_a_little_short_of_the_booking(le, sim, portal):
    register(le)
    sim.play_visit(5)
    loaded = sim.bookings[5]["actual_quantity_kg"]
    assert 30000 * 0.995 <= loaded <= 30000
    [order] = sim.orders.values()
    assert order["actual_quantity_kg"] == loaded


def test_order_numbers_are_not_used_again_after_a_restart(le, sim, portal):
    # A restarted LE starts empty (a reset, as a new process): its next order must not take a
    # number portal already holds for another booking.
    numbers = set()
    for booking_id in (5, 6):
        register(le, booking_id=booking_id)
        sim.play_visit(booking_id)
        numbers |= set(sim.orders)
        sim.reset()
    assert len(numbers) == 2


def test_only_registered_bookings_can_visit(le, sim, portal):
    with pytest.raises(ValueError, match="no booking"):
        sim.play_visit(5)
    register(le)
    le.write("/v1/bookings/5/cancel", {"reason": "expired"}, idempotency_key="booking-5-cancel")
    with pytest.raises(ValueError, match="cancelled"):
        sim.play_visit(5)
    register(le, booking_id=6)
    with pytest.raises(ValueError, match="maintenance"):
        sim.play_visit(6, lane_code="L3")
    sim.play_visit(6)
    with pytest.raises(ValueError, match="exited"):
        sim.play_visit(6)
    assert portal.types() == VISIT


def test_a_visit_can_play_in_the_background(le, sim, portal):
    register(le)
    thread = sim.play_visit(5, background=True)
    assert thread.daemon
    thread.join(timeout=5)
    assert portal.types() == VISIT


def test_duplicated_events_keep_their_id(le, sim, portal):
    register(le)
    sim.event_faults.duplicate_rate = 1
    sim.play_visit(5)
    assert portal.types() == [kind for kind in VISIT for _ in range(2)]
    ids = [event["event_id"] for _, event in portal.events]
    assert ids[0::2] == ids[1::2]
    assert portal.refused == []  # each copy is signed afresh


def test_dropped_events_never_arrive(le, sim, portal):
    register(le)
    sim.event_faults.drop_rate = 1
    sim.play_visit(5)
    assert portal.events == []
    assert [item["status"] for item in sim.sent_events] == [None] * len(VISIT)
    assert sim.bookings[5]["status"] == "exited"


def test_reordered_events_swap_pairwise(le, sim, portal):
    register(le)
    sim.event_faults.reorder = True
    sim.play_visit(5)
    assert portal.types() == [VISIT[i ^ 1] for i in range(len(VISIT))]


def test_send_event_takes_a_given_id_and_time(sim, portal):
    status = sim.send_event("truck.exited", {"booking_id": 5}, event_id="evt-1", occurred_at="2026-11-26T10:00:00+08:00")
    assert status == 200
    event = {"event_id": "evt-1", "type": "truck.exited", "occurred_at": "2026-11-26T10:00:00+08:00", "data": {"booking_id": 5}}
    assert portal.events == [("/api/le/events", event)]


def test_an_unreachable_portal_is_recorded_after_every_attempt(sim):
    sim.callback_url = "http://127.0.0.1:9/api/le/events"
    sim.event_retry_seconds = (0, 0)
    assert sim.send_event("truck.exited", {"booking_id": 5}) is None
    [sent] = sim.sent_events
    assert sent["status"] is None and sent["attempts"] == 3
    assert "ConnectionError" in sent["error"]


def test_an_event_portal_could_not_take_is_sent_again_with_its_id(sim, portal):
    sim.event_retry_seconds = (0, 0)
    portal.answers = [("503 Service Unavailable", {"error": {"code": "unavailable", "message": "忙", "fields": {}}})]
    assert sim.send_event("truck.exited", {"booking_id": 5}) == 200
    first, second = (event for _, event in portal.events)
    assert first == second
    assert [(item["status"], item["attempts"]) for item in sim.sent_events] == [(200, 2)]


def test_a_conflict_is_final_and_never_retried(sim, portal):
    conflict = {"error": {"code": "ORDER_CONFLICT", "message": "单号 SO1 属于登记 #4", "fields": {"data.order_no": "…"}}}
    portal.answers = [("409 Conflict", conflict)]
    data = {"order_no": "SO1", "booking_id": 5, "driver_id": 12, "product_code": "NAOH32", "planned_quantity_kg": 1}
    assert sim.send_event("outbound_order.created", data) == 409
    assert len(portal.events) == 1
    [sent] = sim.sent_events
    assert (sent["status"], sent["error"], sent["attempts"]) == (409, "ORDER_CONFLICT: 单号 SO1 属于登记 #4", 1)


# -- control endpoints and the page ------------------------------------------------------------


def test_a_visit_can_be_started_over_http(le, sim, url, portal):
    register(le)
    response = requests.post(url + "/_sim/visits", json={"booking_id": 5, "actual_quantity_kg": 29000, "step_seconds": 0})
    assert response.json() == {"ok": True}
    wait_for(lambda: len(portal.events) == len(VISIT), message="the visit's events")
    assert portal.types() == VISIT
    assert requests.get(url + "/_sim/state").json()["orders"][0]["actual_quantity_kg"] == 29000
    events = requests.get(url + "/_sim/events").json()["events"]
    assert [item["event"]["type"] for item in events] == VISIT
    again = requests.post(url + "/_sim/visits", json={"booking_id": 5})
    assert again.status_code == 400 and "exited" in again.json()["error"]
    assert requests.post(url + "/_sim/visits", json={}).json() == {"error": "booking_id is required"}


def test_any_event_can_be_sent_over_http(sim, url, portal):
    event = {"type": "truck.entered", "data": {"booking_id": 5}, "event_id": "evt-late", "occurred_at": "2026-11-26T08:00:00+08:00"}
    answer = requests.post(url + "/_sim/events", json=event).json()
    assert answer["status"] == 200 and [item["event"]["event_id"] for item in answer["sent"]] == ["evt-late"]
    assert portal.events == [("/api/le/events", {**event, "data": {"booking_id": 5}})]
    portal.answers = [("409 Conflict", {"error": {"code": "ORDER_CONFLICT", "message": "单号已属于登记 #4", "fields": {}}})]
    conflict = requests.post(url + "/_sim/events", json={"type": "outbound_order.created", "data": {"order_no": "SO1"}}).json()
    assert conflict["status"] == 409 and conflict["sent"][0]["error"] == "ORDER_CONFLICT: 单号已属于登记 #4"
    assert requests.post(url + "/_sim/events", json={"type": "truck.entered", "data": 5}).status_code == 400
    assert requests.post(url + "/_sim/events", json={"data": {}}).json() == {"error": "type is required"}


def test_event_faults_and_lanes_are_switched_over_http(sim, url, portal):
    response = requests.put(url + "/_sim/event-faults", json={"duplicate_rate": 0.5, "reorder": True})
    assert response.json() == {"duplicate_rate": 0.5, "reorder": True, "drop_rate": 0.0}
    assert sim.event_faults.reorder is True
    assert requests.put(url + "/_sim/event-faults", json={"meteor": 1}).status_code == 400
    assert requests.put(url + "/_sim/event-faults", json={"reorder": "yes"}).status_code == 400
    assert requests.get(url + "/_sim/event-faults").json()["duplicate_rate"] == 0.5
    sim.event_faults.update(duplicate_rate=0)
    response = requests.post(url + "/_sim/lanes/L2", json={"status": "closed"})
    assert (response.json()["code"], response.json()["status"]) == ("L2", "closed")
    assert portal.types() == ["lane.changed"]
    assert requests.post(url + "/_sim/lanes/L9", json={"status": "idle"}).status_code == 400
    # The base's controls still answer.
    assert requests.get(url + "/_sim/faults").json()["fail_rate"] == 0.0


def test_reset_forgets_records_and_faults_but_keeps_the_lanes(le, sim, portal):
    register(le)
    sim.play_visit(5)
    sim.set_lane("L1", "closed")
    sim.event_faults.drop_rate = 1
    sim.reset()
    state = sim.state()
    assert (state["bookings"], state["orders"], sim.sent_events, sim.ledger) == ([], [], [], [])
    assert [lane["status"] for lane in state["lanes"]] == ["idle", "idle", "maintenance"]
    assert sim.event_faults.drop_rate == 0


def test_the_page_plays_a_visit_under_the_mount_prefix(le, sim, url, portal):
    register(le, plate_no="闽A<script>")
    sim.page_step_seconds = 0
    page = requests.get(url + "/_sim/")
    assert page.headers["Content-Type"].lower() == "text/html; charset=utf-8"
    assert "闽A&lt;script&gt;" in page.text and "<script>" not in page.text
    assert "模拟车辆到厂" in page.text and 'action="visits-form"' in page.text
    response = requests.post(url + "/_sim/visits-form", data={"booking_id": "5"}, allow_redirects=False)
    assert (response.status_code, response.headers["Location"]) == (303, url + "/_sim/")
    wait_for(lambda: len(portal.events) == len(VISIT), message="the visit's events")
    page = requests.get(url + "/_sim/").text
    [order_no] = sim.orders
    assert "已出厂" in page and order_no in page and "车辆出厂 truck.exited" in page
    response = requests.post(url + "/_sim/visits-form", data={"booking_id": "5"})
    assert response.url.startswith(url + "/_sim/?error=") and "无法模拟车辆到厂" in response.text
