"""The portal app plus two test-only endpoints:

* ``POST /_test/checks`` runs the real request path (validate → service → defer → commit) and can
  fail after deferring;
* ``GET /api/_test/staff`` is guarded by the ``staff`` permission.
"""

from pyramid.httpexceptions import HTTPBadRequest

from portal import make_config
from portal.refusal import Refusal
from portal.services.ops import request_connectivity_check


def request_check(request):
    body = request.json_body
    try:
        check = request_connectivity_check(
            request.dbsession, body.get("system"), systems=request.registry.catalogue.contract_systems, requested_by="test"
        )
    except Refusal as refusal:
        raise HTTPBadRequest(json_body={"error": {"code": "bad_system", "message": refusal.message, "fields": {}}}) from None
    if body.get("crash_after_defer"):
        raise RuntimeError("the view failed after deferring")
    if body.get("refuse_after_defer"):
        raise HTTPBadRequest(json_body={"error": {"code": "refused", "message": "拒绝", "fields": {}}})
    return {"check_id": check.id}


def staff_only(request):
    return {"staff": request.wechat_identity.user_id}


def build_config(settings):
    """The portal's configuration (not committed yet) with the test-only endpoints."""
    config = make_config(dict(settings), environ={})
    config.add_route("test.checks", "/_test/checks", request_method="POST")
    config.add_view(request_check, route_name="test.checks", renderer="json", require_csrf=False)
    config.add_route("test.staff", "/api/_test/staff")
    config.add_view(staff_only, route_name="test.staff", renderer="json", permission="staff", require_csrf=False)
    return config


def build_app(settings):
    return build_config(settings).make_wsgi_app()
