"""portal.contract: the API contract compiled once, checking requests as openapi-core did.

Each case goes through the compiled validator and the error mapping of portal.views.errors, and
asserts what the caller would read: the code, the message (the first problem, the field named by
its title in the document) and the fields."""

import copy
import json
import types

import pytest
import yaml
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request

from portal import OPENAPI_SPEC
from portal.contract import Contract, NoCredentials, NotInDocument
from portal.views.errors import _contract_refusal

from ..support.factories import in_days

BEARER = {"Authorization": "Bearer t0ken"}
PICKUP = {"kind": "pickup", "product_code": "NAOH32", "quantity_kg": 20000, "vehicle_id": 7, "planned_arrival_at": "2026-11-26T09:00:00+08:00"}


@pytest.fixture(scope="module")
def document():
    with open(OPENAPI_SPEC, encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def contract(document):
    return Contract(document)


def _request(pattern, method="GET", url=None, matchdict=None, json_body=None, body=None, content_type="application/json", headers=BEARER):
    """A Pyramid request as routing leaves it for the view: matched route and matchdict."""
    if json_body is not None:
        body = json.dumps(json_body).encode()
    request = Request.blank(url or pattern, method=method, headers=headers, body=body or b"")
    if content_type is not None and body:
        request.content_type = content_type
    request.matched_route = types.SimpleNamespace(pattern=pattern, name="api.test")
    request.matchdict = matchdict or {}
    return request


def _refusal(contract, request):
    """(code, message, fields) as the caller reads them, or None when the request is accepted."""
    problems = contract.problems(request)
    return _contract_refusal(problems) if problems else None


def _invalid(message, fields):
    return "invalid", message, fields


def _booking(contract, **changes):
    body = {**PICKUP, **changes}
    return _refusal(contract, _request("/api/logistics/bookings", "POST", json_body={k: v for k, v in body.items() if v is not ...}))


# -- bodies ---------------------------------------------------------------------------------------


def test_a_valid_body_passes(contract):
    assert _booking(contract) is None


def test_a_missing_required_field_is_named(contract):
    assert _booking(contract, product_code=...) == _invalid("请填写品名", {"product_code": "必填"})


def test_wrong_types_are_named_field_by_field(contract):
    refused = _booking(contract, quantity_kg="20000", vehicle_id=1.5)
    assert refused == _invalid("数量须为整数，另有 1 项需修改", {"quantity_kg": "须为整数", "vehicle_id": "须为整数"})
    vehicle = {"plate_no": "闽A12345", "trailer_no": "闽A1234挂", "tank_capacity_kg": 30000, "approved_products": [1],
               "transport_permit_no": "P1", "tank_inspection_expires_on": in_days(365)}
    refused = _refusal(contract, _request("/api/logistics/vehicles", "POST", json_body=vehicle))
    assert refused == _invalid("罐体适装介质须为字符串", {"approved_products.0": "须为字符串"})


def test_a_value_outside_the_enum_lists_the_allowed_ones(contract):
    assert _booking(contract, kind="fly") == _invalid("登记类型的可选值：pickup、delivery", {"kind": "可选值：pickup、delivery"})


@pytest.mark.parametrize("when", ["2026-11-26 09:00", "2026-11-26T09:00:00", "2026-11-26", "tomorrow"])
def test_a_time_must_be_rfc3339_with_an_offset(contract, when):
    problem = "格式应为带时区的 ISO 8601 时间，如 2026-11-26T09:00:00+08:00"
    assert _booking(contract, planned_arrival_at=when) == _invalid("计划到厂时间" + problem, {"planned_arrival_at": problem})


def test_a_date_must_be_a_real_date(contract):
    report = {"vehicle_id": 1, "expected_on": "2026-02-30", "purpose": "提货"}
    refused = _refusal(contract, _request("/api/logistics/entry-reports", "POST", json_body=report))
    assert refused == _invalid("预计入场日期格式应为 YYYY-MM-DD", {"expected_on": "格式应为 YYYY-MM-DD"})


def test_a_date_or_time_not_picked_yet_is_left_to_the_service(contract):
    """Pages send "" for a date not picked: the service says 请选择… with every other problem."""
    report = {"vehicle_id": 1, "expected_on": "", "purpose": "提货"}
    assert _refusal(contract, _request("/api/logistics/entry-reports", "POST", json_body=report)) is None
    assert _booking(contract, planned_arrival_at="") is None
    assert _booking(contract, planned_arrival_at=" ")[2] == {"planned_arrival_at": "格式应为带时区的 ISO 8601 时间，如 2026-11-26T09:00:00+08:00"}


def test_null_only_where_the_document_says_nullable(contract):
    assert _refusal(contract, _request("/api/logistics/orders/{order_no}/sign", "POST", matchdict={"order_no": "SO1"},
                                       json_body={"signed_quantity_kg": 1, "note": None})) is None
    refused = _refusal(contract, _request("/api/me", "PATCH", json_body={"display_name": None}))
    assert refused == _invalid("称呼须为字符串", {"display_name": "须为字符串"})


def test_nested_objects_name_the_nested_field(contract):
    driver = {"name": "张三", "id_card_no": "11010519491231002X", "mobile": 13800000000, "licence_no": "L1", "qualification_no": "Q1",
              "qualification_expires_on": in_days(365), "escort": {"name": "李四", "id_card_no": "11010519491231002X"}}
    refused = _refusal(contract, _request("/api/logistics/driver", "PUT", json_body=driver))
    fields = {"mobile": "须为字符串", "escort.qualification_no": "必填", "escort.qualification_expires_on": "必填"}
    assert refused == _invalid("手机号须为字符串，另有 2 项需修改", fields)
    alone = _refusal(contract, _request("/api/logistics/driver", "PUT", json_body={**driver, "mobile": "13800000000"}))
    assert alone[1] == "请填写押运员从业资格证号，另有 1 项需修改"
    assert _refusal(contract, _request("/api/logistics/driver", "PUT", json_body={**driver, "mobile": "13800000000", "escort": None})) is None


def test_extra_properties_are_allowed_where_the_document_does_not_close_the_object(contract):
    # No input schema says additionalProperties: false; the services ignore what they do not know.
    assert _booking(contract, note="请走东门") is None


def test_event_data_out_of_range_is_named_with_its_path(contract):
    event = {"event_id": "e1", "type": "lane.changed", "occurred_at": "2026-11-26T09:00:00+08:00",
             "data": {"code": "L1", "loading_count": 2**31, "queue": [{"booking_id": 1, "position": "first"}]}}
    headers = {"X-Portal-Key": "k", "X-Portal-Timestamp": "1764118800", "X-Portal-Nonce": "n", "X-Portal-Signature": "s"}
    refused = _refusal(contract, _request("/api/le/events", "POST", json_body=event, headers=headers))
    # Callers of LE's callback are programs: a field without a title is named by its path.
    fields = {"data.loading_count": "超出整数范围", "data.queue.0.position": "须为整数"}
    assert refused == _invalid("data.loading_count：超出整数范围，另有 1 项需修改", fields)


def test_a_missing_required_body_is_not_a_json_object(contract):
    refused = _refusal(contract, _request("/api/logistics/entry-reports", "POST"))
    assert refused == ("invalid_json", "请求内容须为 JSON 对象", {})


def test_an_optional_body_may_be_left_out_but_must_be_an_object_when_sent(contract):
    cancel = "/api/logistics/bookings/{id}/cancel"
    assert _refusal(contract, _request(cancel, "POST", matchdict={"id": "1"})) is None
    assert _refusal(contract, _request(cancel, "POST", matchdict={"id": "1"}, body=b"[]")) == ("invalid_json", "请求内容须为 JSON 对象", {})


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_declared_json_is_refused(contract, content_type):
    request = _request("/api/logistics/bookings", "POST", json_body=PICKUP, content_type=content_type)
    assert _refusal(contract, request) == ("invalid_json", "请求内容须为 JSON（Content-Type: application/json）", {})


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
def test_json_is_recognised_with_parameters_or_in_capitals(contract, content_type):
    assert _refusal(contract, _request("/api/logistics/bookings", "POST", json_body=PICKUP, content_type=content_type)) is None


def test_a_body_that_is_not_json_is_refused(contract):
    refused = _refusal(contract, _request("/api/logistics/bookings", "POST", body=b"{not json"))
    assert refused == ("invalid_json", "请求内容不是有效的 JSON", {})


def test_a_body_that_is_not_utf8_says_so_and_nothing_else(contract):
    request = _request("/api/logistics/bookings/{id}/cancel", "POST", matchdict={"id": "x"}, body=b'{"note": "\xff"}')
    assert _refusal(contract, request) == ("invalid_json", "请求内容不是有效的 JSON（须为 UTF-8 编码）", {})


@pytest.mark.parametrize("body", [b"[1, 2]", b"null", b'"pickup"', b"20000"])
def test_a_body_that_is_not_an_object_is_refused(contract, body):
    assert _refusal(contract, _request("/api/logistics/bookings", "POST", body=body)) == ("invalid_json", "请求内容须为 JSON 对象", {})


# -- parameters -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "message", "fields"), [
    ("limit=abc", "每页条数须为整数", {"limit": "须为整数"}),
    ("limit=", "每页条数须为整数", {"limit": "须为整数"}),
    ("limit=0", "每页条数不能小于 1", {"limit": "不能小于 1"}),
    ("limit=51", "每页条数不能大于 50", {"limit": "不能大于 50"}),
    ("limit=1&limit=abc", "每页条数须为整数", {"limit": "须为整数"}),  # the last value counts
    ("status=", "状态格式不正确", {"status": "格式不正确"}),
    (
        "status=lost&before=x", "分页位置须为整数，另有 1 项需修改",
        {"before": "须为整数", "status": "可选值：checking、registered、rejected、entered、loading、loaded、completed、cancelled、expired"},
    ),
])
def test_query_parameters_are_cast_then_checked(contract, query, message, fields):
    assert _refusal(contract, _request("/api/logistics/bookings", url=f"/api/logistics/bookings?{query}")) == _invalid(message, fields)


@pytest.mark.parametrize("query", ["", "limit=20", "limit=007&before=12&status=registered", "unknown=1"])
def test_good_or_absent_query_parameters_pass(contract, query):
    assert _refusal(contract, _request("/api/logistics/bookings", url=f"/api/logistics/bookings?{query}")) is None


def test_dates_in_the_query(contract):
    url = "/api/logistics/orders?from=2026-13-01&to=2026-01-31"
    assert _refusal(contract, _request("/api/logistics/orders", url=url)) == _invalid("开始日期格式应为 YYYY-MM-DD", {"from": "格式应为 YYYY-MM-DD"})


@pytest.mark.parametrize(("pattern", "matchdict", "message", "fields"), [
    ("/api/logistics/bookings/{id}", {"id": "abc"}, "登记编号须为整数", {"id": "须为整数"}),
    ("/api/logistics/bookings/{id}", {"id": "0"}, "登记编号不能小于 1", {"id": "不能小于 1"}),
    ("/api/logistics/bookings/{id}", {"id": str(2**63)}, "登记编号超出整数范围", {"id": "超出整数范围"}),
    ("/api/logistics/orders/{order_no}/sign", {"order_no": "SO.1"}, "单据号格式不正确", {"order_no": "格式不正确"}),
])
def test_path_parameters(contract, pattern, matchdict, message, fields):
    method = "POST" if pattern.endswith("sign") else "GET"
    request = _request(pattern, method, matchdict=matchdict, json_body={"signed_quantity_kg": 1} if method == "POST" else None)
    assert _refusal(contract, request) == _invalid(message, fields)


def test_parameter_and_body_problems_are_reported_together(contract):
    request = _request("/api/logistics/vehicles/{id}", "PUT", matchdict={"id": "x"}, json_body={"plate_no": 1})
    code, message, fields = _refusal(contract, request)
    assert (code, message) == ("invalid", f"车辆编号须为整数，另有 {len(fields) - 1} 项需修改")
    assert fields["id"] == "须为整数" and fields["plate_no"] == "须为字符串" and fields["trailer_no"] == "必填"


def test_required_headers(contract):
    headers = {"X-Portal-Key": "k", "X-Portal-Timestamp": "soon", "X-Portal-Nonce": "n"}
    event = {"event_id": "e1", "type": "truck.entered", "occurred_at": "2026-11-26T09:00:00+08:00", "data": {"booking_id": 1}}
    refused = _refusal(contract, _request("/api/le/events", "POST", json_body=event, headers=headers))
    fields = {"X-Portal-Timestamp": "须为整数", "X-Portal-Signature": "必填"}
    assert refused == _invalid("X-Portal-Timestamp：须为整数，另有 1 项需修改", fields)


# -- credentials and operations -----------------------------------------------------------------


@pytest.mark.parametrize(("method", "headers", "accepted"), [
    ("GET", BEARER, True),
    ("GET", {"Authorization": "bearer t"}, True),
    ("GET", {"Cookie": "portal_session=s"}, True),
    ("GET", {}, False),
    ("GET", {"Authorization": "Basic dTpw"}, False),
    ("GET", {"Authorization": "Bearer"}, False),
    ("PATCH", {"Cookie": "portal_session=s"}, False),  # an H5 session writes with its CSRF token only
    ("PATCH", {"Cookie": "portal_session=s", "X-CSRF-Token": "c"}, True),
])
def test_credentials_as_the_security_requirements_say(contract, method, headers, accepted):
    request = _request("/api/me", method, json_body={} if method == "PATCH" else None, headers=headers)
    problems = contract.problems(request)
    assert (problems == []) is accepted
    if not accepted:
        assert problems == [NoCredentials((("bearer",), ("h5Session",) if method == "GET" else ("h5Session", "csrfToken")))]


def test_without_credentials_nothing_else_is_checked(contract):
    problems = contract.problems(_request("/api/logistics/bookings/{id}", matchdict={"id": "abc"}, headers={}))
    assert len(problems) == 1 and isinstance(problems[0], NoCredentials)


def test_operations_the_document_lacks(contract):
    assert contract.problems(_request("/api/me", "HEAD")) == [NotInDocument("/api/me", "head", path_documented=True)]
    assert contract.problems(_request("/api/nothing", "GET")) == [NotInDocument("/api/nothing", "get", path_documented=False)]


def test_every_documented_operation_is_compiled(contract, document):
    documented = {(path, method) for path, item in document["paths"].items() for method in item if method != "parameters"}
    assert set(contract.operations) == documented


@pytest.mark.parametrize("change", [
    lambda doc: doc["components"]["parameters"]["Limit"].update(style="deepObject"),
    lambda doc: doc["components"]["parameters"]["Limit"].update(schema={"type": "object"}),
    lambda doc: doc["components"]["securitySchemes"].update(bearer={"type": "oauth2", "flows": {}}),
    lambda doc: doc["paths"]["/api/me"]["patch"]["requestBody"]["content"].update({"text/plain": {}}),
    lambda doc: doc["paths"]["/api/me"]["patch"]["requestBody"]["content"]["application/json"]["schema"].update(description="x"),
])
def test_what_the_compiler_does_not_implement_stops_the_start(document, change):
    changed = copy.deepcopy(document)
    change(changed)
    with pytest.raises(ConfigurationError, match="not supported by portal.contract"):
        Contract(changed)
