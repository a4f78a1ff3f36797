"""Server-rendered admin pages (web后台管理): the shell here, one module per area.

Every page declares ``permission="admin"``, ``"admin:super"`` or ``"admin:<area>"``. The
navigation every page shows is the catalogue's (``config.add_admin_nav``), filtered by what the
admin may open: entries for any admin first, then the areas' in the order of the areas, then the
super-admin's.
"""

from math import ceil
from urllib.parse import urlencode

from pyramid.httpexceptions import HTTPNotFound
from sqlalchemy import func, select


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

    For lists that stay small (accounts, drivers, users): counting and OFFSET read every row
    before the page, so ever-growing lists use :class:`KeysetPage` instead.
    """

    def __init__(self, request, db, query, *, per_page=20):
        try:
            self.number = max(1, int(request.params.get("page", 1)))
        except ValueError:
            self.number = 1
        self.per_page = per_page
        self.total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
        self.pages = max(1, ceil(self.total / per_page))
        self.number = min(self.number, self.pages)
        self.items = db.scalars(query.limit(per_page).offset((self.number - 1) * per_page)).all()
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
    first id shown, with the current filters; nothing is counted and nothing is skipped, so a
    page costs the same with a thousand rows as with millions. ``query`` must be ordered by
    ``id_column`` descending.
    """

    def __init__(self, request, db, query, id_column, *, per_page=20):
        self._request = request
        before, after = _positive(request.params.get("before")), _positive(request.params.get("after"))
        if after is not None:
            # The page just above ``after``: read upwards, shown newest first.
            rows = db.scalars(query.where(id_column > after).order_by(None).order_by(id_column.asc()).limit(per_page + 1)).all()
            if len(rows) >= per_page:
                self.items = rows[:per_page][::-1]
                self.has_newer, self.has_older = len(rows) > per_page, True
                return
            before = None  # less than a page above it: that is the top of the list
        if before is not None:
            query = query.where(id_column < before)
        rows = db.scalars(query.limit(per_page + 1)).all()
        self.items = rows[:per_page]
        self.has_newer, self.has_older = before is not None, len(rows) > per_page

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


def _positive(value):
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def get_or_404(request, model):
    """The record named by the route's ``{id}``, or the 404 page."""
    record = request.dbsession.get(model, int(request.matchdict["id"]))
    if record is None:
        raise HTTPNotFound()
    return record


def client_ip(request):
    return request.client_addr or "unknown"


#: The core's admin pages.
CORE = ("auth", "home", "accounts", "audit", "menu", "ops")


def includeme(config):
    config.add_request_method(nav_for, "admin_nav", reify=True)
    config.add_request_method(area_labels, "area_labels")
    config.add_admin_nav("概览", "admin.home", area="")
    for label, route in (
        ("公众号菜单", "admin.menu"), ("消息通知", "admin.notifications"), ("死信", "admin.dead_letters"),
        ("消息与定时任务", "admin.outbox"), ("操作日志", "admin.audit"), ("管理员账号", "admin.accounts"),
    ):
        config.add_admin_nav(label, route, area="super")
    for module in CORE:
        config.scan(f"portal.views.admin.{module}")
