"""The one HTTP client every integration builds on.

It owns timeouts, logging without secrets and the classification every actor relies on:
``TransientError`` (timeout, connection, 429, 5xx) is retried with backoff;
``PermanentError`` (the other system rejected the data) is dead-lettered at once.
"""

import json
import logging
import re
import time
from urllib.parse import urlsplit

import requests
from requests.utils import resolve_proxies

log = logging.getLogger(__name__)

#: JSON keys and query parameters whose values never reach a log line.
_SECRET = re.compile(
    r"secret|password|passwd|token|sign|key|session|ticket|id_?card|certificate_?no|"
    r"phone|mobile|openid|unionid",
    re.IGNORECASE,
)
_LOGGED_BODY_CHARS = 2000


class IntegrationError(Exception):
    """A call to another system did not succeed. ``str(error)`` is Chinese, for people."""

    def __init__(self, message, *, system=None, status=None, code=None):
        super().__init__(message)
        self.system = system
        self.status = status
        self.code = code


class TransientError(IntegrationError):
    """Worth retrying: the other system was unreachable, slow, overloaded or broken."""


class PermanentError(IntegrationError):
    """Not worth retrying: the other system understood us and said no."""


def redact(value):
    """A copy of a JSON-like value with every secret-looking field masked."""
    if isinstance(value, dict):
        return {k: ("***" if _SECRET.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _loggable_body(raw):
    if not raw:
        return ""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        text = json.dumps(redact(json.loads(raw)), ensure_ascii=False)
    except ValueError:
        text = f"<{len(raw)} bytes, not JSON>"
    return text[:_LOGGED_BODY_CHARS]


def _loggable_url(url):
    base, _, query = url.partition("?")
    if not query:
        return base
    parts = []
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        parts.append(f"{name}=***" if _SECRET.search(name) else pair)
    return base + "?" + "&".join(parts)


class InstrumentedSession(requests.Session):
    """A requests session with default timeouts and request/response logging without secrets.

    HttpClient uses it, and so do libraries that make their own calls (wechatpy): every
    outgoing call of the portal is logged the same way and never waits forever.
    """

    def __init__(self, system, timeout):
        super().__init__()
        self.system = system
        self.timeout = timeout
        self._proxies = {}

    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if "proxies" not in kwargs:
            # requests reads the proxy environment on every call; per host once is enough.
            origin = urlsplit(request.url)[:2]
            if origin not in self._proxies:
                self._proxies[origin] = resolve_proxies(request, self.proxies, self.trust_env)
            kwargs["proxies"] = self._proxies[origin]
        started = time.monotonic()
        try:
            response = super().send(request, **kwargs)
        except requests.RequestException as exc:
            self._log(request, None, started, error=type(exc).__name__)
            raise
        self._log(request, response, started)
        return response

    def _log(self, request, response, started, error=None):
        elapsed_ms = (time.monotonic() - started) * 1000
        url = _loggable_url(request.url)
        if response is None:
            log.warning("%s %s %s → %s after %.0f ms", self.system, request.method, url, error, elapsed_ms)
            return
        level = logging.INFO if response.status_code < 400 else logging.WARNING
        log.log(
            level,
            "%s %s %s → %s in %.0f ms; sent %s; received %s",
            self.system,
            request.method,
            url,
            response.status_code,
            elapsed_ms,
            _loggable_body(request.body),
            _loggable_body(response.content),
        )


class HttpClient:
    """A JSON-over-HTTP client for one other system.

    Subclasses set ``system`` / ``label`` and may override :meth:`sign` (add auth headers),
    :meth:`check` (systems that report errors inside a 200 body) and :meth:`describe_error`.
    """

    system = "http"
    label = "外部系统"

    def __init__(self, base_url, *, connect_timeout=3.05, read_timeout=10.0):
        self.base_url = base_url.rstrip("/")
        self.session = InstrumentedSession(self.system, (float(connect_timeout), float(read_timeout)))

    def sign(self, request):
        """Add authentication to a prepared request (default: none)."""
        return request

    def describe_error(self, response):
        """(code, message) from an error response body."""
        try:
            body = response.json()
        except ValueError:
            return None, response.text[:200]
        if isinstance(body, dict):
            return body.get("code"), body.get("message") or body.get("msg") or body.get("errmsg")
        return None, None

    def check(self, response):
        """Raise the right error for a response that did not succeed."""
        status = response.status_code
        if 200 <= status < 300:
            return
        code, message = self.describe_error(response)
        detail = f"{self.label}返回 HTTP {status}" + (f"（{code}：{message}）" if code or message else "")
        if status == 429 or status >= 500:
            raise TransientError(detail, system=self.system, status=status, code=code)
        raise PermanentError(detail, system=self.system, status=status, code=code)

    def request(self, method, path, *, json_body=None, params=None, headers=None):
        body = None
        all_headers = {"Accept": "application/json"}
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
            all_headers["Content-Type"] = "application/json; charset=utf-8"
        all_headers.update(headers or {})
        prepared = self.sign(
            self.session.prepare_request(
                requests.Request(method, self.base_url + path, params=params, data=body, headers=all_headers)
            )
        )
        try:
            response = self.session.send(prepared)
        except requests.Timeout as exc:
            raise TransientError(f"{self.label}响应超时", system=self.system) from exc
        except requests.ConnectionError as exc:
            raise TransientError(f"无法连接{self.label}", system=self.system) from exc
        self.check(response)
        return response
