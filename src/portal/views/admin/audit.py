"""The audit log (操作日志)."""

from pyramid.view import view_config
from sqlalchemy import select

from portal.models.admin import AuditEntry

from . import KeysetPage


@view_config(route_name="admin.audit", renderer="admin/audit.html", permission="admin:super")
def audit_log(request):
    who = request.params.get("who", "").strip()
    action = request.params.get("action", "").strip()
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if who:
        query = query.where(AuditEntry.admin_username == who.lower())
    if action:
        query = query.where(AuditEntry.action.startswith(action))
    return {"page": KeysetPage(request, request.dbsession, query, AuditEntry.id), "who": who, "action": action}
