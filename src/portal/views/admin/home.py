"""The admin dashboard."""

from pyramid.view import view_config

from portal.services import ops


@view_config(route_name="admin.home", renderer="admin/home.html", permission="admin")
def home(request):
    return ops.dashboard(request.dbsession)
