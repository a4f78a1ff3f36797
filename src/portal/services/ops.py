"""Operations: connectivity checks, dead letters, the outbox and notifications (运维)."""

from collections.abc import Iterable

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from portal import outbox
from portal.models.meta import utcnow
from portal.models.ops import ConnectivityCheck, DeadLetter, DeadLetterStatus
from portal.models.outbox import OutboxMessage
from portal.models.sync import SyncState
from portal.models.wechat import Notification
from portal.refusal import Refusal


def request_connectivity_check(
    db: Session, system: str, *, systems: Iterable[str], requested_by: str | None = None, note: str | None = None
) -> ConnectivityCheck:
    """Queue a signed test write to ``system``, one of ``systems`` (the catalogue's contract
    systems)."""
    if system not in systems:
        raise Refusal("unknown_system", f"未知的系统：{system}", {"system": "未知的系统"})
    check = ConnectivityCheck(system=system, requested_by=requested_by, note=note)
    db.add(check)
    db.flush()
    outbox.defer(db, "ops.run_connectivity_check", check.id)
    return check


def list_dead_letters(db: Session, status: DeadLetterStatus | None = DeadLetterStatus.open, limit: int = 100) -> list[DeadLetter]:
    return db.scalars(dead_letter_list(status=status).limit(limit)).all()


def dead_letter_list(*, status: DeadLetterStatus | None = None, actor: str | None = None) -> Select:
    """Dead letters, newest first, of a status and an actor name containing ``actor``."""
    query = select(DeadLetter).order_by(DeadLetter.id.desc())
    if status is not None:
        query = query.where(DeadLetter.status == status)
    if actor:
        query = query.where(DeadLetter.actor_name.ilike(f"%{actor}%"))
    return query


def open_messages() -> Select:
    """Outbox rows neither done nor dead, oldest first."""
    open_ = (OutboxMessage.done_at.is_(None), OutboxMessage.dead_at.is_(None))
    return select(OutboxMessage).where(*open_).order_by(OutboxMessage.id)


def notification_list(*, state: SyncState | None = None) -> Select:
    query = select(Notification).order_by(Notification.id.desc())
    if state is not None:
        query = query.where(Notification.sync_state == state)
    return query


def attention(db: Session, latest: int = 5) -> dict:
    """概览's panel of what needs a super-admin: open dead letters (the latest first) and
    notifications WeChat did not take."""
    open_letters = select(DeadLetter).where(DeadLetter.status == DeadLetterStatus.open)
    return {
        "dead_letters": db.scalar(select(func.count()).select_from(open_letters.subquery())),
        "latest": db.scalars(open_letters.order_by(DeadLetter.id.desc()).limit(latest)).all(),
        "failed_notifications": db.scalar(
            select(func.count()).select_from(Notification).where(Notification.sync_state == SyncState.failed)
        ),
    }


def _open_dead_letter(db: Session, dead_letter_id: int) -> DeadLetter:
    letter = db.get(DeadLetter, dead_letter_id, with_for_update=True)
    if letter is None:
        raise Refusal("not_found", f"死信 {dead_letter_id} 不存在", status=404)
    if letter.status is not DeadLetterStatus.open:
        raise Refusal("not_open", f"死信 {dead_letter_id} 的状态为「{letter.status.label}」，不能再处理", status=409)
    return letter


def retry_dead_letter(db: Session, dead_letter_id: int, *, by: str) -> DeadLetter:
    """Deliver the message again under its original outbox id (so the same idempotency key)."""
    letter = _open_dead_letter(db, dead_letter_id)
    row = db.get(OutboxMessage, letter.outbox_id) if letter.outbox_id else None
    if row is None:
        raise Refusal("purged", f"死信 {dead_letter_id} 的原始消息已被清理，无法重试", status=409)
    outbox.rearm(db, row)
    letter.status = DeadLetterStatus.retried
    letter.resolved_at = utcnow()
    letter.resolved_by = by
    return letter


def discard_dead_letter(db: Session, dead_letter_id: int, *, by: str) -> DeadLetter:
    letter = _open_dead_letter(db, dead_letter_id)
    letter.status = DeadLetterStatus.discarded
    letter.resolved_at = utcnow()
    letter.resolved_by = by
    return letter
