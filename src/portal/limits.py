"""Bounded parsing (请求大小与嵌套层数限制): the body of an /api request is refused before
anything reads it — the transaction, the security policy, routing and the API contract all
come after this tween — when it is larger than ``portal.max_body_bytes`` (413 ``too_large``,
also for a chunked body without Content-Length: no more than the limit and one byte is read)
or when its JSON nests deeper than ``portal.max_json_depth`` (400 ``invalid_json``).

The depth is found by scanning the bytes for brackets outside strings, never by decoding:
Python's json module recurses once per level, so 2 kB of brackets would end in a RecursionError.

A route may take larger bodies (an upload) or have its caller authenticated before a body is
refused (a signed callback: the signature comes first, as docs/contract.md says) with
``config.add_body_limit(route_name, max_bytes=…, authenticate=…)``. Only a request about to be
refused is routed here to find its rule, so the common case costs one scan of its body.
"""

import re
from dataclasses import dataclass

from pyramid.interfaces import IRoutesMapper
from pyramid.tweens import EXCVIEW, INGRESS

from .refusal import Refusal
from .views.api import error_response

#: A JSON string (escapes included), skipped by the depth scan.
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
#: Opening brackets become "(" and closing ones ")"; every other byte is dropped.
_BRACKETS = bytes.maketrans(b"[{]}", b"(())")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPEN = ord("(")


def too_deep(body, limit):
    """Whether JSON ``body`` opens more than ``limit`` arrays or objects inside each other."""
    depth = 0
    for bracket in _STRING.sub(b"", body).translate(_BRACKETS, _NOT_BRACKETS):
        if bracket == _OPEN:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


@dataclass(frozen=True)
class BodyRule:
    """A route's own limit and the check that comes before its body is refused."""

    max_bytes: int | None = None
    authenticate: object = None  # callable(request), raising a Refusal to refuse


def add_body_limit(config, route_name, *, max_bytes=None, authenticate=None):
    """``config.add_body_limit``: give a route a larger body limit, or a check that runs first."""
    rule = BodyRule(max_bytes, config.maybe_dotted(authenticate))
    config.registry.setdefault("portal.body_rules", {})[route_name] = rule


def _read_at_most(stream, size):
    data = bytearray()
    while len(data) < size and (chunk := stream.read(size - len(data))):
        data += chunk
    return bytes(data)


def limits_tween_factory(handler, registry):
    core = registry.catalogue.settings
    max_bytes, max_depth = core.max_body_bytes, core.max_json_depth
    rules = registry.setdefault("portal.body_rules", {})

    def rule_for(request):
        try:
            route = registry.getUtility(IRoutesMapper)(request)["route"]
        except UnicodeDecodeError:  # a URL the next tween refuses
            route = None
        return rules.get(route.name, BodyRule()) if route is not None else BodyRule()

    def limit_for(request):
        return max(max_bytes, rule_for(request).max_bytes or 0)

    def limits_tween(request):
        if not request.environ.get("PATH_INFO", "").startswith("/api/") or not request.is_body_readable:
            return handler(request)
        length = request.content_length
        if length is None:  # chunked: read what a decision needs, no more
            body = _read_at_most(request.body_file_raw, max_bytes + 1)
            if len(body) > max_bytes and (limit := limit_for(request)) > max_bytes:
                body += _read_at_most(request.body_file_raw, limit + 1 - len(body))
            request.body = body  # kept for the view; WebOb sets Content-Length
            length = len(body)
        if length > max_bytes and length > limit_for(request):
            return error_response(413, "too_large", "请求内容过大")
        if too_deep(request.body, max_depth):
            if (authenticate := rule_for(request).authenticate) is not None:
                try:
                    authenticate(request)
                except Refusal as refusal:
                    return error_response(refusal.status, refusal.code, refusal.message, refusal.fields)
            return error_response(400, "invalid_json", f"请求内容嵌套过深（最多 {max_depth} 层）")
        return handler(request)

    return limits_tween


def includeme(config):
    config.add_directive("add_body_limit", add_body_limit)
    # Above the transaction (pyramid_tm) and everything under it.
    config.add_tween("portal.limits.limits_tween_factory", under=INGRESS, over=("pyramid_tm.tm_tween_factory", EXCVIEW))
