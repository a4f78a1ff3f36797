"""The embedded default: everything a newcomer needs inside one ``pserve`` process.

With ``portal.embedded = true`` (development.ini) every external system is served by its
simulator under ``/sim/<name>``, Dramatiq worker threads consume the stub broker, and the
scheduler runs in a thread. Production and the tests leave this off.
"""

import logging

from pyramid.wsgi import wsgiapp2

from . import messaging
from .scheduler import Scheduler
from .settings import flag
from .simulators import all_simulators

log = logging.getLogger(__name__)


def includeme(config):
    settings = config.get_settings()
    if not flag(settings, "portal.embedded"):
        return
    simulators = all_simulators(settings)
    config.registry["embedded.simulators"] = simulators
    for name, simulator in simulators.items():
        config.add_route(f"sim.{name}", f"/sim/{name}/*subpath")
        config.add_view(wsgiapp2(simulator), route_name=f"sim.{name}", require_csrf=False)

    runtime = config.registry["messaging.runtime"]
    if settings["portal.broker"] == "stub":
        config.registry["embedded.worker"] = messaging.start_embedded_worker(runtime.broker)
    scheduler = Scheduler(runtime.session_factory)
    scheduler.start_thread(tick=float(settings["portal.scheduler_tick"]), delay=3.0)
    config.registry["embedded.scheduler"] = scheduler
    log.info("embedded default: simulators %s, in-process workers and scheduler running", ", ".join(simulators))
