"""Operations pages: dead letters, the outbox and periodic jobs, notifications."""

from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from portal import outbox, scheduler
from portal.models.ops import DeadLetter, DeadLetterStatus
from portal.models.outbox import OutboxMessage
from portal.models.sync import SyncState
from portal.models.wechat import Notification
from portal.refusal import Refusal
from portal.services import audit, ops

from . import KeysetPage, Page, client_ip, get_or_404


@view_config(route_name="admin.dead_letters", renderer="admin/dead_letters.html", permission="admin:super")
def dead_letters(request):
    status = request.params.get("status", "open")
    actor = request.params.get("actor", "").strip()
    known = status in {s.value for s in DeadLetterStatus}
    query = ops.dead_letter_list(status=DeadLetterStatus(status) if known else None, actor=actor)
    return {"page": Page(request, request.dbsession, query), "status": status, "actor": actor}


@view_config(route_name="admin.dead_letter", request_method="GET", renderer="admin/dead_letter.html", permission="admin:super")
def dead_letter(request):
    letter = get_or_404(request, DeadLetter)
    row = request.dbsession.get(OutboxMessage, letter.outbox_id) if letter.outbox_id else None
    return {"letter": letter, "row": row}


@view_config(route_name="admin.dead_letter", request_method="POST", permission="admin:super")
def resolve_dead_letter(request):
    letter = get_or_404(request, DeadLetter)
    admin = request.admin_session.admin
    action = request.POST.get("action")
    handlers = {"retry": (ops.retry_dead_letter, "已重新投递"), "discard": (ops.discard_dead_letter, "已丢弃")}
    if action not in handlers:
        request.session.flash("未知的操作", "error")
        return HTTPFound(request.route_url("admin.dead_letter", id=letter.id))
    handler, done = handlers[action]
    try:
        handler(request.dbsession, letter.id, by=admin.username)
    except Refusal as refusal:
        request.session.flash(refusal.message, "error")
    else:
        audit.record(
            request.dbsession, admin, f"dead_letter.{action}", target_type="dead_letter", target_id=letter.id,
            summary=f"死信 #{letter.id}（{letter.actor_name}）{done}", before={"status": "open"},
            after={"status": letter.status.value}, ip=client_ip(request),
        )
        request.session.flash(f"死信 #{letter.id} {done}", "success")
    return HTTPFound(request.route_url("admin.dead_letter", id=letter.id))


@view_config(route_name="admin.outbox", renderer="admin/outbox.html", permission="admin:super")
def outbox_page(request):
    db = request.dbsession
    return {"status": outbox.status(db), "jobs": scheduler.status(db), "page": Page(request, db, ops.open_messages())}


@view_config(route_name="admin.notifications", renderer="admin/notifications.html", permission="admin:super")
def notifications(request):
    state = request.params.get("state", "")
    query = ops.notification_list(state=SyncState(state) if state in {s.value for s in SyncState} else None)
    return {"page": KeysetPage(request, request.dbsession, query, Notification.id), "state": state}
