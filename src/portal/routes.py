"""Every URL of the portal, in one place."""


def includeme(config):
    config.add_route("home", "/")
    config.add_route("healthz", "/healthz")
    config.add_route("readyz", "/readyz")

    # WeChat users: web authorization and H5 pages inside WeChat.
    config.add_route("wechat.login", "/auth/wechat/login")
    config.add_route("wechat.callback", "/auth/wechat/callback")
    # The built front end: hashed assets, then index.html for every page path (its router
    # reads the path in the browser).
    config.add_route("h5.asset", "/h5/assets/{name}")
    config.add_route("h5.page", "/h5/*subpath")

    # JSON API for the mini-program and H5 pages. Patterns are plain: placeholders are typed
    # and checked by the OpenAPI document (portal/openapi.yaml), whose paths must equal them.
    config.add_route("api.auth.miniprogram", "/api/auth/miniprogram")
    config.add_route("api.auth.logout", "/api/auth/logout")
    config.add_route("api.me", "/api/me")
    config.add_route("api.logistics.driver", "/api/logistics/driver")
    config.add_route("api.logistics.vehicles", "/api/logistics/vehicles")
    config.add_route("api.logistics.vehicle", "/api/logistics/vehicles/{id}")
    config.add_route("api.logistics.entry_reports", "/api/logistics/entry-reports")
    config.add_route("api.logistics.products", "/api/logistics/products")
    config.add_route("api.logistics.bookings", "/api/logistics/bookings")
    config.add_route("api.logistics.booking", "/api/logistics/bookings/{id}")
    config.add_route("api.logistics.booking_cancel", "/api/logistics/bookings/{id}/cancel")
    config.add_route("api.logistics.orders", "/api/logistics/orders")
    config.add_route("api.logistics.orders_refresh", "/api/logistics/orders/refresh")
    config.add_route("api.logistics.order_sign", "/api/logistics/orders/{order_no}/sign")
    config.add_route("api.logistics.lanes", "/api/logistics/lanes")

    # Inbound callbacks from other systems. LE's signature is checked before its body is
    # refused for its nesting (portal.limits), as docs/contract.md says.
    config.add_route("api.le.events", "/api/le/events")
    config.add_body_limit("api.le.events", authenticate="portal.views.api.le_events.check_signature")

    # Admin pages.
    config.add_route("admin.login", "/admin/login")
    config.add_route("admin.logout", "/admin/logout")
    config.add_route("admin.home", "/admin/")
    config.add_route("admin.logistics.bookings", "/admin/logistics/bookings")
    config.add_route("admin.logistics.bookings_xlsx", "/admin/logistics/bookings.xlsx")
    config.add_route("admin.logistics.booking", r"/admin/logistics/bookings/{id:\d+}")
    config.add_route("admin.logistics.drivers", "/admin/logistics/drivers")
    config.add_route("admin.logistics.driver", r"/admin/logistics/drivers/{id:\d+}")
    config.add_route("admin.logistics.products", "/admin/logistics/products")
    config.add_route("admin.logistics.product", "/admin/logistics/products/{code:[A-Z0-9_]{2,32}}")
    config.add_route("admin.logistics.lanes", "/admin/logistics/lanes")
    config.add_route("admin.wechat_users", "/admin/wechat-users")
    config.add_route("admin.wechat_user", r"/admin/wechat-users/{id:\d+}")
    config.add_route("admin.menu", "/admin/menu")
    config.add_route("admin.menu_publish", r"/admin/menu/{id:\d+}/publish")
    config.add_route("admin.notifications", "/admin/notifications")
    config.add_route("admin.dead_letters", "/admin/dead-letters")
    config.add_route("admin.dead_letter", r"/admin/dead-letters/{id:\d+}")
    config.add_route("admin.outbox", "/admin/outbox")
    config.add_route("admin.audit", "/admin/audit")
    config.add_route("admin.accounts", "/admin/accounts")
    config.add_route("admin.account", r"/admin/accounts/{id:\d+}")
