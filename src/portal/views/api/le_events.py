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
    check_signature(request)
    # The API contract has checked the event's fields and types; left here is what JSON Schema
    # cannot say: text PostgreSQL can store, and a time Python can read.
    body = json_object(request)
    problems = text_problems(body)
    try:
        occurred_at = datetime.fromisoformat(body["occurred_at"]).astimezone(timezone.utc)
    except ValueError:
        problems["occurred_at"] = "须为带时区的 ISO 8601 时间"
    if problems:
        raise api_error(422, "invalid_event", "事件格式不正确", problems)
    policy = logistics.Policy.from_settings(request.registry.settings)
    status = logistics.apply_le_event(request.dbsession, body["event_id"], body["type"], occurred_at, body["data"], policy)
    return {"status": status}
