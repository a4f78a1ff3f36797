"""The audit log (操作日志)."""

from pyramid.view import view_config

from portal.models.admin import AuditEntry
from portal.services import audit

from . import KeysetPage


@view_config(route_name="admin.audit", renderer="admin/audit.html", permission="admin:super")
def audit_log(request):
    who = request.params.get("who", "").strip()
    action = request.params.get("action", "").strip()
    query = audit.entries(who=who, action=action)
    return {"page": KeysetPage(request, request.dbsession, query, AuditEntry.id), "who": who, "action": action}
