"""JSON views for WeChat users. Errors are ``{"error": {"code", "message", "fields"}}``."""

import json
import re

from pyramid.events import NewResponse, subscriber
from pyramid.httpexceptions import exception_response
from pyramid.response import Response


def _body(code, message, fields):
    # UTF-8 as the JSON renderer writes success bodies: Chinese as itself, not \u escapes.
    error = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return json.dumps(error, ensure_ascii=False, separators=(",", ":")).encode()


def error_response(status, code, message, fields=None):
    return Response(status=status, body=_body(code, message, fields), content_type="application/json")


def api_error(status, code, message, fields=None):
    """An exception to raise: the transaction is rolled back and the JSON error answered."""
    return exception_response(status, body=_body(code, message, fields), content_type="application/json")


@subscriber(NewResponse)
def json_says_utf8(event):
    """Every JSON answer names its encoding (WebOb leaves it out for application/json)."""
    response = event.response
    if response.content_type == "application/json" and response.charset is None:
        response.charset = "utf-8"


def json_object(request):
    """The request's JSON object, or a 400 that says so."""
    try:
        body = request.json_body
    except ValueError:
        raise api_error(400, "invalid_json", "请求内容不是有效的 JSON") from None
    if not isinstance(body, dict):
        raise api_error(400, "invalid_json", "请求内容须为 JSON 对象")
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
        raise api_error(400, "invalid", "提交的内容含有无效的字符", problems)
    return body
