from datetime import UTC, datetime, timedelta, timezone

import pytest

from portal.models.meta import UTCDateTime
from portal.models.outbox import OutboxMessage
from portal.timefmt import local_time


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), dialect=None)


def test_instants_are_stored_in_utc_and_read_back_aware(db):
    moment = datetime(2026, 11, 25, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    row = OutboxMessage(actor_name="ops.x", queue_name="default", args=[], created_at=moment)
    db.add(row)
    db.flush()
    db.expire_all()
    read = db.get(OutboxMessage, row.id).created_at
    assert read.tzinfo == UTC
    assert read == moment
    assert read.hour == 1


def test_times_are_shown_in_beijing_time():
    assert local_time(datetime(2026, 11, 25, 16, 5, tzinfo=UTC)) == "2026-11-26 00:05:00"
    assert local_time(None) == ""
