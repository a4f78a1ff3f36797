"""The Official Account menu editor: edit, validate, save a version, publish it."""

from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from portal.models.wechat import OfficialAccountMenu
from portal.refusal import Refusal
from portal.services import wechat_menu

from . import client_ip, get_or_404


def _context(request, buttons, errors=None):
    db = request.dbsession
    return {
        "buttons": buttons,
        "errors": errors or {},
        "leaf_types": wechat_menu.LEAF_TYPES,
        "max_top": wechat_menu.MAX_TOP,
        "max_sub": wechat_menu.MAX_SUB,
        "live": wechat_menu.live(db),
        "versions": wechat_menu.versions(db),
    }


@view_config(route_name="admin.menu", request_method="GET", renderer="admin/menu.html", permission="admin:super")
def edit_menu(request):
    latest = wechat_menu.latest(request.dbsession)
    catalogue = request.registry.catalogue
    buttons = latest.buttons if latest else wechat_menu.default_buttons(catalogue.settings.public_url, catalogue.areas.values())
    return _context(request, buttons)


@view_config(route_name="admin.menu", request_method="POST", renderer="admin/menu.html", permission="admin:super")
def save_menu(request):
    buttons = wechat_menu.from_form(request.POST)
    try:
        menu = wechat_menu.save_draft(request.dbsession, buttons, admin=request.admin_session.admin, ip=client_ip(request))
    except Refusal as refusal:
        request.response.status = 400
        return _context(request, buttons, refusal.fields)
    request.session.flash(f"已保存菜单版本 #{menu.id}，确认无误后点击“发布”", "success")
    return HTTPFound(request.route_url("admin.menu"))


@view_config(route_name="admin.menu_publish", request_method="POST", permission="admin:super")
def publish_menu(request):
    menu = get_or_404(request, OfficialAccountMenu)
    try:
        wechat_menu.publish(request.dbsession, menu, admin=request.admin_session.admin, ip=client_ip(request))
    except Refusal as refusal:
        request.session.flash(refusal.message, "error")
    else:
        request.session.flash(f"菜单 #{menu.id} 已提交发布，几秒后生效", "success")
    return HTTPFound(request.route_url("admin.menu"))
