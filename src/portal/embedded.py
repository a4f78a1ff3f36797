"""The embedded default: everything a newcomer needs inside one ``pserve`` process.

With ``portal.embedded = true`` (development.ini) every external system is served by its
simulator under ``/sim/<system>``, Dramatiq worker threads consume the stub broker, and the
scheduler runs in a thread. Production and the tests leave this off.

Workers, the scheduler and console commands build the same configuration as the web server;
what only the web server must do (simulators, worker threads, scheduler thread) starts when
its application is created.
"""

import logging

from pyramid.events import ApplicationCreated
from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import call_app_with_subpath_as_path_info

from .messaging import runtime
from .messaging.broker import start_embedded_worker
from .scheduler import Scheduler
from .simulators import build_simulators

log = logging.getLogger(__name__)


def simulator(request):
    """``/sim/<system>/…``: the request handed to that system's simulator, mounted there."""
    app = request.registry["embedded.simulators"].get(request.matchdict["system"])
    if app is None:
        raise HTTPNotFound()
    return call_app_with_subpath_as_path_info(request, app)


def start(event):
    registry = event.app.registry
    catalogue = registry.catalogue
    simulators = build_simulators(catalogue, registry.settings)
    registry["embedded.simulators"] = simulators
    rt = runtime()
    if catalogue.settings.broker == "stub":
        registry["embedded.worker"] = start_embedded_worker(rt.broker)
    scheduler = Scheduler(rt.session_factory, catalogue.jobs.values())
    # The scheduler waits for this server (the simulators) to listen first.
    scheduler.start_thread(tick=catalogue.settings.scheduler_tick, delay=3.0)
    registry["embedded.scheduler"] = scheduler
    log.info("embedded default: simulators %s, in-process workers and scheduler running", ", ".join(simulators))


def includeme(config):
    if not config.registry.catalogue.settings.embedded:
        return
    config.add_route("sim", "/sim/{system}/*subpath")
    config.add_view(simulator, route_name="sim", require_csrf=False)
    config.add_subscriber(start, ApplicationCreated)
