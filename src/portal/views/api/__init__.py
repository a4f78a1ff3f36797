"""JSON views for WeChat users, one module per area. Errors are
``{"error": {"code", "message", "fields"}}``: raise a :class:`~portal.refusal.Refusal`."""

import json
import re

from pyramid.renderers import render
from pyramid.response import Response

from portal.refusal import Refusal
from portal.services import idempotency


def json_response(status, body):
    """A JSON answer from its encoded ``body``."""
    return Response(status=status, body=body, content_type="application/json", charset="utf-8")


def error_response(status, code, message, fields=None):
    """The JSON error answer (for the exception views; views raise a Refusal). UTF-8 as the JSON
    renderer writes success bodies: Chinese as itself, not \\u escapes."""
    error = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return json_response(status, json.dumps(error, ensure_ascii=False, separators=(",", ":")).encode())


def json_says_utf8(event):
    """Every JSON answer names its encoding (WebOb leaves it out for application/json); a
    ``NewResponse`` subscriber."""
    response = event.response
    if response.content_type == "application/json" and response.charset is None:
        response.charset = "utf-8"


def json_object(request):
    """The request's JSON object, or a 400 that says so."""
    try:
        body = request.json_body
    except ValueError:
        raise Refusal("invalid_json", "请求内容不是有效的 JSON") from None
    if not isinstance(body, dict):
        raise Refusal("invalid_json", "请求内容须为 JSON 对象")
    return body


#: What PostgreSQL cannot store in text: NUL, and lone surrogates ("\ud800" in JSON) that are not UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(text):
    return not _UNSTORABLE.search(text)


def text_problems(value, path=()):
    """``{field: message}`` for the strings (and keys) of a JSON value that cannot be stored."""
    problems = {}
    if isinstance(value, str):
        if not _storable(value):
            problems[".".join(map(str, path)) or "body"] = "含有无效的字符"
    elif isinstance(value, dict):
        for key, item in value.items():
            if not _storable(key):
                problems[".".join(map(str, path)) or "body"] = "含有无效的字段名"
            else:
                problems.update(text_problems(item, (*path, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            problems.update(text_problems(item, (*path, i)))
    return problems


def json_body(request):
    """The request's JSON object, or a 400 that says what is wrong with it."""
    body = json_object(request)
    if problems := text_problems(body):
        raise Refusal("invalid", "提交的内容含有无效的字符", problems)
    return body


def answer_once(request, build):
    """The JSON answer of ``build()`` (``(status, body)``), given once per ``Idempotency-Key``:
    a repeat with the key gets the first answer again, with ``Idempotent-Replayed: true``
    (portal.services.idempotency); without the header, every request is answered afresh."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        status, body = build()
        return json_response(status, render("json", body, request).encode())

    def answer():
        status, body = build()
        return status, render("json", body, request)

    asked = idempotency.fingerprint(f"{request.method} {request.matched_route.name}", json_body(request))
    status, body, replayed = idempotency.answer_once(request.dbsession, request.wechat_identity.user_id, key, asked, answer)
    response = json_response(status, body.encode())
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response
