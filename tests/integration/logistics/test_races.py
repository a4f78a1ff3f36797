"""Races the locks decide, on PostgreSQL and on the embedded default's SQLite.

PostgreSQL decides them with row locks; SQLite ignores ``FOR UPDATE`` and takes the
database's write lock instead (``portal.db``: ``BEGIN IMMEDIATE`` at a transaction's first
row lock or write). Each race runs on both, through the real services with real concurrency
(threads, processes, worker processes), and asserts that both outcomes of the race occurred:
it proves there was a race, not only that nothing went wrong.
"""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing import get_context
from pathlib import Path
from random import uniform

import pytest
from sqlalchemy import select, update

from portal import db as portal_db
from portal import messaging, outbox
from portal.db import Transaction
from portal.models.identity import WeChatUser
from portal.models.logistics import Booking, BookingStatus, Driver, LeEvent
from portal.models.meta import utcnow
from portal.models.outbox import OutboxMessage
from portal.models.sync import SyncState
from portal.refusal import Refusal
from portal.services import idempotency
from portal.services.logistics import bookings as booking_service
from portal.services.logistics import drivers as driver_service
from portal.services.logistics import stock as stock_service
from portal.services.logistics.policy import Policy
from portal.timefmt import SHANGHAI

from ...conftest import ROOT, migrate
from ...support import contenders, factories
from ...support.waiting import wait_for

QUANTITY = 10_000


@dataclass
class Database:
    kind: str
    url: str
    session_factory: object


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A SQLite file migrated once by ``portal migrate``; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_database(sqlite_template, tmp_path):
    path = tmp_path / "portal.sqlite"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = portal_db.get_engine({"sqlalchemy.url": url})
    yield Database("sqlite", url, portal_db.get_session_factory(engine))
    outbox.wait_for_dispatch_notes()
    engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request, committed, settings, monkeypatch):
    """The test's database, as the app's session factory sees it; messaging uses it too."""
    if request.param == "postgresql":
        database = Database("postgresql", settings["sqlalchemy.url"], committed)
    else:
        database = request.getfixturevalue("sqlite_database")
    monkeypatch.setattr(messaging.runtime(), "session_factory", database.session_factory)
    yield database
    outbox.wait_for_dispatch_notes()


def _pickups(database, settings, count, *, decide=False):
    """Drivers' pickups, ``checking`` (or registered, their stock reserved, with ``decide``),
    committed together: [(booking id, stock check id)]."""
    policy = Policy.from_settings(settings)
    with Transaction(database.session_factory) as db:
        pickups = []
        for _ in range(count):
            driver = factories.driver(db)
            booking = booking_service.create_booking(db, driver, {
                "kind": "pickup", "product_code": "NAOH32", "quantity_kg": QUANTITY, "vehicle_id": driver.vehicles[0].id,
                "planned_arrival_at": (utcnow() + timedelta(hours=2)).astimezone(SHANGHAI).isoformat()}, policy)
            [check] = booking.stock_checks
            if decide:
                stock_service.decide_stock(db, check, 100_000_000, policy)
            pickups.append((booking.id, check.id))
        return pickups


def _messages(database, *actor_names):
    """How many outbox messages each (actor, booking id) got."""
    with Transaction(database.session_factory) as db:
        rows = db.execute(select(OutboxMessage.actor_name, OutboxMessage.args).where(OutboxMessage.actor_name.in_(actor_names)))
        return Counter((name, args[0]) for name, args in rows)


def test_on_sqlite_reads_never_wait_for_the_write_lock_nor_hold_it(sqlite_database, settings):
    """A transaction that has only read holds no lock: a writer commits meanwhile. While a
    writer holds the lock, a read answers at once with what was committed before."""
    [(booking_id, _)] = _pickups(sqlite_database, settings, 1)

    def reason():
        with Transaction(sqlite_database.session_factory) as db:
            return db.get(Booking, booking_id).reason

    def write(text):
        with Transaction(sqlite_database.session_factory) as db:
            db.get(Booking, booking_id, with_for_update=True).reason = text

    with ThreadPoolExecutor(1) as other, Transaction(sqlite_database.session_factory) as reader:
        assert reader.get(Booking, booking_id).reason is None
        other.submit(write, "first").result(timeout=20)  # would wait 30 s for a held lock, then fail
        with Transaction(sqlite_database.session_factory) as writer:
            writer.get(Booking, booking_id, with_for_update=True).reason = "second"
            writer.flush()
            assert other.submit(reason).result(timeout=20) == "first"
    assert reason() == "second"


# -- a driver's cancel against the MES stock decision -----------------------------------------

#: Rounds at least, and at most while one of the two outcomes has not occurred yet.
ROUNDS, MOST_ROUNDS = 30, 150
#: The two consistent ends of a round: the check found the booking cancelled, or it registered
#: the booking and the cancel then ended it (releasing the stock, cancelling any LE card).
CANCELLED_WHILE_CHECKING, CANCELLED_ONCE_REGISTERED = "cancelled while checking", "cancelled once registered"


def _decide_then_sync(start, check_id, booking_id):
    """The check_stock actor's body, then a delivery of the LE sync it may have deferred.

    Run outside a worker there is no outbox row to lock first (which on SQLite would already
    serialise the actor from its start): only the service's own locks guard the decision.
    sync_booking reconciles, so a delivery with nothing to do is harmless, as in production.
    """
    start.wait()
    broker = messaging.runtime().broker
    broker.get_actor("mes.check_stock")(check_id)
    broker.get_actor("le.sync_booking")(booking_id)


def _cancel_then_sync(start, database, booking_id):
    """The driver's cancel request (load, cancel), then the delivery of its LE sync."""
    start.wait()
    time.sleep(uniform(0, 0.004))  # lets either side be first
    with Transaction(database.session_factory) as db:
        booking_service.cancel_booking(db, db.get(Booking, booking_id), by="driver")
    messaging.runtime().broker.get_actor("le.sync_booking")(booking_id)


def _settled_outcome(database, le, booking_id):
    with Transaction(database.session_factory) as db:
        booking = db.get(Booking, booking_id)
        [check] = booking.stock_checks
        kinds = [event.kind for event in booking.events]
        assert (booking.status, booking.reserved_kg, booking.sync_state, check.sync_state) == (
            BookingStatus.cancelled, 0, SyncState.synced, SyncState.synced)
        registrations = [e for e in le.effects("/v1/bookings") if e.body["booking_id"] == booking_id]
        assert le.bookings.get(booking_id, {"status": "cancelled"})["status"] == "cancelled"  # no live LE card
        if check.accepted is None:
            assert (kinds, booking.expires_at, booking.le_state, registrations) == (["created", "cancelled"], None, "none", [])
            return CANCELLED_WHILE_CHECKING
        assert check.accepted and booking.le_state == "cancelled" and len(registrations) <= 1
        assert [kind for kind in kinds if not kind.startswith("le_")] == ["created", "stock_ok", "registered", "cancelled"]
        assert kinds.count("le_registered") == len(registrations) and kinds.count("le_cancelled") == 1
        return CANCELLED_ONCE_REGISTERED


def test_a_cancel_racing_the_stock_check_is_never_undone(database, settings, simulators):
    """A pickup in ``checking``: the driver cancels while the MES decision is made. The cancel
    always stands; the booking never ends registered, holding stock, or live at LE."""
    le = simulators["le"]
    simulators["mes"].set_stock("NAOH32", 100_000_000)
    outcomes, bookings = Counter(), {}
    pool = ThreadPoolExecutor(2)
    while len(bookings) < ROUNDS or (len(outcomes) < 2 and len(bookings) < MOST_ROUNDS):
        [(booking_id, check_id)] = _pickups(database, settings, 1)
        start = threading.Barrier(2)
        racing = [pool.submit(_decide_then_sync, start, check_id, booking_id), pool.submit(_cancel_then_sync, start, database, booking_id)]
        for side in racing:
            side.result()
        bookings[booking_id] = _settled_outcome(database, le, booking_id)
        outcomes[bookings[booking_id]] += 1
    pool.shutdown()

    assert set(outcomes) == {CANCELLED_WHILE_CHECKING, CANCELLED_ONCE_REGISTERED}, outcomes
    # The cancel's LE sync, and the registration's with its delayed expiry when there was one.
    messages = _messages(database, "le.sync_booking", "le.expire_booking")
    for booking_id, outcome in bookings.items():
        registered = outcome == CANCELLED_ONCE_REGISTERED
        assert (messages["le.sync_booking", booking_id], messages["le.expire_booking", booking_id]) == (1 + registered, registered)
    with Transaction(database.session_factory) as db:
        assert stock_service.reserved_kg(db, "NAOH32") == 0
    print(f"{database.kind}: {len(bookings)} rounds, {dict(outcomes)}, LE registrations {len(le.effects('/v1/bookings'))}")


# -- expiry against entry, from two processes -------------------------------------------------

#: Bookings contended per batch, and batches at most while one side has won none.
CONTENDED, MOST_BATCHES = 30, 5


def _overdue_pickups(database, settings):
    ids = [booking_id for booking_id, _ in _pickups(database, settings, CONTENDED, decide=True)]
    with Transaction(database.session_factory) as db:  # the truck comes at the last moment
        db.execute(update(Booking).where(Booking.id.in_(ids)).values(expires_at=utcnow() - timedelta(seconds=1)))
    return ids


def test_expiry_racing_entry_from_two_processes_has_exactly_one_winner_per_booking(database, settings):
    """One process applies LE's ``truck.entered`` events, another expires the same overdue
    pickups: each booking is entered (keeping its stock) or expired (releasing it), never both."""
    context = get_context("spawn")  # fresh interpreters, as separate servers would be
    barrier, results = context.Barrier(2), context.Queue()
    batches = {side: context.Queue() for side in contenders.SIDES}
    child_settings = {**settings, "sqlalchemy.url": database.url}
    sides = [context.Process(target=contenders.contend, args=(side, child_settings, batches[side], barrier, results))
             for side in contenders.SIDES]
    for side in sides:
        side.start()
    answers = {side: {} for side in contenders.SIDES}
    for _ in range(MOST_BATCHES):
        ids = _overdue_pickups(database, settings)
        for queue in batches.values():
            queue.put(ids)
        for _ in sides:
            side, batch = results.get(timeout=120)
            answers[side].update(batch)
        if len(set(answers["expire"].values())) == 2:
            break
    for side, queue in zip(sides, batches.values(), strict=True):
        queue.put(None)
        side.join(timeout=30)
        assert side.exitcode == 0

    messages = _messages(database, "le.sync_booking")
    with Transaction(database.session_factory) as db:
        for booking_id, expired in answers["expire"].items():
            booking = db.get(Booking, booking_id)
            kinds = [event.kind for event in booking.events]
            entered = answers["enter"][booking_id]
            assert expired != (entered == "applied"), (booking_id, expired, entered)
            if expired:
                assert (booking.status, booking.reserved_kg, booking.entered_at, entered) == (BookingStatus.expired, 0, None, "ignored")
                assert "truck.entered" not in kinds and kinds[-2:] == ["expired", "late_event"]
            else:
                assert (booking.status, booking.reserved_kg, entered) == (BookingStatus.entered, QUANTITY, "applied")
                assert booking.entered_at is not None and "expired" not in kinds and kinds[-1] == "truck.entered"
            # The registration's LE sync, and the expiry's when it won.
            assert messages["le.sync_booking", booking_id] == 1 + expired
        results_of_events = Counter(db.scalars(select(LeEvent.result)))
    won = Counter(answers["expire"].values())
    assert won[True] and won[False], won
    assert results_of_events == {"ignored": won[True], "applied": won[False]}
    print(f"{database.kind}: {len(answers['expire'])} bookings, expired {won[True]}, entered {won[False]}")


# -- stock decisions on two worker processes ---------------------------------------------------


@pytest.fixture
def worker_processes(database, settings, served_simulators, tmp_path):
    """Two Dramatiq worker processes (``dramatiq`` with 2 processes × 8 threads) on the test
    broker and ``database``; returns the directory where each notes what it processed."""
    notes = tmp_path / "worker-notes"
    notes.mkdir()
    env = {
        **os.environ,
        "PORTAL_INI": str(ROOT / "development.ini"),
        "DATABASE_URL": database.url,
        "PORTAL_BROKER": "redis",
        "REDIS_URL": settings["portal.redis_url"],
        "PORTAL_BROKER_NAMESPACE": settings["portal.broker_namespace"],
        "PORTAL_WORKER_HEARTBEAT_TIMEOUT": settings["portal.worker_heartbeat_timeout"],
        "PORTAL_TEST_WORKER_NOTES": str(notes),
        # An idle worker looks for messages every 50 ms (not up to every second): both take some.
        "dramatiq_worker_timeout": "50",
    }
    for system in ("le", "mes"):
        env[f"PORTAL_{system.upper()}_URL"] = served_simulators[system].url
        for key in ("app_key", "app_secret"):
            env[f"PORTAL_{system.upper()}_{key.upper()}"] = settings[f"portal.{system}_{key}"]
    log = open(tmp_path / "workers.log", "wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("dramatiq")), "tests.support.recording_worker", "--processes", "2", "--threads", "8"],
        env=env, cwd=ROOT, start_new_session=True, stdout=log, stderr=subprocess.STDOUT,
    )

    def ready():
        assert process.poll() is None, (tmp_path / "workers.log").read_text()
        return sum("ready" in path.read_text() for path in notes.iterdir()) == 2

    wait_for(ready, timeout=60, message="two worker processes to boot")
    yield notes
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    log.close()


def test_stock_decided_on_two_worker_processes_never_over_allocates(database, settings, simulators, worker_processes):
    # Stock 300 t with 100 t kept back: 20 of 48 bookings of 10 t fit, whatever the order. The
    # MES answers after 50 ms, so the 16 worker threads decide in waves, many at the same moment.
    mes = simulators["mes"]
    mes.set_stock("NAOH32", 300_000)
    mes.faults.update(latency_ms=50)
    ids = [booking_id for booking_id, _ in _pickups(database, settings, 48)]  # their checks are sent at once

    def decided():
        with Transaction(database.session_factory) as db:
            statuses = db.scalars(select(Booking.status).where(Booking.id.in_(ids))).all()
            return BookingStatus.checking not in statuses and Counter(statuses)

    statuses = wait_for(decided, timeout=60, message="every stock check to be decided")
    with Transaction(database.session_factory) as db:
        reserved = stock_service.reserved_kg(db, "NAOH32")
    assert (statuses[BookingStatus.registered], statuses[BookingStatus.rejected]) == (20, 28)
    assert reserved == 200_000 == 300_000 - 100_000

    def noted():
        # A worker notes a message after its commit (and after sending what it queued, a
        # notification to the driver): the last notes may follow the last decision.
        decisions = {path.name: path.read_text().count("mes.check_stock done") for path in worker_processes.iterdir()}
        return sum(decisions.values()) == 48 and decisions

    decisions = wait_for(noted, timeout=30, message="both worker processes to note their decisions")
    assert len(decisions) == 2 and all(decisions.values()), decisions
    print(f"{database.kind}: decisions per worker process {sorted(decisions.values())}")


# -- double submissions: one booking per truck and window, one answer per key, one driver per ID --


def _side_by_side(work, *args):
    """``work(side, *args)`` on two threads released together: their answers, side 0's first."""
    start = threading.Barrier(2)

    def run(side):
        start.wait(timeout=20)
        try:
            return work(side, *args)
        except Refusal as refusal:
            return refusal.code

    with ThreadPoolExecutor(2) as pool:
        return [future.result() for future in [pool.submit(run, side) for side in (0, 1)]]


def _truck(database):
    with Transaction(database.session_factory) as db:
        driver = factories.driver(db)
        return driver.id, driver.user_id, {
            "kind": "pickup", "product_code": "NAOH32", "quantity_kg": QUANTITY, "vehicle_id": driver.vehicles[0].id,
            "planned_arrival_at": (utcnow() + timedelta(hours=2)).astimezone(SHANGHAI).isoformat()}


def _book(side, database, policy, driver_id, payload):
    with Transaction(database.session_factory) as db:
        return booking_service.create_booking(db, db.get(Driver, driver_id), payload, policy).id


def _rounds(play):
    """Rounds of ``play()`` (→ the winning side) until each side has won one, at least ROUNDS."""
    winners = Counter()
    while sum(winners.values()) < ROUNDS or (len(winners) < 2 and sum(winners.values()) < MOST_ROUNDS):
        winners[play()] += 1
    assert set(winners) == {0, 1}, winners
    return winners


def test_identical_bookings_at_the_same_moment_book_once(database, settings):
    """A double tap without a key: the truck's row lock lets one request check for a duplicate
    at a time, so the second always finds the first."""
    policy = Policy.from_settings(settings)

    def play():
        driver_id, _, payload = _truck(database)
        answers = _side_by_side(_book, database, policy, driver_id, payload)
        assert answers.count("duplicate_booking") == 1, answers
        winner = answers.index("duplicate_booking") ^ 1
        with Transaction(database.session_factory) as db:
            assert db.scalars(select(Booking.id).where(Booking.driver_id == driver_id)).all() == [answers[winner]]
        return winner

    print(f"{database.kind}: {dict(_rounds(play))}")


def test_repeats_with_one_key_at_the_same_moment_answer_once(database, settings):
    """A retry racing the first request under one Idempotency-Key: one booking, and both get its answer."""
    policy = Policy.from_settings(settings)

    def answer(side, driver_id, user_id, payload):
        with Transaction(database.session_factory) as db:
            def book():
                return 201, str(booking_service.create_booking(db, db.get(Driver, driver_id), payload, policy).id)

            return idempotency.answer_once(db, user_id, "key-1", idempotency.fingerprint("book", payload), book)

    def play():
        driver_id, user_id, payload = _truck(database)
        answers = _side_by_side(answer, driver_id, user_id, payload)
        (status, body, _), (status_again, body_again, _) = answers
        assert (status, body) == (status_again, body_again) == (201, body)
        with Transaction(database.session_factory) as db:
            assert db.scalars(select(Booking.id).where(Booking.driver_id == driver_id)).all() == [int(body)]
        assert sorted(replayed for _, _, replayed in answers) == [False, True]
        return [replayed for _, _, replayed in answers].index(False)

    print(f"{database.kind}: {dict(_rounds(play))}")


def test_two_accounts_registering_one_id_number_at_the_same_moment_make_one_driver(database):
    """Both pass the check before either has written: the unique index lets one in, and the
    other is refused as if it had come second."""

    def register(side, users, number):
        with Transaction(database.session_factory) as db:
            return driver_service.save_driver(db, db.get(WeChatUser, users[side]), factories.driver_payload(id_card_no=number)).id

    def play():
        with Transaction(database.session_factory) as db:
            users = [factories.wechat_user(db).id for _ in range(2)]
        answers = _side_by_side(register, users, factories.unique_id_card())
        assert answers.count("id_card_registered") == 1, answers
        with Transaction(database.session_factory) as db:
            holders = db.scalars(select(Driver.user_id).where(Driver.user_id.in_(users))).all()
        winner = answers.index("id_card_registered") ^ 1
        assert holders == [users[winner]]
        return winner

    print(f"{database.kind}: {dict(_rounds(play))}")
