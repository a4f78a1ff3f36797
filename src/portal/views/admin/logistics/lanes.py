"""装车道: the lanes board, refreshed without a reload."""


from pyramid.view import view_config

from portal.services.logistics import dashboard, queries

from .. import live
from . import PERMISSION

# -- 装车道 -------------------------------------------------------------------------------------


@view_config(route_name="admin.logistics.lanes", renderer="admin/logistics/lanes.html", permission=PERMISSION)
def lanes(request):
    db = request.dbsession
    lanes, queues = queries.lane_queues(db)
    page = live.every(request.route_url("admin.logistics.lanes_live"), seconds=10)
    return {"lanes": lanes, "queues": queues, "unqueued": dashboard.unqueued(db), "live": page}


@view_config(route_name="admin.logistics.lanes_live", renderer="json", permission=PERMISSION)
def lanes_live(request):
    return live.answer(request, live.parts(request, "admin/logistics/lanes.html", lanes(request)))
