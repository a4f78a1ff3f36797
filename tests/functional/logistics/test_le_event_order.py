"""Property: whatever order LE's events of a visit arrive in — repeated, late, shuffled — the
booking and its document end the same, and as the latest report of each fact says.

Hypothesis draws a visit (which steps LE reports, when, the lanes, two weighings, an order with
or without a quantity), late reports (a new event id, an older time, perhaps another value) and
repeats (the same event id), then a delivery order. Each example plays the events through the
real service on PostgreSQL twice — in the order they happened and in the drawn order — each on a
fresh pickup booking inside a savepoint, and compares. Derandomized and bounded, like the fuzz
tests: the same examples on every run.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select

from portal.models.logistics import BookingStatus, OutboundOrder
from portal.models.meta import utcnow
from portal.services.logistics import bookings as booking_service
from portal.services.logistics import le_events
from portal.services.logistics import stock as stock_service
from portal.services.logistics.policy import Policy

from ...support import factories

START = (utcnow() + timedelta(hours=1)).replace(second=0, microsecond=0)
#: Stand-ins for each play's booking id and order number.
BOOKING, ORDER = "<booking>", "<order>"
#: The step each reported fact shows the truck reached.
STEPS = {"entered": BookingStatus.entered, "loading": BookingStatus.loading, "loaded": BookingStatus.loaded,
         "order": BookingStatus.loaded, "exited": BookingStatus.completed}
RANK = [BookingStatus.registered, BookingStatus.entered, BookingStatus.loading, BookingStatus.loaded, BookingStatus.completed]


@dataclass
class Report:
    """One event as LE sends it; ``minute`` after START (even for a visit's own events, odd for late ones)."""

    event_id: str
    type: str
    minute: int
    data: dict = field(default_factory=dict)

    def facts(self):
        """{kind: value} this report offers, as the contract describes the events."""
        data = self.data
        if self.type == "lane.changed":
            return {"lane": data["code"]} if data["queue"] else {}
        offered = {
            "truck.entered": {"entered": None}, "queue.called": {"called": None, "lane": data.get("lane_code")},
            "loading.started": {"loading": None, "lane": data.get("lane_code")}, "truck.exited": {"exited": None},
            "truck.loaded": {"loaded": None, "quantity": data.get("actual_quantity_kg")},
            "outbound_order.created": {"order": ORDER, "quantity": data.get("actual_quantity_kg")},
        }[self.type]
        return {kind: value for kind, value in offered.items() if value is not None or kind not in ("quantity", "lane")}


def _lane(code, queued):
    queue = [{"booking_id": BOOKING, "position": 2, "called": False}] if queued else []
    return {"code": code, "name": f"{code[1]}号装车道", "status": "loading", "loading_count": 1, "waiting_count": len(queue),
            "queue": queue}


@st.composite
def visits(draw):
    """A visit's reports, late copies and repeats, in a drawn order of delivery."""
    quantities = st.integers(19_000, 21_000)
    lanes = st.sampled_from(["L1", "L2"])
    steps = [
        ("truck.entered", {}), ("lane.changed", _lane(draw(lanes), True)), ("queue.called", {"lane_code": draw(lanes)}),
        ("loading.started", {"lane_code": draw(lanes)}), ("truck.loaded", {"actual_quantity_kg": draw(quantities)}),
        ("truck.loaded", {"actual_quantity_kg": draw(quantities)}),  # weighed again
        ("outbound_order.created", {"actual_quantity_kg": draw(st.none() | quantities)}),
        ("lane.changed", _lane(draw(lanes), False)), ("truck.exited", {}),
    ]
    reported = draw(st.lists(st.sampled_from(range(len(steps))), min_size=1, unique=True))
    minutes = draw(st.lists(st.integers(1, 200).map(lambda m: 2 * m), min_size=len(reported), max_size=len(reported), unique=True))
    reports = [Report(f"evt-{i}", steps[i][0], minute, dict(steps[i][1])) for i, minute in zip(reported, minutes, strict=True)]
    late = []
    for report in draw(st.lists(st.sampled_from(reports), unique_by=lambda r: r.event_id)):
        data = dict(report.data)
        if "lane_code" in data:
            data["lane_code"] = draw(lanes)
        if data.get("actual_quantity_kg") is not None:
            data["actual_quantity_kg"] = draw(quantities)
        late.append(Report(report.event_id + "-late", report.type, report.minute - 1, data))
    repeats = draw(st.lists(st.sampled_from(reports + late)))
    return reports + late, draw(st.permutations(reports + late + repeats))


def _expected(reports):
    """What the latest report of each fact says (no two reports here share a moment)."""
    latest = {}
    for report in sorted(reports, key=lambda r: r.minute):
        for kind, value in report.facts().items():
            latest[kind] = (report.minute, value)
    status = max((STEPS[kind] for kind in latest if kind in STEPS), key=RANK.index, default=BookingStatus.registered)
    quantity = latest["quantity"][1] if "quantity" in latest else None
    return status, latest.get("lane", (None, None))[1], quantity


def test_any_order_of_delivery_ends_in_the_same_booking_and_document(db, settings):
    driver = factories.driver(db)
    policy = Policy.from_settings(settings)

    def play(reports):
        """The end state of a fresh booking after ``reports`` arrive in this order (then rolled back)."""
        savepoint = db.begin_nested()
        try:
            arrival = (utcnow() + timedelta(hours=1)).isoformat()
            booking = booking_service.create_booking(db, driver, {
                "kind": "pickup", "product_code": "NAOH32", "quantity_kg": 20000, "vehicle_id": driver.vehicles[0].id,
                "planned_arrival_at": arrival}, policy)
            stock_service.decide_stock(db, booking.stock_checks[-1], 10_000_000, policy)
            order_no = f"SO-P{booking.id}"
            for report in reports:
                data = _data(report, booking.id, order_no, driver.id)
                le_events.apply_le_event(db, report.event_id, report.type, START + timedelta(minutes=report.minute), data, policy)
            db.flush()
            db.expire(booking)
            order = db.scalar(select(OutboundOrder).where(OutboundOrder.order_no == order_no))
            lines = sorted((line.kind, line.at) for line in booking.events if line.received_at is not None)
            return {
                "booking": (booking.status, booking.entered_at, booking.called_at, booking.loaded_at, booking.exited_at,
                            booking.lane_code, booking.queue_position, booking.actual_quantity_kg, booking.reserved_kg),
                "order": order and (order.status, order.actual_quantity_kg, order.shipped_at),
                "timeline": lines,
            }
        finally:
            savepoint.rollback()

    @hypothesis_settings(max_examples=25, derandomize=True, database=None, deadline=None,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(visits())
    def check(visit):
        reports, delivered = visit
        happened = play(sorted(reports, key=lambda r: r.minute))
        assert play(delivered) == happened
        status, lane, quantity = _expected(reports)
        assert happened["booking"][0] is status
        assert happened["booking"][5] == lane and happened["booking"][7] == quantity
        assert happened["booking"][8] == (20000 if status in (BookingStatus.registered, BookingStatus.entered,
                                                               BookingStatus.loading) else 0)
        if happened["order"] is not None:
            assert happened["order"][:2] == (("shipped", quantity) if quantity else ("created", None))

    check()


def _data(report, booking_id, order_no, driver_id):
    """The report's data for one play: its booking (and order number and driver)."""
    if report.type == "lane.changed":
        return {**report.data, "queue": [{**entry, "booking_id": booking_id} for entry in report.data["queue"]]}
    data = {**report.data, "booking_id": booking_id}
    if report.type == "outbound_order.created":
        data.update(order_no=order_no, driver_id=driver_id, product_code="NAOH32", planned_quantity_kg=20000)
    return data
