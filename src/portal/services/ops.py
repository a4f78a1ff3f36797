"""Operations: connectivity checks and dead-letter handling (运维)."""

from sqlalchemy import select

from portal import outbox
from portal.models.meta import utcnow
from portal.models.ops import ConnectivityCheck, DeadLetter, DeadLetterStatus
from portal.models.outbox import OutboxMessage


class OpsError(ValueError):
    """A request an operator must correct; the message is Chinese."""


def request_connectivity_check(db, system, *, systems, requested_by=None, note=None):
    """Queue a signed test write to ``system``, one of ``systems`` (the catalogue's contract
    systems)."""
    if system not in systems:
        raise OpsError(f"未知的系统：{system}")
    check = ConnectivityCheck(system=system, requested_by=requested_by, note=note)
    db.add(check)
    db.flush()
    outbox.defer(db, "ops.run_connectivity_check", check.id)
    return check


def list_dead_letters(db, status=DeadLetterStatus.open, limit=100):
    query = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
    if status is not None:
        query = query.where(DeadLetter.status == status)
    return db.scalars(query).all()


def _open_dead_letter(db, dead_letter_id):
    letter = db.get(DeadLetter, dead_letter_id, with_for_update=True)
    if letter is None:
        raise OpsError(f"死信 {dead_letter_id} 不存在")
    if letter.status is not DeadLetterStatus.open:
        raise OpsError(f"死信 {dead_letter_id} 的状态为「{letter.status_label}」，不能再处理")
    return letter


def retry_dead_letter(db, dead_letter_id, *, by):
    """Deliver the message again under its original outbox id (so the same idempotency key)."""
    letter = _open_dead_letter(db, dead_letter_id)
    row = db.get(OutboxMessage, letter.outbox_id) if letter.outbox_id else None
    if row is None:
        raise OpsError(f"死信 {dead_letter_id} 的原始消息已被清理，无法重试")
    outbox.rearm(db, row)
    letter.status = DeadLetterStatus.retried
    letter.resolved_at = utcnow()
    letter.resolved_by = by
    return letter


def discard_dead_letter(db, dead_letter_id, *, by):
    letter = _open_dead_letter(db, dead_letter_id)
    letter.status = DeadLetterStatus.discarded
    letter.resolved_at = utcnow()
    letter.resolved_by = by
    return letter
