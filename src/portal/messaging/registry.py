"""Every actor of the portal, recorded by name when its module is imported.

Declaring an actor binds nothing: :func:`actor` records an :class:`ActorSpec` and returns the
function unchanged (so it can be called directly, with a :class:`~portal.messaging.Job`).
:func:`portal.messaging.configure` binds every recorded actor to the broker it builds, and
binds any actor recorded after that at once.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ActorSpec:
    """An actor's name (pinned: outbox rows and dead letters carry it) and its policies."""

    name: str
    fn: Callable[..., Any]
    #: One queue per external system, so that one slow system holds no threads of another.
    queue: str
    max_retries: int
    min_backoff: int
    max_backoff: int
    time_limit: int
    #: ``subject(db, *args)``, or a model class loaded by the first argument: the record whose
    #: sync state shows this actor's failures.
    subject: Callable[..., Any] | type | None = None

    def subject_of(self, db, args):
        if self.subject is None:
            return None
        if isinstance(self.subject, type):
            return db.get(self.subject, args[0]) if args else None
        return self.subject(db, *args)


_specs: dict[str, ActorSpec] = {}
_binders: list[Callable[[ActorSpec], None]] = []


def actor(name, *, queue, max_retries, min_backoff, max_backoff, time_limit, subject=None):
    """Record the actor ``name``; every policy is explicit.

    The decorated function is called as ``fn(job, *ids)`` inside its own transaction, once per
    outbox row. ``PermanentError`` is never retried.
    """

    def record(fn):
        known = _specs.get(name)
        if known is not None and (known.fn.__module__, known.fn.__qualname__) != (fn.__module__, fn.__qualname__):
            raise ValueError(f"two actors named {name!r}: {known.fn.__module__} and {fn.__module__}")
        recorded = ActorSpec(name, fn, queue, max_retries, min_backoff, max_backoff, time_limit, subject)
        _specs[name] = recorded
        for bind in _binders:
            bind(recorded)
        return fn

    return record


def spec(name):
    """The recorded actor ``name``; LookupError when no imported module declares it."""
    try:
        return _specs[name]
    except KeyError:
        raise LookupError(f"no actor named {name!r} is recorded (is its module imported?)") from None


def specs():
    return list(_specs.values())


def bind_with(binder):
    """Call ``binder(spec)`` for every actor recorded so far and every one recorded later."""
    _binders.append(binder)
    for recorded in specs():
        binder(recorded)
