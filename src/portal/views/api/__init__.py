"""JSON views for WeChat users. Errors are ``{"error": {"code", "message", "fields"}}``."""

from pyramid.httpexceptions import exception_response
from pyramid.response import Response


def _body(code, message, fields):
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def error_response(status, code, message, fields=None):
    return Response(status=status, json_body=_body(code, message, fields), charset="utf-8")


def api_error(status, code, message, fields=None):
    """An exception to raise: the transaction is rolled back and the JSON error answered."""
    return exception_response(status, json_body=_body(code, message, fields), charset="utf-8")


def json_body(request):
    """The request's JSON object, or a 400 that says so."""
    try:
        body = request.json_body
    except ValueError:
        raise api_error(400, "invalid_json", "请求内容不是有效的 JSON") from None
    if not isinstance(body, dict):
        raise api_error(400, "invalid_json", "请求内容须为 JSON 对象")
    return body
