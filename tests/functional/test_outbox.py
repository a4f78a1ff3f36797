"""defer() writes the outbox row inside the caller's transaction and sends nothing before commit."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import outbox
from portal.models.meta import utcnow
from portal.models.ops import ConnectivityCheck
from portal.models.outbox import OutboxMessage
from portal.refusal import Refusal

from ..support import factories


def test_defer_writes_a_row_in_the_same_transaction(db, broker):
    check = factories.connectivity_check(db, "mes", requested_by="tester")
    row = db.scalars(select(OutboxMessage)).one()
    assert (row.actor_name, row.args, row.state) == ("ops.run_connectivity_check", [check.id], "pending")
    assert row.idempotency_key == f"portal-outbox-{row.id}"
    assert broker.do_qsize("default") == 0  # nothing leaves before commit


def test_a_delayed_message_carries_its_eta(db):
    before = utcnow()
    row = outbox.defer(db, "ops.run_connectivity_check", 1, delay=timedelta(minutes=30))
    assert row.eta - before >= timedelta(minutes=30)


def test_unknown_systems_are_refused_before_anything_is_written(db):
    with pytest.raises(Refusal, match="未知的系统"):
        factories.connectivity_check(db, "erp")
    assert db.scalars(select(ConnectivityCheck)).all() == []
    assert db.scalars(select(OutboxMessage)).all() == []


def test_status_counts_open_messages(db):
    factories.connectivity_check(db, "le")
    factories.connectivity_check(db, "sms")
    status = outbox.status(db)
    assert status["undispatched"] == 2 and status["in_flight"] == 0 and status["dead"] == 0


def test_a_name_no_actor_has_is_refused_when_deferred(db):
    with pytest.raises(LookupError, match="le.no_such_actor"):
        outbox.defer(db, "le.no_such_actor", 1)
    assert db.scalars(select(OutboxMessage)).all() == []


def test_the_row_takes_the_queue_of_its_actor(db):
    row = outbox.defer(db, "wechat.publish_menu", 1)
    assert row.queue_name == "wechat"
