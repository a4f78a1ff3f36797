"""Server-rendered admin pages (web后台管理): the shell here, one module per area.

Every page declares ``permission="admin"``, ``"admin:super"`` or ``"admin:<area>"``. The
navigation every page shows is the catalogue's (``config.add_admin_nav``), filtered by what the
admin may open: entries for any admin first, then the areas' in the order of the areas, then the
super-admin's.
"""

from math import ceil
from urllib.parse import urlencode

from pyramid.httpexceptions import HTTPNotFound

from portal.forms import positive
from portal.services import paging
from portal.services.ops import attention

from .assets import script_url


def _section(item):
    return 0 if not item.area else 2 if item.area == "super" else 1


def nav_for(request):
    admin = request.admin_session.admin
    items = sorted(request.registry.catalogue.nav, key=_section)
    return [item for item in items if not item.area or admin.may(item.area)]


def area_labels(request, admin):
    """The labels of what ``admin`` may manage, for pages."""
    labels = request.registry.catalogue.admin_areas
    return [label for area, label in labels.items() if area in admin.areas]


class Page:
    """One numbered page of a list query (with its total), links keeping the current filters.

    For lists that stay small (accounts, drivers, users): ever-growing lists use
    :class:`KeysetPage` instead.
    """

    def __init__(self, request, db, query, *, per_page=20):
        self.per_page = per_page
        self.items, self.total, self.number = paging.numbered(db, query, positive(request.params.get("page")) or 1, per_page)
        self.pages = max(1, ceil(self.total / per_page))
        self._request = request

    def url(self, number):
        params = {k: v for k, v in self._request.GET.items() if k != "page" and v != ""}
        params["page"] = number
        return self._request.path + "?" + urlencode(params)

    @property
    def window(self):
        low = max(1, self.number - 3)
        return range(low, min(self.pages, low + 6) + 1)


class KeysetPage:
    """One page of a list shown newest first, found by id instead of by counting.

    ``?before=<id>`` (下一页, older) and ``?after=<id>`` (上一页, newer) carry the last or
    first id shown, with the current filters. ``query`` must be ordered by ``id_column``
    descending.
    """

    def __init__(self, request, db, query, id_column, *, per_page=20):
        self._request = request
        self.items, self.has_newer, self.has_older = paging.keyset(
            db, query, id_column, before=positive(request.params.get("before")), after=positive(request.params.get("after")),
            per_page=per_page,
        )

    def _url(self, **param):
        params = {k: v for k, v in self._request.GET.items() if k not in ("page", "before", "after") and v != ""}
        params.update(param)
        return self._request.path + ("?" + urlencode(params) if params else "")

    @property
    def first_url(self):
        return self._url() if self.has_newer else None

    @property
    def newer_url(self):
        return self._url(after=self.items[0].id) if self.has_newer and self.items else self.first_url

    @property
    def older_url(self):
        return self._url(before=self.items[-1].id) if self.has_older else None


def form_errors(refusal):
    """What a form shows for a refusal: each field's message beside it, and the refusal's
    message above the form unless a field already says it."""
    errors = dict(refusal.fields)
    if refusal.message not in errors.values():
        errors["form"] = refusal.message
    return errors


def get_or_404(request, model):
    """The record named by the route's ``{id}``, or the 404 page."""
    record = request.dbsession.get(model, int(request.matchdict["id"]))
    if record is None:
        raise HTTPNotFound()
    return record


def client_ip(request):
    return request.client_addr or "unknown"


#: The core's admin pages.
CORE = ("assets", "auth", "home", "accounts", "audit", "menu", "ops")


def includeme(config):
    config.add_request_method(nav_for, "admin_nav", reify=True)
    config.add_request_method(area_labels, "area_labels")
    config.add_request_method(script_url, "admin_script", reify=True)
    config.add_admin_nav("概览", "admin.home", area="")
    config.add_dashboard_panel("attention", "死信与发送失败", "admin/panels/attention.html", attention, area="super")
    for label, route in (
        ("公众号菜单", "admin.menu"), ("消息通知", "admin.notifications"), ("死信", "admin.dead_letters"),
        ("消息与定时任务", "admin.outbox"), ("操作日志", "admin.audit"), ("管理员账号", "admin.accounts"),
    ):
        config.add_admin_nav(label, route, area="super")
    for module in CORE:
        config.scan(f"portal.views.admin.{module}")
