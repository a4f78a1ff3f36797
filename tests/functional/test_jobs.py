"""Actors run in the test's transaction (the ``job`` fixture) the way a worker's delivery runs
them: the outbox row's idempotency key, the row done, a failure noted and rolled back."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.integrations.base import TransientError
from portal.models.logistics import Booking, BookingStatus
from portal.models.meta import utcnow
from portal.models.outbox import OutboxMessage
from portal.models.sync import SyncState
from portal.services.logistics import bookings as booking_service
from portal.services.logistics.policy import Policy

from ..support import factories


def test_a_delivery_uses_the_outbox_row_and_marks_it_done(db, job, simulators):
    check = factories.connectivity_check(db, "park")
    job("ops.run_connectivity_check", check.id)
    row = db.scalars(select(OutboxMessage)).one()
    [effect] = simulators["park"].effects("/v1/connectivity-checks")
    assert effect.idempotency_key == row.idempotency_key and row.state == "done"
    assert check.sync_state is SyncState.synced and check.external_ref == effect.response["check_id"]
    assert job.pending() == []
    job("ops.run_connectivity_check", check.id, outbox_id=row.id)  # delivered again: the row is done, nothing is sent
    assert len(simulators["park"].ledger) == 1


def test_a_failed_attempt_is_rolled_back_noted_and_retried(db, job, simulators):
    simulators["sms"].faults.update(fail_next=1, fail_next_kind="5xx")
    check = factories.connectivity_check(db, "sms")
    with pytest.raises(TransientError):
        job("ops.run_connectivity_check", check.id)
    row = db.scalars(select(OutboxMessage)).one()
    assert (row.attempts, row.done_at) == (1, None) and "503" in row.last_error
    assert check.sync_state is SyncState.pending and check.sync_error.startswith("第 1 次尝试失败")
    job("ops.run_connectivity_check", check.id, attempt=2)
    assert check.sync_state is SyncState.synced and row.state == "done"
    assert [entry.status for entry in simulators["sms"].ledger] == [503, 200]


def test_drain_runs_what_is_due_and_what_it_defers_and_leaves_the_rest_for_later(db, job, simulators, settings):
    # A person the WeChat simulator knows: the driver is told when LE registers the booking.
    person = simulators["wechat"].add_user()
    driver = factories.driver(db, factories.wechat_user(db, oa_openid=person.oa_openid))
    job.drain()  # the driver and the vehicle to LE
    assert driver.external_ref == f"LE-D-{driver.id:06d}" and driver.vehicles[0].sync_state is SyncState.synced
    booking = booking_service.create_booking(db, driver, {
        "kind": "pickup", "product_code": "NAOH32", "quantity_kg": 25000, "vehicle_id": driver.vehicles[0].id,
        "planned_arrival_at": (utcnow() + timedelta(hours=2)).isoformat()}, Policy.from_settings(settings))
    drained = job.drain()
    assert drained[:2] == [("mes.check_stock", (booking.stock_checks[0].id,)), ("le.sync_booking", (booking.id,))]
    assert [name for name, _ in drained[2:]] == ["wechat.send_notification"]  # 登记成功
    assert booking.status is BookingStatus.registered and booking.sync_state is SyncState.synced
    assert booking.external_ref == simulators["le"].bookings[booking.id]["card_no"]
    # The expiry waits for the end of the reservation window.
    assert job.pending() == [("le.expire_booking", (booking.id,))]
    assert db.get(Booking, booking.id).expires_at > utcnow()
