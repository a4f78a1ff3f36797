"""The admin's 概览 (dashboard): the panels the areas registered (``config.add_dashboard_panel``)
and the core's own, each admin seeing those of what they may open, refreshed while the page is
open (portal.views.admin.live)."""

from markupsafe import Markup
from pyramid.renderers import render
from pyramid.view import view_config

from . import live


def _section(panel):
    # As the navigation: any admin's first, then the areas', then the super-admin's.
    return 0 if not panel.area else 2 if panel.area == "super" else 1


def _panels(request):
    """Each panel the admin may see, rendered with what it reads now, by its ``data-part``."""
    admin, db = request.admin_session.admin, request.dbsession
    panels = sorted(request.registry.catalogue.panels.values(), key=_section)
    return {
        f"panel-{panel.name}": render("admin/_panel.html", {"panel": panel, **panel.read(db)}, request)
        for panel in panels if not panel.area or admin.may(panel.area)
    }


@view_config(route_name="admin.home", renderer="admin/home.html", permission="admin")
def home(request):
    panels = _panels(request)
    return {
        "panels": [Markup(html) for html in panels.values()],
        "live": live.every(request.route_url("admin.home_live")) if panels else None,
    }


@view_config(route_name="admin.home_live", renderer="json", permission="admin")
def home_live(request):
    return live.answer(request, _panels(request))
