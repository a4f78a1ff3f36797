"""The landing page of a running portal: what it is and where things are."""

from pyramid.view import view_config
from sqlalchemy import func, select

from portal import outbox
from portal.models.ops import ConnectivityCheck
from portal.scheduler import status as scheduler_status


@view_config(route_name="home", renderer="home.html")
def home(request):
    db = request.dbsession
    checks = db.scalars(select(ConnectivityCheck).order_by(ConnectivityCheck.id.desc()).limit(20)).all()
    return {
        "embedded": "embedded.simulators" in request.registry,
        "simulators": sorted(request.registry.get("embedded.simulators", {})),
        "outbox": outbox.status(db),
        "jobs": scheduler_status(db),
        "checks": checks,
        "check_count": db.scalar(select(func.count()).select_from(ConnectivityCheck)),
    }
