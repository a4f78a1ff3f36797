"""The message-driven core end to end: real commits, a real Dramatiq Worker on Redis,
simulators over HTTP on 127.0.0.1."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
import webtest
from dramatiq import Message
from sqlalchemy import select

from portal import messaging, outbox
from portal.db import Transaction
from portal.integrations.base import TransientError
from portal.messaging.execution import record_failure
from portal.models.meta import utcnow
from portal.models.ops import ConnectivityCheck, DeadLetter, DeadLetterStatus
from portal.models.outbox import OutboxMessage
from portal.models.sync import SyncState

from ..conftest import ROOT
from ..support import factories
from ..support.testapp import build_app
from ..support.waiting import wait_for


@pytest.fixture(scope="module")
def app(settings):
    return webtest.TestApp(build_app(settings))


def _check(session_factory, check_id):
    with Transaction(session_factory) as db:
        check = db.get(ConnectivityCheck, check_id)
        db.expunge(check)
        return check


def _outbox_rows(session_factory):
    assert outbox.wait_for_dispatch_notes()
    with Transaction(session_factory) as db:
        rows = db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.expunge_all()
        return rows


def _synced(session_factory, check_id):
    return _check(session_factory, check_id).sync_state is SyncState.synced


def test_a_committed_request_delivers_exactly_one_effect(app, worker, committed, simulators):
    check_id = app.post_json("/_test/checks", {"system": "le"}).json["check_id"]
    wait_for(lambda: _synced(committed, check_id), message="the check to be synced")
    check = _check(committed, check_id)
    effects = simulators["le"].effects("/v1/connectivity-checks")
    assert len(effects) == 1
    assert check.external_ref == effects[0].response["check_id"]
    [row] = _outbox_rows(committed)
    assert effects[0].idempotency_key == row.idempotency_key
    assert row.state == "done" and row.dispatch_count == 1


@pytest.mark.parametrize("failure", ["crash_after_defer", "refuse_after_defer"])
def test_a_request_that_rolls_back_leaves_no_row_and_sends_nothing(app, worker, committed, simulators, broker, failure):
    status = 500 if failure == "crash_after_defer" else 400
    app.post_json("/_test/checks", {"system": "le", failure: True}, status=status)
    assert _outbox_rows(committed) == []
    with Transaction(committed) as db:
        assert db.scalars(select(ConnectivityCheck)).all() == []
    # Prove the pipeline was alive: a good request right after is delivered.
    check_id = app.post_json("/_test/checks", {"system": "le"}).json["check_id"]
    wait_for(lambda: _synced(committed, check_id))
    assert len(simulators["le"].effects()) == 1


def test_with_redis_down_the_request_succeeds_and_the_relay_delivers_later(app, worker, committed, simulators, broker, redis_proxy):
    redis_proxy.cut()
    broker.client.connection_pool.disconnect()
    check_id = app.post_json("/_test/checks", {"system": "mes"}).json["check_id"]
    [row] = _outbox_rows(committed)
    assert row.dispatched_at is None
    assert outbox.relay(older_than=0) == 0  # still down: nothing sent, nothing lost
    assert _outbox_rows(committed)[0].dispatched_at is None

    redis_proxy.restore()
    assert simulators["mes"].effects() == []  # not by luck: nothing was queued
    assert outbox.relay(older_than=0) == 1
    wait_for(lambda: _synced(committed, check_id), timeout=30)
    assert len(simulators["mes"].effects()) == 1


def test_a_crash_between_commit_and_send_is_repaired_by_the_relay(app, worker, committed, simulators, monkeypatch):
    def crash(pending):
        raise SystemExit("process died after commit")

    monkeypatch.setattr(outbox, "dispatch_fast_path", crash)
    check_id = app.post_json("/_test/checks", {"system": "canteen"}).json["check_id"]
    monkeypatch.undo()
    assert _outbox_rows(committed)[0].dispatched_at is None
    # The relay leaves fresh rows to the fast path for a few seconds, then takes them.
    assert outbox.relay() == 0
    assert outbox.relay(older_than=0) == 1
    wait_for(lambda: _synced(committed, check_id))
    assert len(simulators["canteen"].effects()) == 1


def test_a_message_delivered_twice_has_one_effect(worker, committed, simulators, broker, monkeypatch):
    # Hold the message back from the fast path, then deliver it three times at once.
    monkeypatch.setattr(messaging.runtime(), "fast_path", False)
    with Transaction(committed) as db:
        check_id = factories.connectivity_check(db, "park").id
    [row] = _outbox_rows(committed)
    actor = broker.get_actor(row.actor_name)
    for _ in range(3):
        actor.send_with_options(args=(check_id,), outbox_id=row.id)
    wait_for(lambda: _synced(committed, check_id))
    broker.join("default", timeout=10_000)
    worker.join()
    # Redelivery after the actor committed is a no-op as well.
    actor.send_with_options(args=(check_id,), outbox_id=row.id)
    broker.join("default", timeout=10_000)
    worker.join()
    assert len(simulators["park"].ledger) == 1
    assert len(simulators["park"].effects()) == 1


def test_a_lost_answer_is_retried_under_the_same_key_and_applied_once(worker, committed, simulators):
    park = simulators["park"]
    # The effect is applied, then the answer never comes back (client read timeout is 2 s).
    park.faults.update(fail_next=1, fail_next_kind="timeout", hold_seconds=3)
    with Transaction(committed) as db:
        check_id = factories.connectivity_check(db, "park").id
    wait_for(lambda: _synced(committed, check_id), timeout=30)
    assert len(park.effects()) == 1
    assert [e.replayed for e in park.ledger] == [False, True]
    row = _outbox_rows(committed)[0]
    assert row.attempts == 1 and row.last_error


def test_a_transient_failure_is_retried_then_succeeds(worker, committed, simulators):
    sms = simulators["sms"]
    sms.faults.update(fail_next=2, fail_next_kind="5xx")
    with Transaction(committed) as db:
        check_id = factories.connectivity_check(db, "sms").id
    wait_for(lambda: _synced(committed, check_id), timeout=30)
    assert [e.status for e in sms.ledger] == [503, 503, 200]
    assert len(sms.effects()) == 1
    [row] = _outbox_rows(committed)
    assert row.attempts == 2 and row.first_failed_at <= row.last_failed_at
    with Transaction(committed) as db:
        assert db.scalars(select(DeadLetter)).all() == []


def test_a_delayed_message_waiting_for_its_eta_is_sent_again_only_once_overdue(committed):
    """The relay resends a dispatched message it presumes lost (Redis restarted empty); a
    delayed one is only waiting until its eta, not lost. Resending it every period piled up a
    copy per period for each booking's expiry (found by the chaos run)."""
    with Transaction(committed) as db:
        eta = outbox.defer(db, "ops.run_connectivity_check", 1, delay=timedelta(hours=4)).eta
    [row] = _outbox_rows(committed)
    assert row.dispatch_count == 1  # the fast path handed it to the broker's delay queue
    assert outbox.relay(redispatch_after=30, now=row.dispatched_at + timedelta(minutes=5)) == 0
    assert outbox.relay(redispatch_after=30, now=eta + timedelta(seconds=10)) == 0
    # Overdue by more than the redispatch period and still not done: the broker lost it.
    assert outbox.relay(redispatch_after=30, now=eta + timedelta(seconds=31)) == 1
    assert _outbox_rows(committed)[0].dispatch_count == 2


def test_a_failure_noted_after_another_delivery_did_the_message_leaves_the_record_synced(committed):
    """Two deliveries of one message (a resend, a redelivery): the first fails, and the second
    commits success before the first has noted its failure. The late note must not send the
    record back to 同步中 for good (found by the chaos run)."""
    with Transaction(committed) as db:
        check_id = factories.connectivity_check(db, "le").id
    [row] = _outbox_rows(committed)
    with Transaction(committed) as db:  # what the second delivery committed
        db.get(OutboxMessage, row.id).done_at = utcnow()
        db.get(ConnectivityCheck, check_id).mark_synced("CHK-1")
    record_failure(messaging.runtime(), row.id, messaging.spec(row.actor_name), (check_id,), TransientError("LE物流系统响应超时"))
    assert _check(committed, check_id).sync_state is SyncState.synced
    assert _outbox_rows(committed)[0].attempts == 0


def _portal_cli(*args, settings):
    env = {
        **os.environ,
        "DATABASE_URL": settings["sqlalchemy.url"],
        "PORTAL_BROKER": "redis",
        "REDIS_URL": settings["portal.redis_url"],
        "PORTAL_BROKER_NAMESPACE": settings["portal.broker_namespace"],
        "PORTAL_REDIS_PREFIX": settings["portal.redis_prefix"],
    }
    return subprocess.run(
        [sys.executable, "-m", "portal.cli", "-c", str(ROOT / "development.ini"), *args],
        env=env, capture_output=True, text=True, timeout=60,
    )


def test_a_permanent_failure_is_dead_lettered_at_once_and_the_console_retries_it(worker, committed, simulators, settings):
    le = simulators["le"]
    le.faults.update(fail_next=1, fail_next_kind="4xx")
    with Transaction(committed) as db:
        check_id = factories.connectivity_check(db, "le").id

    def dead_letter():
        with Transaction(committed) as db:
            letters = db.scalars(select(DeadLetter)).all()
            db.expunge_all()
            return letters

    [letter] = wait_for(dead_letter, message="a dead letter")
    assert letter.actor_name == "ops.run_connectivity_check" and letter.args == [check_id]
    assert letter.permanent and letter.attempts == 1
    assert "HTTP 422" in letter.error and "PermanentError" in letter.traceback
    check = _check(committed, check_id)
    assert check.sync_state is SyncState.failed and "HTTP 422" in check.sync_error
    assert [e.status for e in le.ledger] == [422]  # not retried

    listing = _portal_cli("dead-letters", "list", settings=settings)
    assert listing.returncode == 0, listing.stderr
    assert f"#{letter.id}\topen" in listing.stdout

    retried = _portal_cli("dead-letters", "retry", str(letter.id), "--by", "ops", settings=settings)
    assert retried.returncode == 0, retried.stderr
    wait_for(lambda: _synced(committed, check_id), timeout=30)
    assert len(le.effects()) == 1
    with Transaction(committed) as db:
        letter = db.get(DeadLetter, letter.id)
        assert (letter.status, letter.resolved_by) == (DeadLetterStatus.retried, "ops")

    again = _portal_cli("dead-letters", "retry", str(letter.id), settings=settings)
    assert again.returncode == 1 and "已重试" in again.stderr


def test_retries_that_run_out_are_dead_lettered_with_every_attempt_counted(worker, committed, simulators, broker, monkeypatch):
    sms = simulators["sms"]
    sms.faults.update(fail_next=100, fail_next_kind="5xx")
    actor = broker.get_actor("ops.run_connectivity_check")
    monkeypatch.setitem(actor.options, "max_retries", 1)
    monkeypatch.setitem(actor.options, "min_backoff", 10)
    with Transaction(committed) as db:
        check_id = factories.connectivity_check(db, "sms").id

    def letters():
        with Transaction(committed) as db:
            found = db.scalars(select(DeadLetter)).all()
            db.expunge_all()
            return found

    [letter] = wait_for(letters, timeout=30)
    assert not letter.permanent and letter.attempts == 2
    assert _check(committed, check_id).sync_state is SyncState.failed
    assert [e.status for e in sms.ledger] == [503, 503]


def test_a_message_still_on_the_old_default_queue_is_run_by_its_actor(worker, committed, simulators, broker, monkeypatch):
    """Before queues were one per system every message went to "default"; those in flight when
    a new version starts are run by their actor's name, whatever queue they wait on."""
    le = simulators["le"]
    monkeypatch.setattr(messaging.runtime(), "fast_path", False)  # only the copy on "default" is sent
    with Transaction(committed) as db:
        row = outbox.defer(db, "le.refresh_lanes")
    assert row.queue_name == "le"
    broker.enqueue(Message(queue_name="default", actor_name="le.refresh_lanes", args=(), kwargs={}, options={"outbox_id": row.id}))
    wait_for(lambda: _outbox_rows(committed)[0].done_at, message="the message on default to be done")
    assert [entry.path for entry in le.ledger] == ["/v1/lanes"]
