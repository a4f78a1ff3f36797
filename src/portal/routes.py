"""Every URL of the core, in one place; each area adds its own in its include."""


def includeme(config):
    config.add_route("home", "/")
    config.add_route("healthz", "/healthz")
    config.add_route("readyz", "/readyz")

    # WeChat users: web authorization and H5 pages inside WeChat (one per area).
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
    config.add_route("api.me.subscriptions", "/api/me/subscriptions")

    # Admin pages: the shell and the super-admin's operations pages.
    config.add_route("admin.login", "/admin/login")
    config.add_route("admin.logout", "/admin/logout")
    config.add_route("admin.home", "/admin/")
    config.add_route("admin.home_live", "/admin/live")
    config.add_route("admin.asset", "/admin/assets/{name}")
    config.add_route("admin.menu", "/admin/menu")
    config.add_route("admin.menu_publish", r"/admin/menu/{id:\d+}/publish")
    config.add_route("admin.notifications", "/admin/notifications")
    config.add_route("admin.dead_letters", "/admin/dead-letters")
    config.add_route("admin.dead_letter", r"/admin/dead-letters/{id:\d+}")
    config.add_route("admin.outbox", "/admin/outbox")
    config.add_route("admin.audit", "/admin/audit")
    config.add_route("admin.accounts", "/admin/accounts")
    config.add_route("admin.account", r"/admin/accounts/{id:\d+}")
