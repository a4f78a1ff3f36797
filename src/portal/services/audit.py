"""The audit log of admin actions (操作日志)."""

from portal.models.admin import AuditEntry


def record(db, admin, action, *, target_type, target_id=None, summary, before=None, after=None, ip=None, note=None):
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
