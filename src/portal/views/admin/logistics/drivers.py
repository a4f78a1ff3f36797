"""驾驶员与车辆 admin pages: the list, a driver with vehicles and history, the move to another WeChat
account."""


from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from portal.models.logistics import Driver
from portal.refusal import Refusal
from portal.services import audit
from portal.services.logistics import drivers as driver_rules
from portal.services.logistics import queries
from portal.timefmt import today

from .. import Page, client_ip, form_errors, get_or_404, live
from . import PERMISSION, people

# -- 驾驶员与车辆 -------------------------------------------------------------------------------


@view_config(route_name="admin.logistics.drivers", renderer="admin/logistics/drivers.html", permission=PERMISSION)
def drivers(request):
    q = request.params.get("q", "").strip()
    warning = request.params.get("warning", "")
    query = queries.driver_list(search=q, expiring_before=queries.expiring_soon(today()) if warning == "yes" else None)
    return {"page": Page(request, request.dbsession, query), "q": q, "warning": warning, **people()}


def _driver_context(request, driver, move=None, errors=None, target=None):
    db = request.dbsession
    return {
        "driver": driver, "bookings": queries.recent_bookings_of(db, driver), "product_names": queries.product_names(db),
        "history": audit.history_of(db, "driver", driver.id), "move": move or {}, "errors": errors or {}, "target": target,
        "live": live.while_pending(request.route_url("admin.logistics.driver_live", id=driver.id)), **people(),
    }


@view_config(
    route_name="admin.logistics.driver", request_method="GET", renderer="admin/logistics/driver.html", permission=PERMISSION
)
def driver(request):
    return _driver_context(request, get_or_404(request, Driver))


@view_config(route_name="admin.logistics.driver_live", renderer="json", permission=PERMISSION)
def driver_live(request):
    return live.answer(request, live.parts(request, "admin/logistics/driver.html", driver(request)))


@view_config(
    route_name="admin.logistics.driver", request_method="POST", renderer="admin/logistics/driver.html", permission=PERMISSION
)
def move_driver(request):
    """转移微信账号 in two steps: the target account shown for confirmation, then the move."""
    driver = get_or_404(request, Driver)
    db = request.dbsession
    move = {"target": request.POST.get("target", "").strip(), "reason": request.POST.get("reason", "").strip()}
    try:
        if request.POST.get("confirmed") != "yes":
            audit.required_reason(move["reason"])
            return _driver_context(request, driver, move, target=driver_rules.move_target(db, driver, move["target"]))
        admin = request.admin_session.admin
        driver_rules.move_driver(db, driver, move["target"], admin, reason=move["reason"], ip=client_ip(request))
    except Refusal as refusal:
        request.response.status = refusal.status
        return _driver_context(request, driver, move, form_errors(refusal))
    request.session.flash(f"已将驾驶员 {driver.name} 转移到微信用户 #{driver.user_id}", "success")
    return HTTPFound(request.route_url("admin.logistics.driver", id=driver.id))
