"""API answers fit for a person: every problem of a form at once, tonnes in what a driver reads,
one time format, names instead of codes, and the mini-program's subscriptions."""

from datetime import UTC, timedelta

import pytest
from sqlalchemy import select

from portal.models.logistics import Booking, Lane, OutboundOrder
from portal.models.meta import utcnow
from portal.models.wechat import Subscription

from ...support import factories


def _auth(db, user):
    return {"Authorization": f"Bearer {factories.token_for(db, user)}"}


@pytest.fixture
def driver(db):
    return factories.driver(db)


@pytest.fixture
def auth(db, driver):
    return _auth(db, driver.user)


def _booking(vehicle_id, **changes):
    return {"kind": "delivery", "product_code": "NAOH32", "quantity_kg": 20000, "vehicle_id": vehicle_id,
            "planned_arrival_at": (utcnow() + timedelta(hours=2)).isoformat(), **changes}


# -- every problem of a form at once --------------------------------------------------------------


def test_a_date_not_picked_is_reported_with_every_other_problem(testapp, db):
    user = factories.wechat_user(db)
    refused = testapp.put_json("/api/logistics/driver", factories.driver_payload(mobile="1380000", qualification_expires_on=""),
                               headers=_auth(db, user), status=400).json["error"]
    assert refused["fields"] == {"mobile": "手机号格式不正确", "qualification_expires_on": "请选择从业资格证有效期"}


def test_every_field_of_a_vehicle_booking_or_entry_report_is_checked_together(testapp, db, driver, auth):
    vehicle = factories.vehicle_payload(plate_no="闽I1234", tank_inspection_expires_on="", tank_capacity_kg=100_001)
    fields = testapp.post_json("/api/logistics/vehicles", vehicle, headers=auth, status=400).json["error"]["fields"]
    assert fields == {"plate_no": "车牌号格式不正确", "tank_capacity_kg": "罐体容量须大于 0 且不超过 100 吨",
                      "tank_inspection_expires_on": "请选择罐体检验有效期"}
    booking = _booking(driver.vehicles[0].id, planned_arrival_at="", quantity_kg=0, kind="fly")
    fields = testapp.post_json("/api/logistics/bookings", booking, headers=auth, status=400).json["error"]["fields"]
    assert fields == {"kind": "可选值：pickup、delivery"}  # the contract's own problem comes first, alone
    booking["kind"] = "pickup"
    fields = testapp.post_json("/api/logistics/bookings", booking, headers=auth, status=400).json["error"]["fields"]
    assert fields == {"quantity_kg": "数量须大于 0 且不超过 100 吨", "planned_arrival_at": "请选择计划到厂时间"}
    report = {"vehicle_id": driver.vehicles[0].id, "expected_on": "", "purpose": ""}
    fields = testapp.post_json("/api/logistics/entry-reports", report, headers=auth, status=400).json["error"]["fields"]
    assert fields == {"expected_on": "请选择预计入场日期", "purpose": "请填写入场事由"}


# -- what a driver reads: tonnes, Beijing time, names ------------------------------------------------


def test_texts_a_driver_reads_say_tonnes(testapp, db, driver, auth):
    booked = testapp.post_json("/api/logistics/bookings", _booking(driver.vehicles[0].id, quantity_kg=20_500), headers=auth, status=201)
    assert booked.json["booking"]["timeline"][0]["message"] == "提交送货登记：32%液碱 20.5 吨"
    assert booked.json["booking"]["quantity_kg"] == 20_500  # the API's field stays integer kilograms
    refused = testapp.post_json("/api/logistics/bookings", _booking(driver.vehicles[0].id, quantity_kg=30_001), headers=auth, status=422)
    assert refused.json["error"]["fields"]["reasons"] == ["登记数量 30.001 吨超过罐体容量 30 吨"]

    db.add(OutboundOrder(order_no="SO-A1", driver_id=driver.id, product_code="NAOH32", planned_quantity_kg=25000,
                         actual_quantity_kg=24_960, status="shipped", shipped_at=utcnow()))
    db.flush()
    sign = testapp.post_json("/api/logistics/orders/SO-A1/sign", {"signed_quantity_kg": 20000}, headers=auth, status=400).json
    assert sign["error"]["fields"] == {"signed_quantity_kg": "签收数量与发货数量 24.96 吨相差超过 2%，请核对或联系调度"}


def test_every_time_is_beijing_time_with_its_offset_on_create_and_read(testapp, db, driver, auth):
    arrival = (utcnow() + timedelta(hours=3)).replace(microsecond=0)
    created = testapp.post_json("/api/logistics/bookings", _booking(driver.vehicles[0].id, planned_arrival_at=arrival.astimezone(UTC).isoformat()),
                                headers=auth, status=201).json["booking"]
    read = testapp.get(f"/api/logistics/bookings/{created['id']}", headers=auth).json["booking"]
    listed = testapp.get("/api/logistics/bookings", headers=auth).json["bookings"][0]
    assert created["planned_arrival_at"] == read["planned_arrival_at"] == listed["planned_arrival_at"]
    assert created["planned_arrival_at"].endswith("+08:00") and "." not in created["planned_arrival_at"]
    assert created["expires_at"] == read["expires_at"] and created["timeline"][0]["at"] == read["timeline"][0]["at"]


def test_an_order_is_read_alone_with_its_product_name(testapp, db, driver, auth):
    db.add(OutboundOrder(order_no="SO-A2", driver_id=driver.id, product_code="NAOH32", planned_quantity_kg=25000,
                         actual_quantity_kg=25000, status="shipped", shipped_at=utcnow()))
    db.add(OutboundOrder(order_no="SO-A3", driver_id=driver.id, product_code="UNKNOWN", planned_quantity_kg=1, status="created"))
    db.flush()
    answer = testapp.get("/api/logistics/orders/SO-A2", headers=auth).json
    assert (answer["order"]["product_name"], answer["signoff_tolerance_percent"]) == ("32%液碱", 2)
    assert testapp.get("/api/logistics/orders/SO-A3", headers=auth).json["order"]["product_name"] is None
    listed = testapp.get("/api/logistics/orders", headers=auth).json["orders"]
    assert {o["order_no"]: o["product_name"] for o in listed} == {"SO-A2": "32%液碱", "SO-A3": None}
    stranger = _auth(db, factories.driver(db, factories.wechat_user(db)).user)
    assert testapp.get("/api/logistics/orders/SO-A2", headers=stranger, status=404).json["error"]["message"] == "单据不存在"


def test_a_booking_names_its_lane(testapp, db, driver, auth):
    booking = testapp.post_json("/api/logistics/bookings", _booking(driver.vehicles[0].id), headers=auth, status=201).json["booking"]
    assert booking["queue"]["lane_name"] is None
    db.add(Lane(code="L2", name="2号装车道", status="idle", loading_count=0, waiting_count=1, updated_at=utcnow()))
    db.flush()
    record = db.get(Booking, booking["id"])
    record.lane_code = "L2"
    db.flush()
    db.expire(record)  # as a new request's session would read it
    assert testapp.get(f"/api/logistics/bookings/{booking['id']}", headers=auth).json["booking"]["queue"]["lane_name"] == "2号装车道"
    assert testapp.get("/api/logistics/lanes", headers=auth).json["my_queue"][0]["lane_name"] == "2号装车道"


def test_the_expiry_warning_days_come_with_the_driver_and_the_vehicles(testapp, auth):
    assert testapp.get("/api/logistics/driver", headers=auth).json["expiry_warning_days"] == 30
    assert testapp.get("/api/logistics/vehicles", headers=auth).json["expiry_warning_days"] == 30


# -- the mini-program's subscriptions -----------------------------------------------------------------


def _credits(testapp, auth):
    return {s["name"]: s["credits"] for s in testapp.get("/api/me/subscriptions", headers=auth).json["subscriptions"]}


def test_each_acceptance_the_mini_program_reports_allows_one_message(testapp, db):
    user = factories.wechat_user(db, oa_openid=None, mp_openid="o-mp-test-0001")
    auth = _auth(db, user)
    assert _credits(testapp, auth) == {
        "booking_ended": 0, "booking_result": 0, "expiry_warning": 0, "order_shipped": 0, "queue_called": 0}
    for _ in range(2):
        testapp.post_json("/api/me/subscriptions", {"results": {"SUBSCRIBE-BOOKING-RESULT": "accept", "SUBSCRIBE-QUEUE-CALLED": "reject"}},
                          headers=auth)
    testapp.post_json("/api/me/subscriptions", {"results": {"SUBSCRIBE-QUEUE-CALLED": "acceptWithAudio"}}, headers=auth)
    assert _credits(testapp, auth) == {
        "booking_ended": 0, "booking_result": 2, "expiry_warning": 0, "order_shipped": 0, "queue_called": 1}


def test_an_unknown_template_records_nothing(testapp, db):
    user = factories.wechat_user(db, oa_openid=None, mp_openid="o-mp-test-0002")
    auth = _auth(db, user)
    body = {"results": {"SUBSCRIBE-BOOKING-RESULT": "accept", "TPL-ELSEWHERE": "accept"}}
    refused = testapp.post_json("/api/me/subscriptions", body, headers=auth, status=400).json["error"]
    assert refused == {"code": "invalid", "message": "未知的订阅消息模板：TPL-ELSEWHERE", "fields": {"results": "未知的订阅消息模板：TPL-ELSEWHERE"}}
    assert db.scalars(select(Subscription).where(Subscription.user_id == user.id)).all() == []
    refused = testapp.post_json("/api/me/subscriptions", {"results": []}, headers=auth, status=400).json["error"]
    assert refused["message"] == "订阅结果须为对象"
    assert testapp.post_json("/api/me/subscriptions", {"results": {}}, headers=auth, status=400).json["error"]["message"] == "订阅结果不能为空"
