"""portal: the WeChat Official Account entrance of 东南电化 to its business systems."""

import gc
import os

from pyramid.config import Configurator
from pyramid.renderers import JSON
from pyramid.tweens import INGRESS

from .settings import from_environment

#: The API contract: every JSON endpoint under /api, described for the mini-program team.
OPENAPI_SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "openapi.yaml")


def make_config(settings, environ=None):
    """The application as an ordered list of includes; each line says why it is there.

    Every process builds this same configuration and commits it: the web server (``main``),
    Dramatiq workers (``portal.worker``), the scheduler and console commands (``portal.cli``).
    """
    settings = from_environment(settings, environ)
    settings.setdefault("jinja2.filters", "local_time = portal.timefmt:local_time")
    config = Configurator(settings=settings)

    # The catalogue the areas plug into (areas, policies, navigation, jobs, systems …) and the
    # core's settings, parsed once.
    config.include("portal.catalogue")

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

    # The broker, built when the configuration is committed, and every actor bound to it: the
    # core's own (portal.actors) and those the areas' includes record below.
    config.include("portal.messaging")
    config.include("portal.actors")

    # The core's periodic jobs (outbox relay, broker maintenance, purges).
    config.include("portal.scheduler")

    # Presented answers cached per web process under versions the database keeps.
    config.include("portal.caching")

    # Simulators of the other systems (WeChat's here, the others from the areas), and the
    # embedded default: simulators in this server, worker threads, scheduler thread.
    config.include("portal.simulators")
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

    # What callers see when something is wrong: JSON under /api, pages elsewhere. Scanned here,
    # at the top level, so that these views override pyramid_openapi3's for its exceptions. A
    # URL that is not UTF-8 is refused (400) before the transaction, the security policy or
    # routing try to decode it.
    config.scan("portal.views.errors")
    config.add_tween("portal.views.errors.utf8_url_tween_factory", under=INGRESS)

    # An /api body too large or nested too deep is refused (413/400) before anything reads it.
    config.include("portal.limits")

    # The core's URLs and views: home, health, WeChat login, H5 shell, /api/me, the admin shell
    # and its operations pages.
    config.include("portal.routes")
    config.include("portal.views")

    # The business areas, each plugging in its own routes, views, actors, jobs, systems and
    # policy. This is the one list of areas.
    config.include("portal.areas.logistics")
    config.include("portal.areas.visitors")
    config.include("portal.areas.canteen")
    return config


def main(global_config, **settings):
    """Paste entry point (``pserve development.ini``, ``gunicorn --paste production.ini``)."""
    app = make_config(settings).make_wsgi_app()
    # What the app holds lives as long as the process: keep it out of the cyclic collector's
    # full collections, which otherwise walk all of it (~185,000 objects, 70-110 ms) every few
    # seconds under load and stall a request that long (bench/RESULTS.md, "p99").
    gc.freeze()
    return app
