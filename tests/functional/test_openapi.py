"""The API contract: portal/openapi.yaml is served, complete, and enforced on every /api request."""

import configparser
import json
import re
import secrets
import time
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate
from pyramid.interfaces import IRoutesMapper

from portal import OPENAPI_SPEC
from portal.integrations.contract import signature
from portal.views.api import me as me_views

from ..support import factories
from ..support.testapp import build_app

ROOT = Path(__file__).resolve().parents[2]

METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
def spec():
    with open(OPENAPI_SPEC, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _auth(db, user):
    return {"Authorization": f"Bearer {factories.token_for(db, user)}"}


def _refused(response, fields, message):
    """A refusal by the contract: every field's problem, and the first said of the field by its title."""
    assert response.json == {"error": {"code": "invalid", "message": message, "fields": fields}}


def test_the_document_is_served_and_valid(testapp, spec):
    response = testapp.get("/api/openapi.yaml")
    assert response.content_type == "text/yaml"
    served = yaml.safe_load(response.body)
    validate(served)
    assert served == spec
    assert served["info"]["title"] == "东南电化统一服务平台 API"
    assert set(served["components"]["securitySchemes"]) >= {"bearer", "h5Session"}


def test_the_explorer_is_served(testapp):
    page = testapp.get("/api/docs")
    assert "swagger-ui" in page.text and "/api/openapi.yaml" in page.text


def test_every_api_route_and_view_is_in_the_document_and_every_operation_is_served(testapp, spec):
    registry = testapp.app.registry
    routes = {route.name: route.pattern for route in registry.getUtility(IRoutesMapper).get_routes()}
    api_routes = {name: pattern for name, pattern in routes.items() if name.startswith("api.")}
    assert set(api_routes.values()) == set(spec["paths"])

    served = set()
    for intr in registry.introspector.get_category("views"):
        view = intr["introspectable"]
        if not (view["route_name"] or "").startswith("api."):
            continue
        assert view["openapi"] is True, f"{view['route_name']} is not validated against the document"
        methods = view["request_methods"]
        for method in (methods,) if isinstance(methods, str) else methods or ():
            served.add((api_routes[view["route_name"]], method.lower()))
    documented = {(path, method) for path, item in spec["paths"].items() for method in item if method in METHODS}
    assert served == documented


def test_every_operation_documents_its_errors_in_the_common_shape(spec):
    error = "#/components/schemas/Error"
    for path, item in spec["paths"].items():
        for method, operation in ((m, o) for m, o in item.items() if m in METHODS):
            responses = operation["responses"]
            assert "500" in responses, (method, path)
            if operation.get("security") != []:
                assert {"401", "403"} <= set(responses), (method, path)
            if operation.get("parameters") or item.get("parameters") or operation.get("requestBody"):
                assert "400" in responses, (method, path)
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    if "$ref" in response:
                        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                    assert response["content"]["application/json"]["schema"] == {"$ref": error}, (method, path, status)


def test_bad_path_and_query_parameters_are_refused_in_chinese(testapp, db):
    auth = _auth(db, factories.driver(db).user)
    _refused(testapp.get("/api/logistics/bookings/abc", headers=auth, status=400), {"id": "须为整数"}, "登记编号须为整数")
    _refused(testapp.get("/api/logistics/bookings/0", headers=auth, status=400), {"id": "不能小于 1"}, "登记编号不能小于 1")
    _refused(testapp.post_json("/api/logistics/bookings/x/cancel", {}, headers=auth, status=400), {"id": "须为整数"}, "登记编号须为整数")
    _refused(testapp.delete("/api/logistics/vehicles/-1", headers=auth, status=400), {"id": "不能小于 1"}, "车辆编号不能小于 1")
    _refused(testapp.get("/api/logistics/bookings", {"limit": 0}, headers=auth, status=400), {"limit": "不能小于 1"}, "每页条数不能小于 1")
    _refused(testapp.get("/api/logistics/bookings", {"limit": 51}, headers=auth, status=400), {"limit": "不能大于 50"}, "每页条数不能大于 50")
    body = testapp.get("/api/logistics/orders", {"status": "lost", "from": "2026-13-01", "before": "x"}, headers=auth, status=400).json
    assert body["error"]["fields"] == {"status": "可选值：created、shipped、signed", "from": "格式应为 YYYY-MM-DD", "before": "须为整数"}
    for order_no in ("SO.1", "S" * 33, "%E5%8D%95%E6%8D%AE"):
        refused = testapp.post_json(f"/api/logistics/orders/{order_no}/sign", {"signed_quantity_kg": 1}, headers=auth, status=400)
        _refused(refused, {"order_no": "格式不正确"}, "单据号格式不正确")
        assert testapp.get(f"/api/logistics/orders/{order_no}", headers=auth, status=400).json["error"]["message"] == "单据号格式不正确"
    # Within the contract, the views answer as before, with the service's own message.
    assert testapp.get("/api/logistics/bookings/999999", headers=auth, status=404).json["error"]["message"] == "登记记录不存在"
    assert testapp.get("/api/logistics/orders/SO404", headers=auth, status=404).json["error"]["message"] == "单据不存在"
    assert testapp.get("/api/logistics/bookings", {"limit": 50}, headers=auth).json["bookings"] == []


def test_bodies_with_wrong_types_or_missing_fields_are_refused_field_by_field(testapp, db):
    driver = factories.driver(db)
    auth = _auth(db, driver.user)
    booking = {"kind": "pickup", "quantity_kg": "20000", "vehicle_id": driver.vehicles[0].id, "planned_arrival_at": "2026-11-26 09:00"}
    _refused(
        testapp.post_json("/api/logistics/bookings", booking, headers=auth, status=400),
        {"product_code": "必填", "quantity_kg": "须为整数", "planned_arrival_at": "格式应为带时区的 ISO 8601 时间，如 2026-11-26T09:00:00+08:00"},
        "请填写品名，另有 2 项需修改",
    )
    _refused(
        testapp.post_json("/api/logistics/bookings", {**booking, "product_code": "NAOH32", "planned_arrival_at": "2026-11-26T09:00:00+08:00"},
                          headers=auth, status=400),
        {"quantity_kg": "须为整数"}, "数量须为整数",
    )
    vehicle = factories.vehicle_payload(approved_products=[], tank_capacity_kg=3.5)
    _refused(
        testapp.post_json("/api/logistics/vehicles", vehicle, headers=auth, status=400),
        {"tank_capacity_kg": "须为整数", "approved_products": "至少选择一项"}, "罐体容量须为整数，另有 1 项需修改",
    )
    escort = {"name": "李四", "id_card_no": factories.ID_CARD}
    _refused(
        testapp.put_json("/api/logistics/driver", factories.driver_payload(escort=escort, mobile=13800000000), headers=auth, status=400),
        {"mobile": "须为字符串", "escort.qualification_no": "必填", "escort.qualification_expires_on": "必填"},
        "手机号须为字符串，另有 2 项需修改",
    )
    _refused(testapp.patch_json("/api/me", {"display_name": None}, headers=auth, status=400), {"display_name": "须为字符串"}, "称呼须为字符串")
    _refused(testapp.post_json("/api/auth/miniprogram", {}, status=400), {"code": "必填"}, "请填写登录凭证")


def test_what_is_not_a_json_object_is_refused(testapp, db):
    auth = _auth(db, factories.driver(db).user)
    json_headers = {**auth, "Content-Type": "application/json"}
    for body, message in [
        (b"not json", "请求内容不是有效的 JSON"), (b"[1, 2]", "请求内容须为 JSON 对象"), (b"", "请求内容须为 JSON 对象"),
    ]:
        refused = testapp.post("/api/logistics/entry-reports", body, headers=json_headers, status=400).json
        assert refused == {"error": {"code": "invalid_json", "message": message, "fields": {}}}
    form = testapp.post("/api/logistics/entry-reports", {"vehicle_id": "1"}, headers=auth, status=400).json
    assert form["error"]["code"] == "invalid_json" and "application/json" in form["error"]["message"]


def test_values_the_service_checks_still_get_its_own_messages(testapp, db):
    driver = factories.driver(db)
    auth = _auth(db, driver.user)
    body = testapp.post_json(
        "/api/logistics/entry-reports", {"vehicle_id": driver.vehicles[0].id, "expected_on": "2020-01-01", "purpose": " "}, headers=auth,
        status=400,
    ).json
    assert body["error"]["message"] == "提交的信息有误，请检查后重试"
    assert body["error"]["fields"] == {"expected_on": "预计入场日期不能早于今天", "purpose": "请填写入场事由"}


def test_missing_credentials_are_still_a_401_not_a_contract_error(testapp):
    for response in (
        testapp.get("/api/logistics/bookings/abc", status=401),
        testapp.post_json("/api/logistics/bookings", {"kind": 1}, status=401),
        testapp.get("/api/me", headers={"Cookie": "portal_session=forged"}, status=401),
    ):
        assert response.json == {"error": {"code": "unauthenticated", "message": "请先登录", "fields": {}}}


def _le_headers(settings, body, secret=None):
    ts, nonce = str(int(time.time())), secrets.token_hex(16)
    return {
        "Content-Type": "application/json", "X-Portal-Key": settings["portal.le_app_key"], "X-Portal-Timestamp": ts, "X-Portal-Nonce": nonce,
        "X-Portal-Signature": signature(secret or settings["portal.le_app_secret"], "POST", "/api/le/events", ts, nonce, body),
    }


def test_le_events_check_the_signature_before_the_body(testapp, settings):
    malformed = json.dumps({"event_id": "e1", "type": "truck.flew", "occurred_at": "2026-11-26T09:00:00+08:00", "data": {}}).encode()
    unsigned = testapp.post("/api/le/events", malformed, headers={"Content-Type": "application/json"}, status=401).json
    assert unsigned["error"]["code"] == "AUTH_MISSING"
    forged = testapp.post("/api/le/events", malformed, headers=_le_headers(settings, malformed, secret="forged"), status=401).json
    assert forged["error"]["code"] == "AUTH_BAD_SIGNATURE"
    signed = testapp.post("/api/le/events", malformed, headers=_le_headers(settings, malformed), status=422).json
    assert signed["error"] == {"code": "invalid_event", "message": "事件格式不正确", "fields": {"type": signed["error"]["fields"]["type"]}}
    assert signed["error"]["fields"]["type"].startswith("可选值：")
    garbage = b"{not json"
    assert testapp.post("/api/le/events", garbage, headers=_le_headers(settings, garbage), status=400).json["error"]["code"] == "invalid_json"


def test_responses_that_break_the_contract_are_a_logged_500(testapp, db, monkeypatch, caplog):
    auth = _auth(db, factories.wechat_user(db))
    monkeypatch.setattr(me_views, "present_me", lambda request, user: {"id": str(user.id)})
    body = testapp.get("/api/me", headers=auth, status=500).json
    assert body == {"error": {"code": "internal_error", "message": "服务器内部错误，请稍后再试", "fields": {}}}
    assert "does not follow the API contract" in caplog.text


def test_response_validation_can_be_switched_off_for_production(settings, testapp_for, db, monkeypatch):
    app = build_app({**settings, "pyramid_openapi3.enable_response_validation": "false"})
    testapp = testapp_for(app)
    user = factories.wechat_user(db)
    monkeypatch.setattr(me_views, "present_me", lambda request, user: {"id": str(user.id)})
    assert testapp.get("/api/me", headers=_auth(db, user)).json == {"id": str(user.id)}
    # Requests are validated whatever the settings say.
    app = build_app({**settings, "pyramid_openapi3.enable_request_validation": "false"})
    testapp = testapp_for(app)
    _refused(testapp.get("/api/logistics/bookings/abc", headers=_auth(db, factories.driver(db).user), status=400), {"id": "须为整数"}, "登记编号须为整数")


def test_production_ini_turns_response_validation_off():
    parser = configparser.ConfigParser()
    parser.read(ROOT / "production.ini", encoding="utf-8")
    assert parser["app:main"]["pyramid_openapi3.enable_response_validation"] == "false"


def test_our_error_views_replace_the_packages_defaults(testapp):
    from pyramid_openapi3.exceptions import RequestValidationError, ResponseValidationError

    from portal.views import errors

    views = {
        intr["introspectable"]["context"]: intr["introspectable"]["callable"]
        for intr in testapp.app.registry.introspector.get_category("views")
        if intr["introspectable"]["context"] in (RequestValidationError, ResponseValidationError)
    }
    assert views == {RequestValidationError: errors.contract_request_refused, ResponseValidationError: errors.contract_response_broken}


def test_a_method_the_document_lacks_is_a_405_not_a_broken_response(testapp, db):
    auth = _auth(db, factories.wechat_user(db))
    # HEAD reaches the GET view in Pyramid, but the document has no HEAD operation to check it against.
    assert testapp.head("/api/me", headers=auth, status=405).headers["Content-Type"].startswith("application/json")


def _resolved(spec, schema):
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _undocumented(spec, value, schema, where):
    """Keys of ``value`` that ``schema`` does not describe (response validation lets them through)."""
    parts = [_resolved(spec, schema)]
    parts += [_resolved(spec, part) for part in parts[0].get("allOf", [])]
    if isinstance(value, dict):
        properties = {name: sub for part in parts for name, sub in part.get("properties", {}).items()}
        open_ended = any(part.get("additionalProperties") for part in parts)
        for key, item in value.items():
            if key in properties:
                yield from _undocumented(spec, item, properties[key], f"{where}.{key}")
            elif not open_ended:
                yield f"{where}.{key}"
    elif isinstance(value, list):
        items = next((part["items"] for part in parts if "items" in part), None)
        for i, item in enumerate(value if items else ()):
            yield from _undocumented(spec, item, items, f"{where}[{i}]")


#: The one form of every time in an answer: Beijing time, to the second, with its offset.
ANSWER_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00")


def _times(spec, value, schema, where):
    """(where, value) of every ``date-time`` the document describes in an answer."""
    parts = [_resolved(spec, schema)]
    parts += [_resolved(spec, part) for part in parts[0].get("allOf", [])]
    if any(part.get("format") == "date-time" for part in parts) and value is not None:
        yield where, value
    if isinstance(value, dict):
        properties = {name: sub for part in parts for name, sub in part.get("properties", {}).items()}
        for key, item in value.items():
            if key in properties:
                yield from _times(spec, item, properties[key], f"{where}.{key}")
    elif isinstance(value, list):
        items = next((part["items"] for part in parts if "items" in part), None)
        for i, item in enumerate(value if items else ()):
            yield from _times(spec, item, items, f"{where}[{i}]")


def _operation(spec, method, path):
    for template, item in spec["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
            return item[method.lower()]
    raise AssertionError(f"{method} {path} is not in the document")


def test_a_tour_of_every_operation_answers_within_the_document(testapp, db, spec, monkeypatch):
    """Response validation is on in tests, so each answer below is checked against the document;
    on top of that, no answer may carry a field the document does not describe."""
    from datetime import timedelta

    from portal.models.logistics import Lane, OutboundOrder
    from portal.models.meta import utcnow

    answers = []
    do_request = testapp.do_request
    monkeypatch.setattr(testapp, "do_request", lambda *args, **kw: answers.append(do_request(*args, **kw)) or answers[-1])

    user = factories.wechat_user(db)
    auth = _auth(db, user)
    assert testapp.get("/api/logistics/driver", headers=auth).json == {"driver": None, "expiry_warning_days": 30}
    assert testapp.get("/api/logistics/vehicles", headers=auth, status=409).json["error"]["code"] == "driver_required"
    factories.product(db)
    escort = {"name": "李四", "id_card_no": factories.ID_CARD, "qualification_no": "Q1", "qualification_expires_on": factories.in_days(365)}
    driver = testapp.put_json("/api/logistics/driver", factories.driver_payload(escort=escort), headers=auth).json["driver"]
    assert testapp.get("/api/logistics/driver", headers=auth).json["driver"] == driver
    assert testapp.get("/api/me", headers=auth).json["bindings"]["driver"]["id"] == driver["id"]
    assert testapp.patch_json("/api/me", {"display_name": "张师傅"}, headers=auth).json["display_name"] == "张师傅"
    assert testapp.get("/api/logistics/products", headers=auth).json["products"] == [{"code": "NAOH32", "name": "32%液碱"}]

    vehicle = testapp.post_json("/api/logistics/vehicles", factories.vehicle_payload(), headers=auth, status=201).json["vehicle"]
    spare = testapp.post_json("/api/logistics/vehicles", factories.vehicle_payload(plate_no="闽B12345"), headers=auth, status=201).json
    changed = testapp.put_json(f"/api/logistics/vehicles/{vehicle['id']}", factories.vehicle_payload(tank_capacity_kg=31000), headers=auth)
    assert changed.json["vehicle"]["tank_capacity_kg"] == 31000
    assert testapp.delete(f"/api/logistics/vehicles/{spare['vehicle']['id']}", headers=auth).json == {"ok": True}
    assert [v["id"] for v in testapp.get("/api/logistics/vehicles", headers=auth).json["vehicles"]] == [vehicle["id"]]

    report = {"vehicle_id": vehicle["id"], "expected_on": (utcnow() + timedelta(days=1)).date().isoformat(), "purpose": "首次入场"}
    created = testapp.post_json("/api/logistics/entry-reports", report, headers=auth, status=201).json["entry_report"]
    assert testapp.get("/api/logistics/entry-reports", headers=auth).json["entry_reports"] == [created]

    arrival = (utcnow() + timedelta(hours=2)).isoformat()
    booking = {"kind": "delivery", "product_code": "NAOH32", "quantity_kg": 20000, "vehicle_id": vehicle["id"], "planned_arrival_at": arrival}
    booked = testapp.post_json("/api/logistics/bookings", booking, headers=auth, status=201).json["booking"]
    assert testapp.get(f"/api/logistics/bookings/{booked['id']}", headers=auth).json["booking"]["timeline"]
    assert testapp.get("/api/logistics/bookings", {"status": "registered", "limit": 1}, headers=auth).json["next_before"] == booked["id"]
    db.add(Lane(code="L1", name="1号装车道", status="loading", loading_count=1, waiting_count=0, updated_at=utcnow()))
    db.add(OutboundOrder(order_no="SO-T1", driver_id=driver["id"], booking_id=booked["id"], product_code="NAOH32",
                         planned_quantity_kg=20000, actual_quantity_kg=20000, status="shipped", shipped_at=utcnow()))
    db.flush()
    lanes = testapp.get("/api/logistics/lanes", headers=auth).json
    assert lanes["lanes"][0]["code"] == "L1" and lanes["my_queue"][0]["booking_id"] == booked["id"]
    assert testapp.get("/api/logistics/orders", {"status": "shipped", "from": "2020-01-01"}, headers=auth).json["orders"][0]["sign_sync"] is None
    order = testapp.get("/api/logistics/orders/SO-T1", headers=auth).json
    assert (order["order"]["product_name"], order["signoff_tolerance_percent"]) == ("32%液碱", 2)
    signed = testapp.post_json("/api/logistics/orders/SO-T1/sign", {"signed_quantity_kg": 20000, "note": None}, headers=auth).json
    assert signed["order"]["sign_sync"]["state"] == "pending"
    subscriptions = testapp.get("/api/me/subscriptions", headers=auth).json["subscriptions"]
    assert {s["template_id"]: s["credits"] for s in subscriptions}["SUBSCRIBE-BOOKING-RESULT"] == 0
    accepted = testapp.post_json("/api/me/subscriptions", {"results": {"SUBSCRIBE-BOOKING-RESULT": "accept"}}, headers=auth).json
    assert {s["template_id"]: s["credits"] for s in accepted["subscriptions"]}["SUBSCRIBE-BOOKING-RESULT"] == 1
    assert testapp.post("/api/logistics/orders/refresh", headers=auth, status=202).json["ok"] is True
    assert testapp.post_json(f"/api/logistics/bookings/{booked['id']}/cancel", {}, headers=auth).json["booking"]["status"] == "cancelled"
    assert testapp.post("/api/auth/logout", headers=auth).json == {"ok": True}
    testapp.get("/api/me", headers=auth, status=401)

    operations, times = set(), []
    for answer in answers:
        operation = _operation(spec, answer.request.method, answer.request.path_info)
        operations.add(operation["operationId"])
        response = operation["responses"][str(answer.status_int)]
        if "$ref" in response:
            response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        schema = response["content"]["application/json"]["schema"]
        where = f"{answer.request.method} {answer.request.path_info} → {answer.status_int}"
        assert list(_undocumented(spec, answer.json, schema, where)) == []
        times += _times(spec, answer.json, schema, where)
    # Every time of every answer in one form, whichever way the record reached the answer
    # (created in the request or read back from the database).
    assert len(times) > 20 and [(where, t) for where, t in times if not ANSWER_TIME.fullmatch(t)] == []
    assert {where.rsplit(".", 1)[-1] for where, _ in times} >= {
        "first_login_at", "planned_arrival_at", "expires_at", "created_at", "at", "shipped_at", "signed_at", "updated_at"}
    documented = {op["operationId"] for path, item in spec["paths"].items() for m, op in item.items() if m in METHODS}
    assert documented - operations == {"loginMiniprogram", "receiveLeEvent"}  # with WeChat and LE: test_wechat_login, test_le_events


def _untitled(spec, schema, where):
    """Properties (and their nested ones) of a request schema without a ``title`` to name them by."""
    schema = _resolved(spec, schema)
    for name, sub in schema.get("properties", {}).items():
        if "title" not in sub:
            yield f"{where}.{name}"
        yield from _untitled(spec, sub, f"{where}.{name}")


def test_every_field_a_person_sends_has_a_title_to_be_named_by(spec):
    """Refusals by the contract name the field by its title (「数量须为整数」): every parameter and
    body property of the operations people's pages call has one (LE's callback is a program's)."""
    missing = []
    for path, item in spec["paths"].items():
        for method, operation in ((m, o) for m, o in item.items() if m in METHODS):
            if operation.get("security") == []:
                continue
            for parameter in (*item.get("parameters", ()), *operation.get("parameters", ())):
                if "$ref" in parameter:
                    parameter = spec["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
                if "title" not in parameter["schema"]:
                    missing.append(f"{method} {path} {parameter['name']}")
            if "requestBody" in operation:
                missing += _untitled(spec, operation["requestBody"]["content"]["application/json"]["schema"], f"{method} {path}")
    assert missing == []
