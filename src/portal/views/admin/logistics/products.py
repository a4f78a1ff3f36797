"""品名与库存 admin pages: products with stock, reservations and threshold; new and changed products."""


from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config

from portal.models.logistics import Product
from portal.refusal import Refusal
from portal.services.logistics import products as product_rules
from portal.services.logistics import queries
from portal.services.logistics.policy import Policy

from .. import client_ip, form_errors
from . import PERMISSION

# -- 品名与库存 ---------------------------------------------------------------------------------


def _products_context(request, form=None, errors=None):
    return {
        "rows": queries.products_with_reservations(request.dbsession),
        "default_minutes": request.policy(Policy).reservation_minutes,
        "window": product_rules.WINDOW_MINUTES,
        "form": form or {},
        "errors": errors or {},
    }


@view_config(
    route_name="admin.logistics.products", request_method="GET", renderer="admin/logistics/products.html", permission=PERMISSION
)
def products(request):
    return _products_context(request)


@view_config(
    route_name="admin.logistics.products", request_method="POST", renderer="admin/logistics/products.html", permission=PERMISSION
)
def create_product(request):
    form = request.POST.mixed()
    try:
        product = product_rules.create_product(request.dbsession, form, request.admin_session.admin, ip=client_ip(request))
    except Refusal as refusal:
        request.response.status = 400
        return _products_context(request, form, form_errors(refusal))
    request.session.flash(f"已新增品名 {product.code}（{product.name}）", "success")
    return HTTPFound(request.route_url("admin.logistics.products"))


def _product_or_404(request):
    product = request.dbsession.get(Product, request.matchdict["code"])
    if product is None:
        raise HTTPNotFound()
    return product


def _product_context(request, product, form, errors=None):
    return {
        "product": product, "form": form, "errors": errors or {},
        "default_minutes": request.policy(Policy).reservation_minutes, "window": product_rules.WINDOW_MINUTES,
    }


@view_config(
    route_name="admin.logistics.product", request_method="GET", renderer="admin/logistics/product.html", permission=PERMISSION
)
def product(request):
    product = _product_or_404(request)
    form = {
        "name": product.name, "threshold_kg": product.threshold_kg,
        "reservation_minutes": product.reservation_minutes or "", "active": "on" if product.active else "",
    }
    return _product_context(request, product, form)


@view_config(
    route_name="admin.logistics.product", request_method="POST", renderer="admin/logistics/product.html", permission=PERMISSION
)
def update_product(request):
    product = _product_or_404(request)
    form = request.POST.mixed()
    try:
        admin = request.admin_session.admin
        changed = product_rules.update_product(request.dbsession, product, form, admin, ip=client_ip(request))
    except Refusal as refusal:
        request.response.status = 400
        return _product_context(request, product, form, form_errors(refusal))
    if changed:
        request.session.flash(f"已保存品名 {product.code}（{product.name}）", "success")
    else:
        request.session.flash("没有修改任何内容", "info")
    return HTTPFound(request.route_url("admin.logistics.product", code=product.code))
