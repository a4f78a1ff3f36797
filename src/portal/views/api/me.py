"""``/api/me``: who the WeChat user is, their roles and what they have bound."""

from pyramid.csrf import get_csrf_token
from pyramid.view import view_config

from portal.services import identity, notifications
from portal.timefmt import api_time

from . import json_body


def present_me(request, user):
    me = {
        "id": user.id,
        "display_name": user.display_name,
        "is_staff": user.is_staff,
        "roles": identity.roles(user),
        # What the user has bound in each area (``config.add_me_section``).
        "bindings": {name: present(request, user) for name, present in request.registry.catalogue.me_sections.items()},
        "first_login_at": api_time(user.first_login_at),
    }
    if request.session.get("wechat_token"):
        # H5 pages authenticate by cookie and send this back as X-CSRF-Token.
        me["csrf_token"] = get_csrf_token(request)
    return me


@view_config(route_name="api.me", request_method="GET", renderer="json", permission="wechat", require_csrf=False, openapi=True)
def me(request):
    return present_me(request, request.wechat_user)


@view_config(route_name="api.me", request_method="PATCH", renderer="json", permission="wechat", require_csrf=False, openapi=True)
def update_me(request):
    body = json_body(request)
    user = request.wechat_user
    if "display_name" in body:
        value = body["display_name"]
        identity.set_display_name(user, value if isinstance(value, str) else "")
    return present_me(request, user)


_API = dict(renderer="json", permission="wechat", require_csrf=False, openapi=True)


def present_subscriptions(request, user_id):
    """Each subscribe template of the mini-program, with the messages the user still allows."""
    credits = notifications.subscriptions_of(request.dbsession, user_id)
    templates = notifications.subscribe_templates(request.registry.settings)
    return {
        "subscriptions": [
            {"name": name, "template_id": template_id, "credits": credits.get(template_id, 0)}
            for name, template_id in sorted(templates.items())
        ]
    }


@view_config(route_name="api.me.subscriptions", request_method="GET", **_API)
def subscriptions(request):
    return present_subscriptions(request, request.wechat_identity.user_id)


@view_config(route_name="api.me.subscriptions", request_method="POST", **_API)
def record_subscriptions(request):
    """What the user chose in the mini-program's wx.requestSubscribeMessage."""
    known = set(notifications.subscribe_templates(request.registry.settings).values())
    notifications.record_subscriptions(request.dbsession, request.wechat_user, json_body(request)["results"], known)
    return present_subscriptions(request, request.wechat_identity.user_id)
