"""After a run: our database against the simulators' ledgers and state.

Every check is a line of the report with what was expected, what was found and OK / FAIL; the
sections before them count what the run did.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select

from portal.models.logistics import Booking, BookingEvent, BookingKind, BookingStatus, Driver, Product, StockCheck, Vehicle
from portal.models.meta import utcnow
from portal.models.ops import DeadLetter
from portal.models.outbox import OutboxMessage, idempotency_key
from portal.models.sync import SyncState

from .faults import REQUEUE_BOUND

#: Bookings LE must end up agreeing with: it holds the registered ones and no longer holds
#: (as registered) the cancelled ones. A rejected booking never reaches LE.
OWED_TO_LE = (BookingStatus.registered, BookingStatus.cancelled)


@dataclass
class Check:
    name: str
    expected: object
    actual: object
    ok: bool


@dataclass
class Report:
    sections: list = field(default_factory=list)  # (title, header, rows)
    checks: list = field(default_factory=list)

    @property
    def ok(self):
        return all(check.ok for check in self.checks)

    @property
    def failures(self):
        return [check for check in self.checks if not check.ok]

    def section(self, title, header, rows):
        self.sections.append((title, header, [[str(cell) for cell in row] for row in rows]))

    def check(self, name, expected, actual, ok=None):
        self.checks.append(Check(name, expected, actual, expected == actual if ok is None else ok))

    def text(self):
        parts = [_table(title, header, rows) for title, header, rows in self.sections]
        rows = [[c.name, str(c.expected), str(c.actual), "OK" if c.ok else "FAIL"] for c in self.checks]
        parts.append(_table("Checks", ["check", "expected", "found", ""], rows))
        parts.append("Result: " + ("every check passed" if self.ok else f"{len(self.failures)} check(s) FAILED"))
        return "\n\n".join(parts)


def _table(title, header, rows):
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()

    return "\n".join([f"== {title}", line(header), line(["-" * w for w in widths]), *map(line, rows)])


# -- queries shared with the run's progress lines ------------------------------------------------


def _outbox_state(row, now):
    if row.done_at:
        return "done"
    if row.dead_at:
        return "dead"
    if row.eta and row.eta > now:
        return "scheduled"  # a delayed message not due yet (a booking's expiry)
    return "open"


def outbox_states(db):
    """state → count; ``open`` is due and neither done nor dead."""
    now = utcnow()
    rows = db.execute(select(OutboxMessage.eta, OutboxMessage.done_at, OutboxMessage.dead_at)).all()
    return Counter(_outbox_state(row, now) for row in rows)


def unsynced(db):
    """Records another system has not caught up with yet."""
    waiting = [
        select(func.count()).select_from(model).where(model.sync_state != SyncState.synced)
        for model in (Driver, Vehicle, StockCheck)
    ]
    waiting.append(
        select(func.count()).select_from(Booking).where(Booking.status.in_(OWED_TO_LE), Booking.sync_state != SyncState.synced)
    )
    return sum(db.scalar(query) for query in waiting)


def checking(db):
    return db.scalar(select(func.count()).select_from(Booking).where(Booking.status == BookingStatus.checking))


# -- the comparison ------------------------------------------------------------------------------


def verify(run):
    """Compare the run's database with the simulators; ``run`` is a finished :class:`chaos.run.Run`."""
    report = Report()
    le, mes = run.simulators["le"].app, run.simulators["mes"].app
    with le.lock:
        le_ledger = list(le.ledger)
        le_drivers, le_vehicles, le_bookings = dict(le.drivers), dict(le.vehicles), dict(le.bookings)
    with mes.lock:
        mes_ledger = list(mes.ledger)
    with run.session_factory() as db:
        now = utcnow()
        outbox = db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        bookings = db.scalars(select(Booking).order_by(Booking.id)).all()
        drivers = db.scalars(select(Driver)).all()
        vehicles = db.scalars(select(Vehicle)).all()
        products = {p.code: p for p in db.scalars(select(Product))}
        stock_checks = db.scalars(select(StockCheck)).all()
        dead_letters = db.scalar(select(func.count()).select_from(DeadLetter))
        doubled = (
            select(BookingEvent.booking_id).group_by(BookingEvent.booking_id, BookingEvent.kind).having(func.count() > 1).subquery()
        )
        doubled_events = db.scalar(select(func.count(func.distinct(doubled.c.booking_id))))

    states = {row.id: _outbox_state(row, now) for row in outbox}
    by_status = defaultdict(list)
    for booking in bookings:
        by_status[booking.status].append(booking)
    registered, cancelled = by_status[BookingStatus.registered], by_status[BookingStatus.cancelled]
    # A booking was registered here (and so possibly at LE) once its expiry was set.
    ever_registered = [b for b in bookings if b.expires_at is not None]
    applied = Counter((e.path, e.idempotency_key) for e in le_ledger if e.applied)

    def register_key(booking):
        return ("/v1/bookings", f"booking-{booking.id}-register")

    def cancel_key(booking):
        return (f"/v1/bookings/{booking.id}/cancel", f"booking-{booking.id}-cancel")

    _summary(report, run, bookings, outbox, states, le_ledger, mes_ledger)

    # -- what the drivers asked ----------------------------------------------------------------
    traffic, plans = run.traffic, run.plans
    report.check("API calls answered otherwise than expected", 0, len(traffic.errors))
    for error in traffic.errors[:5]:
        report.check(f"  {error[:110]}", "-", "-", ok=False)
    report.check("drivers / vehicles / bookings created", (len(plans), len(plans), sum(len(p.bookings) for p in plans)),
                 (len(drivers), len(vehicles), len(bookings)))
    report.check("cancellations: planned = cancelled + refused", sum(1 for p in plans for b in p.bookings if b.cancel_after is not None),
                 len(cancelled) + len(traffic.not_cancellable))
    status_of = {b.id: b.status for b in bookings}
    report.check("cancellations refused although not rejected", 0,
                 sum(1 for booking_id in traffic.not_cancellable if status_of.get(booking_id) is not BookingStatus.rejected))

    # -- none lost -------------------------------------------------------------------------------
    state_counts = Counter(states.values())
    report.check("outbox: due messages not done", 0, state_counts["open"])
    open_by_actor = Counter(row.actor_name for row in outbox if states[row.id] == "open")
    if open_by_actor:
        report.check("  open by actor", "-", dict(open_by_actor), ok=False)
    report.check("outbox: dead messages / dead letters", (0, 0), (state_counts["dead"], dead_letters))
    report.check("bookings left checking (undecided)", 0, len(by_status[BookingStatus.checking]))
    report.check("bookings neither registered, rejected nor cancelled", 0,
                 len(bookings) - len(registered) - len(cancelled) - len(by_status[BookingStatus.rejected]))
    owed = [b for b in bookings if b.status in OWED_TO_LE]
    report.check("not synced: drivers / vehicles / stock checks / bookings owed to LE", (0, 0, 0, 0), tuple(
        sum(1 for record in records if record.sync_state is not SyncState.synced)
        for records in (drivers, vehicles, stock_checks, owed)
    ))
    report.check("registered bookings without LE state registered and a card", 0,
                 sum(1 for b in registered if b.le_state != "registered" or not b.external_ref))
    expiries = Counter(row.args[0] for row in outbox if row.actor_name == "le.expire_booking")
    ever_ids = {b.id for b in ever_registered}
    report.check("bookings ever registered with exactly one expiry message", len(ever_registered),
                 sum(1 for b in ever_registered if expiries[b.id] == 1))
    report.check("expiry messages of bookings never registered", 0,
                 sum(n for booking_id, n in expiries.items() if booking_id not in ever_ids))

    # -- none doubled ----------------------------------------------------------------------------
    report.check("messages not due yet that were sent more than once", 0,
                 sum(1 for row in outbox if states[row.id] == "scheduled" and row.dispatch_count > 1))
    report.check("bookings with a timeline entry written twice", 0, doubled_events)
    expected = {}
    for row in outbox:
        if row.actor_name in ("le.sync_driver", "le.sync_vehicle"):
            expected[("/v1/drivers" if row.actor_name == "le.sync_driver" else "/v1/vehicles", idempotency_key(row.id))] = row
    for booking in ever_registered:
        expected[register_key(booking)] = booking
        if booking.status is BookingStatus.cancelled:
            expected[cancel_key(booking)] = booking
    for label, path in (("driver upserts", "/v1/drivers"), ("vehicle upserts", "/v1/vehicles")):
        keys = [key for key in expected if key[0] == path]
        report.check(f"LE {label} (key = outbox id) applied exactly once", len(keys), sum(1 for key in keys if applied[key] == 1))
    report.check("LE registrations of registered bookings applied exactly once", len(registered),
                 sum(1 for b in registered if applied[register_key(b)] == 1))
    report.check("LE registrations / cancellations applied more than once", (0, 0),
                 (sum(1 for b in bookings if applied[register_key(b)] > 1), sum(1 for b in bookings if applied[cancel_key(b)] > 1)))
    report.check("LE effects without a message or booking they belong to", 0,
                 sum(count for key, count in applied.items() if key not in expected))
    report.check("LE effects of messages that are not done", 0,
                 sum(1 for key, row in expected.items() if isinstance(row, OutboxMessage) and applied[key] and not row.done_at))

    # -- LE agrees with us -----------------------------------------------------------------------
    report.check("LE drivers: held / same code as ours", (len(drivers), len(drivers)),
                 (len(le_drivers), sum(1 for d in drivers if le_drivers.get(d.id, {}).get("driver_code") == d.external_ref)))
    report.check("LE vehicles: held / same code as ours", (len(vehicles), len(vehicles)),
                 (len(le_vehicles), sum(1 for v in vehicles if le_vehicles.get(v.id, {}).get("vehicle_code") == v.external_ref)))
    le_registered = {booking_id for booking_id, b in le_bookings.items() if b["status"] == "registered"}
    report.check("LE registered bookings: held / ours with same card and quantity", (len(registered), len(registered)),
                 (len(le_registered), sum(1 for b in registered if b.id in le_registered
                                          and (le_bookings[b.id]["card_no"], le_bookings[b.id]["quantity_kg"]) == (b.external_ref, b.quantity_kg))))
    report.check("cancelled bookings LE still holds as registered (a live gate card)", 0,
                 sum(1 for b in cancelled if b.id in le_registered))
    report.check("MES effects (it is only read)", 0, sum(1 for e in mes_ledger if e.applied))

    # -- stock reservations ------------------------------------------------------------------------
    pickups = [b for b in bookings if b.kind is BookingKind.pickup]
    reserving = [b for b in pickups if b.status is BookingStatus.registered]
    report.check("registered pickups reserving their quantity", len(reserving),
                 sum(1 for b in reserving if b.reserved_kg == b.quantity_kg))
    report.check("other bookings reserving anything", 0, sum(1 for b in bookings if b not in reserving and b.reserved_kg))
    for code, product in sorted(products.items()):
        room = run.stock_kg[code] - product.threshold_kg
        mine = [b for b in pickups if b.product_code == code]
        reserved = sum(b.reserved_kg for b in mine)
        # What cancelled pickups held once: reservations never exceeded reserved + released.
        released = sum(b.quantity_kg for b in mine if b.status is BookingStatus.cancelled and b.expires_at is not None)
        outcome = Counter(b.status for b in mine)
        report.check(f"{code}: reserved ≤ stock − threshold", f"≤ {room}", reserved, ok=reserved <= room)
        report.check(f"{code}: pickups registered / rejected (both > 0)", "> 0 / > 0",
                     f"{outcome[BookingStatus.registered]} / {outcome[BookingStatus.rejected]}",
                     ok=outcome[BookingStatus.registered] > 0 and outcome[BookingStatus.rejected] > 0)
        report.check(f"{code}: rejected pickups that would have fit", 0,
                     sum(1 for b in mine if b.status is BookingStatus.rejected and reserved + released + b.quantity_kg <= room))

    # -- the faults happened, and killed workers' messages came back ---------------------------------
    chaos, config = run.chaos, run.config
    faults = Counter(e.fault for e in le_ledger + mes_ledger if e.fault)
    report.check("simulated 5xx / timeouts", "> 0 / > 0", f"{faults['5xx']} / {faults['timeout']}",
                 ok=faults["5xx"] > 0 and faults["timeout"] > 0)
    if config.kills is None:
        report.check("worker kills", "≥ 1", len(chaos.kills), ok=len(chaos.kills) >= 1)
    else:
        report.check("worker kills", config.kills, len(chaos.kills))
    report.check("Redis restarts", 1, run.cluster.redis.restarts)
    followed = [k for k in chaos.kills if k.victim]
    report.check("kills whose victim was told apart", len(chaos.kills), len(followed))
    report.check("messages the killed workers held (in hand or prefetched)", "> 0", sum(len(k.held) for k in followed),
                 ok=sum(len(k.held) for k in followed) > 0)
    report.check(f"kills whose messages were given back to the broker within {REQUEUE_BOUND} s", len(followed),
                 sum(1 for k in followed if k.requeued_after is not None and k.requeued_after <= REQUEUE_BOUND))
    report.check("killed workers' messages processed again", sum(len(k.held) for k in followed),
                 sum(len(k.reprocessed_after) for k in followed))
    return report


def _summary(report, run, bookings, outbox, states, le_ledger, mes_ledger):
    report.section("Run", ["phase", "seconds"], [[name, f"{seconds:.1f}"] for name, seconds in run.phases.items()])
    restarted = run.chaos.redis_restarted_at
    report.section("Traffic and Redis", ["what", "value"], [
        ["HTTP calls of the drivers", run.traffic.sent],
        ["answered otherwise than expected", len(run.traffic.errors)],
        ["Redis restarted (empty) at s", f"{restarted - run.started_at:.1f}" if restarted else "-"],
    ])
    by_status = Counter((b.kind.value, b.status.value) for b in bookings)
    report.section("Bookings", ["kind", "status", "count"], [[k, s, n] for (k, s), n in sorted(by_status.items())])

    rows = []
    for actor in sorted({row.actor_name for row in outbox}):
        mine = [row for row in outbox if row.actor_name == actor]
        counts = Counter(states[row.id] for row in mine)
        rows.append([actor, len(mine), counts["done"], counts["scheduled"], counts["open"], counts["dead"],
                     sum(row.attempts for row in mine), sum(1 for row in mine if row.dispatch_count > 1)])
    report.section("Outbox", ["actor", "rows", "done", "scheduled", "open", "dead", "failed attempts", "sent again"], rows)

    rows = []
    for name, ledger in (("LE", le_ledger), ("MES", mes_ledger)):
        faults = Counter(e.fault for e in ledger if e.fault)
        rows.append([name, len(ledger), faults["5xx"], faults["timeout"], sum(1 for e in ledger if e.applied),
                     sum(1 for e in ledger if e.replayed)])
    report.section("Simulators", ["system", "requests", "5xx", "timeouts (effect kept)", "effects", "replayed (key seen)"], rows)

    rows = [[k.number, k.worker, f"{k.at - run.started_at:.1f}", "?" if k.victim is None else len(k.held), k.held_delayed,
             "-" if k.requeued_after is None else f"{k.requeued_after:.1f} ({k.requeue_note})",
             f"{k.slowest:.1f}" if k.reprocessed_after else "-"]
            for k in run.chaos.kills]
    report.section("Worker kills", ["#", "worker", "at s", "held", "held delayed", "requeued after s",
                                    "processed again after s (max)"], rows)
