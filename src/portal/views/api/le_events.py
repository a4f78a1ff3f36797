"""Events LE sends us (truck entered, loaded, outbound order, lanes …): signed, deduplicated."""

from datetime import UTC, datetime

from pyramid.view import view_config

from portal.models.logistics import LeEvent, LeEventResult
from portal.refusal import Refusal
from portal.services.logistics import le_events
from portal.services.logistics.policy import Policy

from . import error_response, json_object, text_problems


@view_config(route_name="api.le.events", request_method="POST", renderer="json", require_csrf=False, openapi=True, signed_by="le")
def le_event(request):
    # The API contract has checked the event's fields and types; left here is what JSON Schema
    # cannot say: text PostgreSQL can store, and a time Python can read.
    body = json_object(request)
    problems = text_problems(body)
    try:
        occurred_at = datetime.fromisoformat(body["occurred_at"]).astimezone(UTC)
    except ValueError:
        problems["occurred_at"] = "须为带时区的 ISO 8601 时间"
    if problems:
        raise Refusal("invalid_event", "事件格式不正确", problems, status=422)
    db, policy = request.dbsession, request.policy(Policy)
    result = le_events.apply_le_event(db, body["event_id"], body["type"], occurred_at, body["data"], policy)
    if result is LeEventResult.conflict:
        # Answered, not raised: the event and its conflict are committed for operators to see.
        note = db.get(LeEvent, body["event_id"]).note
        return error_response(409, "ORDER_CONFLICT", note, {"data.order_no": note})
    return {"status": result.value}
