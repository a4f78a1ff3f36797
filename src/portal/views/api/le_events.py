"""Events LE sends us (truck entered, loaded, outbound order, lanes …): signed, deduplicated."""

from datetime import datetime, timezone

from pyramid.view import view_config

from portal.integrations.contract import SignatureError, verify
from portal.messaging import runtime
from portal.services import logistics

from . import api_error, json_object, text_problems


def check_signature(request):
    """Refuse (401 with the contract's ``AUTH_…`` code) a request not signed with LE's app key.

    Also called by the API contract's error view, so that a signature is checked before
    anything is said about the body.
    """
    settings = request.registry.settings
    key, secret = settings["portal.le_app_key"], settings["portal.le_app_secret"]
    try:
        verify(
            headers=request.headers, method="POST", path_qs=request.path_qs, body=request.body,
            secret_for=lambda given: secret if given == key else None, nonce_seen=runtime().nonces.seen,
        )
    except SignatureError as exc:
        raise api_error(401, exc.code, "签名校验失败") from None


@view_config(route_name="api.le.events", request_method="POST", renderer="json", require_csrf=False, openapi=True)
def le_event(request):
    settings = request.registry.settings
    check_signature(request)
    body = json_object(request)
    event_id, type_, data = body.get("event_id"), body.get("type"), body.get("data")
    try:
        occurred_at = datetime.fromisoformat(body.get("occurred_at"))
        # Stored in UTC: a time that leaves years 1–9999 there cannot be.
        occurred_at = occurred_at.astimezone(timezone.utc) if occurred_at.tzinfo else None
    except (TypeError, ValueError, OverflowError):
        occurred_at = None
    problems = text_problems(body)
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 64:
        problems["event_id"] = "缺少或过长"
    if type_ not in logistics.EVENT_TYPES:
        problems["type"] = "未知的事件类型"
    if not isinstance(data, dict):
        problems["data"] = "须为对象"
    if occurred_at is None:
        problems["occurred_at"] = "须为带时区的 ISO 8601 时间"
    if problems:
        raise api_error(422, "invalid_event", "事件格式不正确", problems)
    status = logistics.apply_le_event(request.dbsession, event_id, type_, occurred_at, data, logistics.Policy.from_settings(settings))
    return {"status": status}
