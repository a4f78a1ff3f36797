"""Admin accounts (管理员账号): super-admins create them and set their areas."""

from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from portal.models.admin import AdminUser
from portal.refusal import Refusal
from portal.services import admin_accounts

from . import Page, client_ip, form_errors, get_or_404


def _list(request, form=None, errors=None):
    return {
        "page": Page(request, request.dbsession, admin_accounts.account_list()),
        "areas": request.registry.catalogue.admin_areas, "form": form or {}, "errors": errors or {},
    }


@view_config(route_name="admin.accounts", request_method="GET", renderer="admin/accounts.html", permission="admin:super")
def accounts(request):
    return _list(request)


@view_config(route_name="admin.accounts", request_method="POST", renderer="admin/accounts.html", permission="admin:super")
def create_account(request):
    form = {key: request.POST.get(key, "") for key in ("username", "display_name")}
    areas = request.POST.getall("areas")
    try:
        admin = admin_accounts.create_admin(
            request.dbsession, username=form["username"], display_name=form["display_name"],
            password=request.POST.get("password", ""), areas=areas, known_areas=request.registry.catalogue.admin_areas,
            by=request.admin_session.admin, ip=client_ip(request),
        )
    except Refusal as refusal:
        request.response.status = 400
        return _list(request, {**form, "areas": areas}, form_errors(refusal))
    request.session.flash(f"已创建管理员 {admin.username}", "success")
    return HTTPFound(request.route_url("admin.accounts"))


@view_config(route_name="admin.account", request_method="GET", renderer="admin/account.html", permission="admin:super")
def account(request):
    return {"account": get_or_404(request, AdminUser), "areas": request.registry.catalogue.admin_areas, "errors": {}}


@view_config(route_name="admin.account", request_method="POST", renderer="admin/account.html", permission="admin:super")
def update_account(request):
    account = get_or_404(request, AdminUser)
    areas = request.registry.catalogue.admin_areas
    try:
        admin_accounts.update_admin(
            request.dbsession, account, by=request.admin_session.admin, known_areas=areas,
            areas=request.POST.getall("areas"), is_active=request.POST.get("is_active") == "on",
            password=request.POST.get("password") or None, ip=client_ip(request),
        )
    except Refusal as refusal:
        request.response.status = 400
        return {"account": account, "areas": areas, "errors": form_errors(refusal)}
    request.session.flash(f"已保存管理员 {account.username}", "success")
    return HTTPFound(request.route_url("admin.account", id=account.id))
