"""The landing page: where WeChat users, admins and (in the embedded default) developers go."""

from pyramid.view import view_config


@view_config(route_name="home", renderer="home.html")
def home(request):
    return {
        "areas": [area.label for area in request.registry.catalogue.areas.values()],
        "simulators": sorted(request.registry.get("embedded.simulators", {})),
    }
