"""Every URL of the portal, in one place."""


def includeme(config):
    config.add_route("home", "/")
    config.add_route("healthz", "/healthz")
    config.add_route("readyz", "/readyz")

    # WeChat users: web authorization and H5 pages inside WeChat.
    config.add_route("wechat.login", "/auth/wechat/login")
    config.add_route("wechat.callback", "/auth/wechat/callback")
    config.add_route("h5.home", "/h5/")
    config.add_route("h5.area", "/h5/{area:logistics|visitors|canteen}")

    # JSON API for the mini-program and H5 pages.
    config.add_route("api.auth.miniprogram", "/api/auth/miniprogram")
    config.add_route("api.auth.logout", "/api/auth/logout")
    config.add_route("api.me", "/api/me")

    # Admin pages.
    config.add_route("admin.login", "/admin/login")
    config.add_route("admin.logout", "/admin/logout")
    config.add_route("admin.home", "/admin/")
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
