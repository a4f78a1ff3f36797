"""What the business areas plug into the core, gathered in one catalogue per application.

The core never names an area. Each area's include (``portal/areas/<area>.py``) declares
itself and registers its parts with the directives below; the core reads them back from
``request.registry.catalogue`` (or ``runtime().catalogue`` outside a request):

=======================  =========================================================
``add_area``             the area: its name (admin permission ``admin:<name>``, H5 page
                         ``/h5/<name>``, menu entry) and its Chinese label
``add_policy``           the area's rules, a :class:`~portal.settings.Typed` class parsed
                         once from the settings (``request.policy(Policy)``, ``job.policy``)
``add_admin_nav``        an entry of the admin navigation
``add_dashboard_panel``  a panel of the admin's 概览 (dashboard), refreshed as it is open
``add_periodic_job``     a job of the scheduler (a function, or an actor to defer)
``add_me_section``       a section of ``GET /api/me``'s ``bindings``
``add_client``           the client of an external system, built from the settings
``add_simulator``        that system's simulator (embedded default and tests)
``add_demo_data``        what ``portal migrate --demo`` loads for the area
=======================  =========================================================

Directives record at once, so a configuration that is not committed yet can already be
read (the test harness reads the simulators it must serve); names are checked for clashes.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyramid.exceptions import ConfigurationError

from portal import messaging
from portal.integrations.contract import ContractClient
from portal.scheduler import Periodic, deferring
from portal.settings import CoreSettings


@dataclass(frozen=True)
class Area:
    """A business area: one of the systems the Official Account is the entrance to."""

    name: str
    label: str


@dataclass(frozen=True)
class NavItem:
    label: str
    route: str
    #: "" for any admin, "super" for super-admins, or an area's name.
    area: str


@dataclass(frozen=True)
class DashboardPanel:
    """A panel of the admin's 概览: ``read(db)`` → the values its ``template`` shows."""

    name: str
    title: str
    template: str
    read: Callable
    #: "" for any admin, "super" for super-admins, or an area's name.
    area: str
    #: The whole width of the dashboard (charts over the day) instead of one column.
    wide: bool = False


@dataclass(frozen=True)
class System:
    """Another system we talk to, and the class of its client."""

    name: str
    label: str
    client: type

    def build_client(self, settings):
        return self.client.from_settings(settings, self.name, label=self.label)

    @property
    def speaks_contract(self):
        """It speaks our signed contract (docs/contract.md): connectivity checks apply."""
        return issubclass(self.client, ContractClient)


@dataclass
class Catalogue:
    settings: CoreSettings
    areas: dict[str, Area] = field(default_factory=dict)
    policies: dict[type, Any] = field(default_factory=dict)
    nav: list[NavItem] = field(default_factory=list)
    panels: dict[str, DashboardPanel] = field(default_factory=dict)
    jobs: dict[str, Periodic] = field(default_factory=dict)
    me_sections: dict[str, Callable] = field(default_factory=dict)
    systems: dict[str, System] = field(default_factory=dict)
    simulators: dict[str, type] = field(default_factory=dict)
    demo_data: list[Callable] = field(default_factory=list)

    def policy(self, kind):
        return self.policies[kind]

    @property
    def admin_areas(self):
        """Areas an admin may be granted, with their labels; "super" implies all of them."""
        return {"super": "超级管理员", **{area.name: area.label for area in self.areas.values()}}

    @property
    def contract_systems(self):
        """name → label of every system speaking our signed contract."""
        return {system.name: system.label for system in self.systems.values() if system.speaks_contract}


def _add(table, name, value, what):
    if name in table:
        raise ConfigurationError(f"{what} {name!r} is registered twice")
    table[name] = value


def _catalogue(config):
    return config.registry.catalogue


def add_area(config, name, label):
    _add(_catalogue(config).areas, name, Area(name, label), "area")


def add_policy(config, kind):
    """Parse the area's policy (a Typed class) from the settings, once."""
    _add(_catalogue(config).policies, kind, kind.from_settings(config.get_settings()), "policy")


def add_admin_nav(config, label, route, *, area):
    _catalogue(config).nav.append(NavItem(label, route, area))


def add_dashboard_panel(config, name, title, template, read, *, area, wide=False):
    """A panel of 概览, shown to the admins who may open ``area`` in the order registered:
    ``read(db)`` returns the values ``template`` (a template under portal/templates) shows."""
    _add(_catalogue(config).panels, name, DashboardPanel(name, title, template, read, area, wide), "dashboard panel")


def add_periodic_job(config, name, seconds, description, *, run=None, actor=None):
    """A periodic job that calls ``run()``, or that defers the actor named ``actor``."""
    if (run is None) == (actor is None):
        raise ConfigurationError(f"periodic job {name!r}: give either run or actor")
    if actor is not None:
        run = deferring(actor)
        # Checked once every include has recorded its actors.
        config.action(None, lambda: messaging.spec(actor))
    _add(_catalogue(config).jobs, name, Periodic(name, seconds, run, description), "periodic job")


def add_me_section(config, name, present):
    """``present(request, user)`` → this section of ``GET /api/me``'s ``bindings`` (or None)."""
    _add(_catalogue(config).me_sections, name, present, "/api/me section")


def add_client(config, name, client, *, label=None):
    """The system ``name``'s client: a class built by ``client.from_settings(settings, name,
    label=label)``; ``label`` (by default the class's) names the system in messages people read."""
    _add(_catalogue(config).systems, name, System(name, label or client.label or name, client), "system")


def add_simulator(config, name, simulator):
    """The system ``name``'s simulator: a class built by ``simulator.from_settings(settings, name)``."""
    _add(_catalogue(config).simulators, name, simulator, "simulator")


def add_demo_data(config, load):
    """``load(db, catalogue)`` adds the area's demo data and returns a line per thing created."""
    _catalogue(config).demo_data.append(load)


def includeme(config):
    config.registry.catalogue = Catalogue(settings=CoreSettings.from_settings(config.get_settings()))
    for directive in (
        add_area, add_policy, add_admin_nav, add_dashboard_panel, add_periodic_job, add_me_section, add_client, add_simulator,
        add_demo_data,
    ):
        config.add_directive(directive.__name__, directive)
    config.add_request_method(lambda request, kind: request.registry.catalogue.policy(kind), "policy")
