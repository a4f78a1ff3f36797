"""The simulator base: a WSGI app with a ledger, idempotency keys and switchable faults.

A simulator stands in for another system in the embedded default (mounted under
``/sim/<name>``) and in tests (served on 127.0.0.1 by :func:`serve`). Control endpoints, for
people and for tests in other processes:

* ``GET /_sim/ledger`` — every request received; ``DELETE /_sim/ledger`` — forget them
* ``GET|PUT /_sim/faults`` — the fault switches (see :class:`Faults`)
"""

import json
import random
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from webob import Request, Response

#: ``{name}`` in a route path: one path segment, passed to the handler as a keyword argument.
_PARAMETER = re.compile(r"\{(\w+)\}")


def _path_pattern(path):
    # re.split alternates literal text (even indexes) and parameter names (odd indexes).
    parts = _PARAMETER.split(path)
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts))
    return re.compile(regex + r"\Z")


class Reject(Exception):
    """Raised by a handler to answer an error without applying any effect."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class Replay(Exception):
    """Raised by a write handler that recognises a repeated request by its own means (a field of
    the body rather than an Idempotency-Key): the first answer again, without a second effect."""

    def __init__(self, status, answer):
        super().__init__(status)
        self.status = status
        self.answer = answer


@dataclass
class Faults:
    """Switches; ``fail_next`` failures come first, then ``fail_rate`` draws at random.

    kinds: ``5xx`` (503 before any effect), ``429``, ``4xx`` (a permanent 422 rejection),
    ``timeout`` (the effect is applied, then the answer is held back longer than any client
    waits — the response is lost, the effect is not), ``drop`` (no effect, answer held back).
    """

    latency_ms: int = 0
    latency_jitter_ms: int = 0
    fail_next: int = 0
    fail_next_kind: str = "5xx"
    fail_rate: float = 0.0
    fail_kinds: list = field(default_factory=lambda: ["5xx", "timeout"])
    hold_seconds: float = 15.0

    KINDS = ("5xx", "429", "4xx", "timeout", "drop")

    def update(self, **changes):
        for name, value in changes.items():
            if not hasattr(self, name) or name == "KINDS":
                raise ValueError(f"unknown fault switch {name!r}")
            setattr(self, name, value)
        for kind in [self.fail_next_kind, *self.fail_kinds]:
            if kind not in self.KINDS:
                raise ValueError(f"unknown fault kind {kind!r}")


@dataclass
class LedgerEntry:
    seq: int
    at: float
    method: str
    path: str
    idempotency_key: str | None
    body: object
    status: int
    #: True when this request changed the simulated system's state.
    applied: bool
    #: True when an idempotency key was seen before and the first answer was replayed.
    replayed: bool = False
    fault: str | None = None
    response: object = None


class Simulator:
    """Subclasses register handlers with :meth:`route` and may override :meth:`authenticate`.

    A handler gets the webob request and the parsed JSON body (plus the path's ``{name}``
    segments as keyword arguments) and returns ``(status, body)``; a write handler is
    registered with ``write=True`` and then counts as an effect unless it raises
    :class:`Reject` or :class:`Replay`.
    """

    name = "simulator"

    def __init__(self):
        self.routes = {}
        self.pattern_routes = []
        self.faults = Faults()
        self.ledger = []
        self.responses_by_key = {}
        #: Requests that arrived, including those still being answered.
        self.arrived = 0
        self.lock = threading.RLock()

    # -- registration -----------------------------------------------------------------

    def route(self, method, path, handler, *, write=False):
        """Register a handler; ``{name}`` segments (``/v1/bookings/{booking_id}/cancel``) match
        any one segment. Exact paths win over patterns."""
        if _PARAMETER.search(path):
            self.pattern_routes.append((method, _path_pattern(path), handler, write))
        else:
            self.routes[(method, path)] = (handler, write)

    def _find_route(self, method, path):
        """(handler, write, path parameters), or None."""
        if (method, path) in self.routes:
            return (*self.routes[(method, path)], {})
        for route_method, pattern, handler, write in self.pattern_routes:
            match = pattern.match(path)
            if route_method == method and match:
                return handler, write, match.groupdict()
        return None

    # -- hooks ------------------------------------------------------------------------

    def authenticate(self, request, body_bytes):
        """Return None, or raise Reject for a request that must be refused."""
        return None

    def error_body(self, code, message):
        return {"code": code, "message": message}

    # -- ledger -----------------------------------------------------------------------

    def effects(self, path=None):
        with self.lock:
            return [e for e in self.ledger if e.applied and (path is None or e.path == path)]

    def reset(self):
        with self.lock:
            self.ledger.clear()
            self.responses_by_key.clear()
            self.arrived = 0
            self.faults = Faults()

    def _record(self, **entry):
        with self.lock:
            item = LedgerEntry(seq=len(self.ledger) + 1, at=time.time(), **entry)
            self.ledger.append(item)
            return item

    # -- WSGI -------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path_info.startswith("/_sim/"):
            response = self._control(request)
        else:
            response = self._handle(request)
        return response(environ, start_response)

    def _json(self, status, body):
        return Response(
            status=status,
            body=json.dumps(body, ensure_ascii=False).encode(),
            content_type="application/json",
            charset="utf-8",
        )

    def _control(self, request):
        if request.path_info == "/_sim/ledger":
            if request.method == "DELETE":
                self.reset()
                return self._json(200, {"ok": True})
            with self.lock:
                return self._json(200, {"entries": [asdict(e) for e in self.ledger]})
        if request.path_info == "/_sim/faults":
            if request.method == "PUT":
                try:
                    with self.lock:
                        self.faults.update(**request.json_body)
                except (ValueError, TypeError) as exc:
                    return self._json(400, {"error": str(exc)})
            return self._json(200, asdict(self.faults))
        return self._json(404, {"error": "unknown control endpoint"})

    def _draw_fault(self):
        with self.lock:
            if self.faults.fail_next > 0:
                self.faults.fail_next -= 1
                return self.faults.fail_next_kind
            if self.faults.fail_rate and random.random() < self.faults.fail_rate:
                return random.choice(self.faults.fail_kinds)
        return None

    def _handle(self, request):
        with self.lock:
            self.arrived += 1
        body_bytes = request.body
        try:
            body = json.loads(body_bytes) if body_bytes else None
        except ValueError:
            body = None
        key = request.headers.get("Idempotency-Key")
        entry = dict(method=request.method, path=request.path_info, idempotency_key=key, body=body)
        route = self._find_route(request.method, request.path_info)
        if route is None:
            self._record(status=404, applied=False, **entry)
            return self._json(404, self.error_body("NOT_FOUND", "no such endpoint"))
        handler, write, parameters = route

        faults = self.faults
        if faults.latency_ms or faults.latency_jitter_ms:
            time.sleep((faults.latency_ms + random.randint(0, faults.latency_jitter_ms)) / 1000)
        try:
            self.authenticate(request, body_bytes)
        except Reject as exc:
            answer = self.error_body(exc.code, exc.message)
            self._record(status=exc.status, applied=False, response=answer, **entry)
            return self._json(exc.status, answer)

        fault = self._draw_fault()
        if fault in ("5xx", "429", "4xx", "drop"):
            status = {"5xx": 503, "429": 429, "4xx": 422, "drop": 504}[fault]
            self._record(status=status, applied=False, fault=fault, **entry)
            if fault == "drop":
                time.sleep(faults.hold_seconds)
            code = {503: "UNAVAILABLE", 429: "RATE_LIMITED", 422: "REJECTED", 504: "TIMEOUT"}[status]
            return self._json(status, self.error_body(code, f"simulated {fault}"))

        with self.lock:
            if write and key and key in self.responses_by_key:
                status, answer = self.responses_by_key[key]
                self._record(status=status, applied=False, replayed=True, fault=fault, response=answer, **entry)
                return self._json(status, answer)
            replayed = False
            try:
                status, answer = handler(request, body, **parameters)
                applied = write and status < 400
            except Reject as exc:
                status, answer, applied = exc.status, self.error_body(exc.code, exc.message), False
            except Replay as exc:
                status, answer, applied, replayed = exc.status, exc.answer, False, True
            if write and key and status < 500:
                self.responses_by_key[key] = (status, answer)
            self._record(status=status, applied=applied, replayed=replayed, fault=fault, response=answer, **entry)
        if fault == "timeout":
            time.sleep(faults.hold_seconds)
        return self._json(status, answer)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128  # bursts of concurrent clients in tests


class Served:
    """A simulator served over real HTTP on 127.0.0.1 in a background thread."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name=f"sim-{getattr(app, 'name', 'app')}", daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve(app):
    return Served(app)
