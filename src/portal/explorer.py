"""The API explorer (Swagger UI) at /api/docs, served entirely by the app.

pyramid_openapi3's own page loads Swagger UI and fonts from public CDNs, so on the plant's
offline network it stays blank; ours is its page with the CDN addresses replaced by Swagger UI's
files from the ``swagger-ui-bundle`` package, served under ``ASSETS``.
"""

from swagger_ui_bundle import swagger_ui_path

#: Where Swagger UI's files are served; templates/api_explorer.html names them under it.
ASSETS = "api/docs/assets"


def includeme(config):
    config.add_static_view(ASSETS, str(swagger_ui_path), cache_max_age=86400)
    config.pyramid_openapi3_add_explorer(route="/api/docs", template="portal:templates/api_explorer.html")
