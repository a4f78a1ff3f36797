"""The audit log of admin actions (操作日志)."""

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from portal.models.admin import AdminUser, AuditEntry


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
