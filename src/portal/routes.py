"""Every URL of the portal, in one place."""


def includeme(config):
    config.add_route("home", "/")
    config.add_route("healthz", "/healthz")
    config.add_route("readyz", "/readyz")
