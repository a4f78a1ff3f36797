"""The audit log of admin actions (操作日志)."""

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from portal import validation
from portal.models.admin import AdminUser, AuditEntry
from portal.refusal import Refusal

#: The longest reason an admin may give for an action.
REASON_MAX = 200


def required_reason(reason: str | None) -> str:
    """The reason an admin gives for an action (shown in the log, often to the person concerned)."""
    reason = (reason or "").strip()
    if not reason:
        raise Refusal("reason_required", "请填写操作原因", {"reason": "请填写操作原因"})
    if len(reason) > REASON_MAX:
        problem = f"操作原因不能超过 {REASON_MAX} 个字"
        raise Refusal("reason_too_long", problem, {"reason": problem})
    if validation.hidden_characters(reason):
        problem = "操作原因含有不可见的控制字符，请删除后重试"
        raise Refusal("invalid", problem, {"reason": problem})
    return reason


def record(
    db: Session, admin: AdminUser | None, action: str, *, target_type: str, target_id: object = None, summary: str,
    before: dict | None = None, after: dict | None = None, ip: str | None = None, note: str | None = None,
) -> AuditEntry:
    """Append one entry; call it in the same transaction as the change it describes."""
    entry = AuditEntry(
        admin_id=admin.id if admin else None,
        admin_username=admin.username if admin else "system",
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        summary=summary,
        before=before,
        after=after,
        ip=ip,
        note=note,
    )
    db.add(entry)
    return entry


def entries(*, who: str | None = None, action: str | None = None) -> Select:
    """The log, newest first: of one admin (by username), of actions starting with ``action``."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if who:
        query = query.where(AuditEntry.admin_username == who.lower())
    if action:
        query = query.where(AuditEntry.action.startswith(action))
    return query


def history_of(db: Session, target_type: str, target_id: object, limit: int = 50) -> list[AuditEntry]:
    """What admins did to one record, newest first."""
    return db.scalars(
        select(AuditEntry)
        .where(AuditEntry.target_type == target_type, AuditEntry.target_id == str(target_id))
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    ).all()
