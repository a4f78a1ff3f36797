"""Messaging: actors declared without a broker, bound to the one the app configures.

* :mod:`.registry` — ``@actor("<system>.<action>", queue=…, …)`` only records an
  :class:`~.registry.ActorSpec`; any module imports with no broker configured.
* :mod:`.broker` — what a process needs to run actors and send messages (settings, sessions,
  broker, clients): its :class:`~.broker.Runtime`; ``configure`` builds the broker and binds
  every recorded actor to it.
* :mod:`.execution` — how one delivery runs: its transaction, its outbox row, its failures.
* :mod:`.middleware` — dead letters in the database, the Redis heartbeat, broker maintenance.
"""

from .broker import Runtime, configure, includeme, runtime
from .execution import Job
from .registry import ActorSpec, actor, spec

__all__ = ["ActorSpec", "Job", "Runtime", "actor", "configure", "includeme", "runtime", "spec"]
