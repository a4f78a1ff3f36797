"""portal: the WeChat Official Account entrance of 东南电化 to logistics, visitors and canteen."""

import gc
import os

from pyramid.config import Configurator
from pyramid.renderers import JSON
from pyramid.tweens import INGRESS

from .settings import from_environment

#: The API contract: every JSON endpoint under /api, described for the mini-program team.
OPENAPI_SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "openapi.yaml")


def make_config(settings, environ=None):
    """The application as an ordered list of includes; each line says why it is there."""
    settings = from_environment(settings, environ)
    settings.setdefault("jinja2.filters", "local_time = portal.timefmt:local_time")
    config = Configurator(settings=settings)

    # One transaction per request (pyramid_tm), retried on conflicts (pyramid_retry),
    # and request.dbsession joined to it.
    config.include("portal.db")

    # JSON answers compact and in UTF-8 (Chinese text as itself, not \uXXXX escapes): a page of
    # bookings is a seventh smaller on the wire.
    config.add_renderer("json", JSON(separators=(",", ":"), ensure_ascii=False))

    # Server-rendered pages: Jinja2 templates under portal/templates.
    config.include("pyramid_jinja2")
    config.add_jinja2_renderer(".html")
    config.add_jinja2_search_path("portal:templates", name=".html")

    # Sessions, CSRF on every form, and who may do what (WeChat users, staff, admin areas).
    config.include("portal.security")

    # The broker, built from settings before any actor module is imported.
    config.include("portal.messaging")

    # request.defer(actor, *ids): the transactional outbox.
    config.include("portal.outbox")

    # Presented answers cached per web process under versions the database keeps.
    config.include("portal.caching")

    # Embedded default only: simulators in this server, worker threads, scheduler thread.
    config.include("portal.embedded")

    # The API contract (portal/openapi.yaml, served at /api/openapi.yaml, explorer at /api/docs):
    # every /api view (openapi=True) has its request validated against it — always, by
    # portal.contract, which compiles the document once (openapi-core, through pyramid_openapi3,
    # would cost a millisecond per request) — and its response too, by pyramid_openapi3, unless
    # pyramid_openapi3.enable_response_validation = false (production.ini). Every path of the
    # document must be a route (checked when the app is created). Validation errors are answered
    # in our JSON error shape by portal.views.errors.
    config.registry.settings["pyramid_openapi3.enable_request_validation"] = False
    config.registry.settings["pyramid_openapi3.enable_endpoint_validation"] = True
    config.registry.settings.setdefault("pyramid_openapi3.enable_response_validation", True)
    config.include("pyramid_openapi3")
    config.pyramid_openapi3_spec(OPENAPI_SPEC, route="/api/openapi.yaml")
    config.include("portal.explorer")  # Swagger UI at /api/docs, from our own files
    config.include("portal.contract")

    # A URL that is not UTF-8 is refused (400) before the transaction, the security policy or
    # routing try to decode it.
    config.add_tween("portal.views.errors.utf8_url_tween_factory", under=INGRESS)

    # An /api body too large or nested too deep is refused (413/400) before anything reads it.
    config.include("portal.limits")

    # URLs, then the views that serve them.
    config.include("portal.routes")
    config.include("portal.views.admin")
    config.scan("portal.views")
    return config


def main(global_config, **settings):
    """Paste entry point (``pserve development.ini``, ``gunicorn --paste production.ini``)."""
    app = make_config(settings).make_wsgi_app()
    # What the app holds lives as long as the process: keep it out of the cyclic collector's
    # full collections, which otherwise walk all of it (~185,000 objects, 70-110 ms) every few
    # seconds under load and stall a request that long (bench/RESULTS.md, "p99").
    gc.freeze()
    return app
