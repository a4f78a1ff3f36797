"""What schemathesis found at the edges of the API (tests/fuzz), one case per kind of problem."""

import json
import secrets
import time

import pytest
from sqlalchemy import select

from portal.integrations.contract import signature
from portal.models.logistics import Lane, OutboundOrder

from ..support import factories

LE = "/api/le/events"
UNSTORABLE = ["名\x00字", "\ud800"]


def _auth(db, user=None):
    return {"Authorization": f"Bearer {factories.token_for(db, user or factories.wechat_user(db))}"}


def _signed(settings, body, secret=None):
    ts, nonce = str(int(time.time())), secrets.token_hex(16)
    return {
        "Content-Type": "application/json", "X-Portal-Key": settings["portal.le_app_key"], "X-Portal-Timestamp": ts,
        "X-Portal-Nonce": nonce, "X-Portal-Signature": signature(secret or settings["portal.le_app_secret"], "POST", LE, ts, nonce, body),
    }


def _event(type_, occurred_at="2026-11-26T09:00:00+08:00", **data):
    return {"event_id": "evt-" + secrets.token_hex(6), "type": type_, "occurred_at": occurred_at, "data": data}


def _post_event(testapp, settings, event, status):
    body = json.dumps(event).encode()
    return testapp.post(LE, body, headers=_signed(settings, body), status=status).json


# -- methods the document does not list ----------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("TRACE", "/api/me", "GET, PATCH"),
    ("PUT", "/api/me", "GET, PATCH"),
    ("DELETE", "/api/logistics/bookings/1", "GET"),
    ("GET", "/api/le/events", "POST"),
])
def test_a_method_a_path_does_not_have_is_a_405_that_says_which_it_has(testapp, db, method, path, allow):
    response = testapp.request(path, method=method, headers=_auth(db), status=405)
    assert response.json == {"error": {"code": "method_not_allowed", "message": "不支持该请求方法", "fields": {}}}
    assert response.headers["Allow"] == allow


def test_head_on_a_get_is_a_405_with_allow_too(testapp, db):
    assert testapp.head("/api/me", headers=_auth(db), status=405).headers["Allow"] == "GET, PATCH"


def test_an_unknown_path_is_still_a_404(testapp, db):
    assert testapp.request("/api/nothing", method="TRACE", headers=_auth(db), status=404).json["error"]["code"] == "not_found"


# -- what is not UTF-8 -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/logistics/bookings/%FF", "/api/logistics/orders?from=%FF", "/api/%C3"])
def test_a_url_that_is_not_utf8_is_a_400_in_our_shape(testapp, db, url):
    refused = testapp.get(url, headers=_auth(db), status=400).json
    assert refused == {"error": {"code": "invalid", "message": "请求地址含有无效的字符（须为 UTF-8 编码）", "fields": {}}}


def test_a_page_url_that_is_not_utf8_is_a_400_too(testapp):
    assert testapp.get("/admin/%FF", status=400).text == "请求地址含有无效的字符。"


def test_a_body_that_is_not_utf8_is_invalid_json_not_a_500(testapp, db):
    refused = testapp.post("/api/logistics/vehicles", b'{"plate_no": "\xff"}', headers={**_auth(db), "Content-Type": "application/json"},
                           status=400).json
    assert refused == {"error": {"code": "invalid_json", "message": "请求内容不是有效的 JSON（须为 UTF-8 编码）", "fields": {}}}


def test_le_checks_the_signature_before_saying_the_body_is_not_utf8(testapp, settings):
    body = b'{"event_id": "\xff"}'
    unsigned = testapp.post(LE, body, headers={"Content-Type": "application/json"}, status=401).json
    assert unsigned["error"]["code"] == "AUTH_MISSING"
    assert testapp.post(LE, body, headers=_signed(settings, body), status=400).json["error"]["code"] == "invalid_json"


# -- text PostgreSQL cannot store ----------------------------------------------------------------


@pytest.mark.parametrize("text", UNSTORABLE)
def test_nul_and_lone_surrogates_are_refused_field_by_field(testapp, db, text):
    driver = factories.driver(db)
    auth = _auth(db, driver.user)
    refused = testapp.patch_json("/api/me", {"display_name": text}, headers=auth, status=400).json
    assert refused == {"error": {"code": "invalid", "message": "提交的内容含有无效的字符", "fields": {"display_name": "含有无效的字符"}}}
    escort = {"name": text, "id_card_no": factories.ID_CARD, "qualification_no": "Q1", "qualification_expires_on": factories.in_days(365)}
    body = testapp.put_json("/api/logistics/driver", factories.driver_payload(escort=escort), headers=auth, status=400).json
    assert body["error"]["fields"] == {"escort.name": "含有无效的字符"}
    vehicle = factories.vehicle_payload(approved_products=["NAOH32", text], **{f"x{text}": 1})
    body = testapp.post_json("/api/logistics/vehicles", vehicle, headers=auth, status=400).json
    assert body["error"]["fields"] == {"approved_products.1": "含有无效的字符", "body": "含有无效的字段名"}
    assert driver.escort_name is None and driver.user.display_name != text


@pytest.mark.parametrize("text", UNSTORABLE)
def test_le_refuses_unstorable_text_as_an_invalid_event(testapp, settings, text):
    event = _event("lane.changed", code="L1", name=text)
    event["event_id"] = "evt-" + text
    refused = _post_event(testapp, settings, event, 422)
    assert refused["error"]["code"] == "invalid_event"
    assert refused["error"]["fields"] == {"event_id": "含有无效的字符", "data.name": "含有无效的字符"}


# -- LE's event data: typed by the document, within the columns it lands in ----------------------


@pytest.mark.parametrize(("data", "field"), [
    ({"code": "L1", "loading_count": 2**31}, "data.loading_count"),
    ({"code": "L" * 17}, "data.code"),
    ({"code": "L1", "status": "s" * 17}, "data.status"),
    ({"code": "L1", "queue": [{"booking_id": 1, "position": "first"}]}, "data.queue.0.position"),
    ({"booking_id": 2**63}, "data.booking_id"),
    ({"booking_id": 1, "actual_quantity_kg": "19950"}, "data.actual_quantity_kg"),
])
def test_le_data_out_of_type_or_range_is_a_422_not_a_500(testapp, settings, data, field):
    refused = _post_event(testapp, settings, _event("lane.changed" if "code" in data else "truck.loaded", **data), 422)
    assert refused["error"]["code"] == "invalid_event" and field in refused["error"]["fields"]


@pytest.mark.parametrize("occurred_at", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00", "0999-12-31T23:59:59Z"])
def test_le_times_outside_years_1000_to_2999_are_refused_by_the_contract(testapp, settings, occurred_at):
    # Near years 1 and 9999 a time may not exist once moved to UTC, where it is stored.
    refused = _post_event(testapp, settings, _event("lane.changed", occurred_at, code="L1"), 422)
    assert refused["error"]["fields"] == {"occurred_at": "格式不正确"}


def test_an_le_time_the_contract_allows_but_python_cannot_read_is_a_422(testapp, settings):
    # RFC 3339 allows a lowercase "t" and "z"; datetime.fromisoformat does not.
    refused = _post_event(testapp, settings, _event("lane.changed", "2026-11-26t09:00:00z", code="L1"), 422)
    assert refused["error"]["fields"] == {"occurred_at": "须为带时区的 ISO 8601 时间"}


def test_an_order_event_without_driver_or_product_is_ignored(testapp, settings, db):
    driver = factories.driver(db)
    for data in ({"order_no": "SO9"}, {"order_no": "SO9", "driver_id": driver.id}):
        assert _post_event(testapp, settings, _event("outbound_order.created", **data), 200) == {"status": "ignored"}
    assert db.scalars(select(OutboundOrder)).all() == []
    assert db.scalars(select(Lane)).all() == []
