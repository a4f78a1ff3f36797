"""Bounded parsing (portal.limits): bodies too large or nested too deep are refused before
anything decodes them, in the usual error shape; every JSON answer says it is UTF-8."""

import io
import json
import secrets
import time

import pytest
import webtest

from portal import make_config
from portal.integrations.contract import signature

from ..support import factories

MiB = 1024 * 1024
LE = "/api/le/events"
TOO_DEEP = {"error": {"code": "invalid_json", "message": "请求内容嵌套过深（最多 32 层）", "fields": {}}}
TOO_LARGE = {"error": {"code": "too_large", "message": "请求内容过大", "fields": {}}}


def _deep(levels=1000):
    """``{"code": [[[…]]]}``: 2 kB that made Python's json module recurse into a RecursionError."""
    return b'{"code": ' + b"[" * levels + b"]" * levels + b"}"


def _auth(db, user=None):
    return {"Authorization": f"Bearer {factories.token_for(db, user or factories.wechat_user(db))}"}


def _signed(settings, body):
    ts, nonce = str(int(time.time())), secrets.token_hex(16)
    return {
        "X-Portal-Key": settings["portal.le_app_key"], "X-Portal-Timestamp": ts, "X-Portal-Nonce": nonce,
        "X-Portal-Signature": signature(settings["portal.le_app_secret"], "POST", LE, ts, nonce, body),
    }


def _chunked(testapp, method, path, body, headers=None, status=None):
    """A request as a server passes a chunked body: no Content-Length, a stream that ends."""
    request = webtest.TestRequest.blank(path, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    request.environ.update({"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True})
    request.environ.pop("CONTENT_LENGTH", None)
    return testapp.do_request(request, status=status)


# -- nesting --------------------------------------------------------------------------------------


def test_a_deep_body_is_refused_before_login_is_asked_for(testapp):
    response = testapp.post("/api/auth/miniprogram", _deep(), headers={"Content-Type": "application/json"}, status=400)
    assert response.json == TOO_DEEP


def test_a_deep_body_is_refused_for_a_logged_in_driver(testapp, db):
    response = testapp.put("/api/logistics/driver", _deep(), status=400,
                           headers={**_auth(db), "Content-Type": "application/json"})
    assert response.json == TOO_DEEP


def test_a_deep_body_at_le_is_refused_for_its_signature_first(testapp, settings):
    unsigned = testapp.post(LE, _deep(), headers={"Content-Type": "application/json"}, status=401)
    assert unsigned.json["error"]["code"] == "AUTH_MISSING"
    body = _deep()
    signed = testapp.post(LE, body, headers={**_signed(settings, body), "Content-Type": "application/json"}, status=400)
    assert signed.json == TOO_DEEP


def test_nesting_up_to_the_limit_reaches_the_contract(testapp):
    body = json.dumps({"code": [[[["x"]]]]}).encode()
    refused = testapp.post("/api/auth/miniprogram", body, headers={"Content-Type": "application/json"}, status=400).json
    assert refused["error"]["code"] == "invalid" and refused["error"]["fields"] == {"code": "须为字符串"}


# -- size -----------------------------------------------------------------------------------------


def _padded(size):
    """A JSON object of exactly ``size`` bytes, whose ``code`` is not the string the document asks for."""
    head = b'{"code": 7, "padding": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


def test_a_body_over_the_limit_is_a_413(testapp):
    response = testapp.post("/api/auth/miniprogram", _padded(MiB + 1), headers={"Content-Type": "application/json"}, status=413)
    assert response.json == TOO_LARGE


def test_a_chunked_body_over_the_limit_is_a_413(testapp):
    assert _chunked(testapp, "POST", "/api/auth/miniprogram", _padded(MiB + 1), status=413).json == TOO_LARGE


def test_a_chunked_body_within_the_limit_reaches_the_view(testapp):
    # The API contract reads the body: its code is not a string.
    assert _chunked(testapp, "POST", "/api/auth/miniprogram", _padded(100), status=400).json["error"]["fields"]["code"] == "须为字符串"
    assert _chunked(testapp, "POST", "/api/auth/miniprogram", _padded(MiB), status=400).json["error"]["fields"]["code"] == "须为字符串"


def test_a_body_of_exactly_the_limit_is_read(testapp):
    refused = testapp.post("/api/auth/miniprogram", _padded(MiB), headers={"Content-Type": "application/json"}, status=400)
    assert refused.json["error"]["fields"]["code"] == "须为字符串"


@pytest.fixture(scope="module")
def upload_app(settings):
    """The app with a route that takes bodies up to 2 MiB, as an upload would."""
    config = make_config(dict(settings), environ={})
    config.add_route("test.upload", "/api/_test/upload")
    config.add_view(lambda request: {"size": len(request.body)}, route_name="test.upload", renderer="json", require_csrf=False)
    config.add_body_limit("test.upload", max_bytes=2 * MiB)
    return webtest.TestApp(config.make_wsgi_app(), extra_environ={"HTTP_HOST": "example.com"})


def test_a_route_may_take_larger_bodies(upload_app):
    assert upload_app.post("/api/_test/upload", _padded(2 * MiB), headers={"Content-Type": "application/json"}).json == {"size": 2 * MiB}
    assert _chunked(upload_app, "POST", "/api/_test/upload", _padded(2 * MiB)).json == {"size": 2 * MiB}
    assert upload_app.post("/api/_test/upload", _padded(2 * MiB + 1), status=413).json == TOO_LARGE
    assert _chunked(upload_app, "POST", "/api/_test/upload", _padded(2 * MiB + 1), status=413).json == TOO_LARGE


# -- answers --------------------------------------------------------------------------------------

JSON_UTF8 = "application/json; charset=utf-8"


def test_success_and_error_answers_say_utf8_and_are_utf8(testapp, db):
    user = factories.wechat_user(db)
    factories.driver(db, user)
    headers = _auth(db, user)
    products = testapp.get("/api/logistics/products", headers=headers)
    assert products.headers["Content-Type"] == JSON_UTF8
    bookings = testapp.get("/api/logistics/bookings", headers=headers)  # a cached answer, built as bytes
    assert bookings.headers["Content-Type"] == JSON_UTF8

    for refused in (
        testapp.get("/api/me", status=401),  # an error view
        testapp.get("/api/logistics/bookings?status=nope", headers=headers, status=400),  # a view's api_error
        testapp.post("/api/auth/miniprogram", _deep(), headers={"Content-Type": "application/json"}, status=400),  # the tween
    ):
        assert refused.headers["Content-Type"] == JSON_UTF8
        assert b"\\u" not in refused.body
        assert refused.json["error"]["message"].encode() in refused.body
