"""Views: JSON for WeChat users (api/), pages for staff (admin/), H5 pages, health checks.

The core's views are registered here (the error views by ``make_config`` itself); each area's
include scans its own modules (``views/api/<area>.py``, ``views/admin/<area>.py``).
"""

from pyramid.events import NewResponse

from .api import json_says_utf8

CORE = ("home", "health", "h5", "api.auth", "api.me")


def includeme(config):
    config.add_subscriber(json_says_utf8, NewResponse)
    config.include("portal.views.api.callbacks")
    for module in CORE:
        config.scan(f"portal.views.{module}")
    config.include("portal.views.admin")
