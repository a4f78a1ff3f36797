"""Live parts of admin pages (实时刷新): the dashboard and the lanes board refresh themselves, and a
record page that shows 同步中 updates when the sync is done, without a reload.

A page that refreshes has ``live`` among its values (:func:`every` or :func:`while_pending`):
the layout names the page's live endpoint, and the admin script (``frontend/src/admin/live.js``)
polls it — every few seconds, or only while the page shows something pending (an element with
the class ``state-pending`` or the attribute ``data-pending``). The endpoint answers
:func:`answer`: the time it read the data, and each live part of the page rendered again, which
the script puts in place of the page's element with the same ``data-part``.

A record page's live parts are the blocks of its template named ``live_*`` (:func:`parts`), so
that the page and its endpoint render the same markup. A block is rendered here on its own:
the macros it uses are imported inside it.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from pyramid.csrf import get_csrf_token
from pyramid_jinja2 import IJinja2Environment

from portal.timefmt import local_time

#: Seconds between two refreshes of a page that always refreshes.
EVERY = 15
#: Seconds before a page showing something pending first looks again; the wait then grows.
PENDING_FIRST = 2


@dataclass(frozen=True)
class Live:
    """How a page refreshes: its endpoint, and when it polls."""

    url: str
    every: int
    while_pending: bool
    #: Beijing time the page's data was read, shown as 更新于 ….
    updated_at: str


def now_label() -> str:
    return local_time(datetime.now(UTC), "%H:%M:%S")


def every(url, seconds=EVERY):
    """A page that refreshes every ``seconds`` while it is open (dashboard, lanes board)."""
    return Live(url, seconds, False, now_label())


def while_pending(url):
    """A record page that refreshes only while it shows something pending (同步中 …)."""
    return Live(url, PENDING_FIRST, True, now_label())


def parts(request, template_name, values):
    """The blocks named ``live_*`` of a page's template, rendered with the page's values."""
    environment = request.registry.getUtility(IJinja2Environment, name=".html")
    template = environment.get_template(template_name)
    # What Pyramid gives every template (pyramid.renderers.RendererHelper.render).
    system = {"request": request, "req": request, "context": request.context, "get_csrf_token": partial(get_csrf_token, request)}
    context = template.new_context({**system, **values})
    return {name: environment.concat(render(context)) for name, render in template.blocks.items() if name.startswith("live_")}


def answer(request, rendered):
    """The live endpoint's JSON: ``{"updated_at": "HH:MM:SS", "parts": {name: html}}``."""
    request.response.cache_control = "no-store"
    return {"updated_at": now_label(), "parts": rendered}
