"""The portal app plus test-only endpoints:

* ``POST /_test/checks`` runs the real request path (validate → service → defer → commit) and can
  fail after deferring;
* ``POST /_test/conflicts`` defers a check, then changes a product under REPEATABLE READ while
  the test changes it too (:class:`Conflict`): PostgreSQL refuses the request's change and
  pyramid_retry runs the request again;
* ``GET /api/_test/staff`` is guarded by the ``staff`` permission.
"""

import threading

from pyramid.httpexceptions import HTTPBadRequest
from sqlalchemy import select

from portal import make_config
from portal.models.logistics import Product
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


class Conflict:
    """A test's change to a product, committed between a request's first read and its write."""

    #: The conflict the next request to /_test/conflicts meets.
    current = None

    def __init__(self, change):
        self.change = change  # change(): commits the test's own change to the product
        self.attempts = []
        self.lock = threading.Lock()


def conflicting_check(request):
    body = request.json_body
    db, attempt = request.dbsession, request.environ["retry.attempt"]
    db.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    check = request_connectivity_check(db, body["system"], systems=request.registry.catalogue.contract_systems, requested_by="test")
    product = db.scalars(select(Product).where(Product.code == body["product"])).one()  # this snapshot, then …
    conflict = Conflict.current
    with conflict.lock:
        conflict.attempts.append(attempt)
        if attempt == 0:
            conflict.change()  # … the test commits its change to the same row
    product.threshold_kg += 1
    if body.get("flush", True):
        db.flush()  # the first attempt's write is refused here (else at the commit): a serialization failure
    return {"check_id": check.id, "attempt": attempt}


def staff_only(request):
    return {"staff": request.wechat_identity.user_id}


def build_config(settings):
    """The portal's configuration (not committed yet) with the test-only endpoints."""
    config = make_config(dict(settings), environ={})
    config.add_route("test.checks", "/_test/checks", request_method="POST")
    config.add_view(request_check, route_name="test.checks", renderer="json", require_csrf=False)
    config.add_route("test.conflicts", "/_test/conflicts", request_method="POST")
    config.add_view(conflicting_check, route_name="test.conflicts", renderer="json", require_csrf=False)
    config.add_route("test.staff", "/api/_test/staff")
    config.add_view(staff_only, route_name="test.staff", renderer="json", permission="staff", require_csrf=False)
    return config


def build_app(settings):
    return build_config(settings).make_wsgi_app()
