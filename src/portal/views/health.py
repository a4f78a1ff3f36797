"""Liveness and readiness for load balancers and ops."""

import logging

from pyramid.view import view_config
from sqlalchemy import text

log = logging.getLogger(__name__)


@view_config(route_name="healthz", renderer="json")
def healthz(request):
    return {"status": "ok"}


def _check_database(request):
    with request.registry["db.engine"].connect() as connection:
        connection.execute(text("SELECT 1"))


def _check_broker(request):
    broker = request.registry["messaging.runtime"].broker
    if hasattr(broker, "client"):  # Redis
        broker.client.ping()
    elif hasattr(broker, "connection"):  # RabbitMQ
        _ = broker.connection  # opens (or reuses) this thread's connection


@view_config(route_name="readyz", renderer="json")
def readyz(request):
    checks = {}
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        try:
            check(request)
            checks[name] = "ok"
        except Exception as exc:
            log.warning("readiness check %s failed: %s", name, exc)
            checks[name] = f"error: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    request.response.status = 200 if ready else 503
    return {"status": "ready" if ready else "unavailable", "checks": checks}
