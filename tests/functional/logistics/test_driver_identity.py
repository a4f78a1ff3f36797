"""人员信息: identifiers in one normal form, plausible names, one driver per ID number, profile
changes without retyping masked numbers, and an admin moving a profile to another WeChat account."""

import pytest
from sqlalchemy import select, text

from portal.models.admin import AuditEntry
from portal.models.logistics import Driver
from portal.models.outbox import OutboxMessage

from ...support import factories
from ...support.factories import csrf_from, login_admin

ENDS_IN_X, ENDS_IN_DIGIT = "11010519491231002X", "350102197001020012"
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９ｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _auth(db, user):
    return {"Authorization": f"Bearer {factories.token_for(db, user)}"}


def _put(testapp, db, user, status=200, **fields):
    return testapp.put_json("/api/logistics/driver", factories.driver_payload(**fields), headers=_auth(db, user), status=status).json


# -- issue 9, item 8: one normal form --------------------------------------------------------


@pytest.mark.parametrize("script", [FULL_WIDTH, ARABIC_INDIC], ids=["full-width", "arabic-indic"])
@pytest.mark.parametrize("number", [ENDS_IN_X, ENDS_IN_DIGIT])
def test_an_id_number_in_other_digits_is_stored_as_ascii_whatever_its_check_character(testapp, db, script, number):
    user = factories.wechat_user(db)
    escort = {"name": "李四", "id_card_no": ENDS_IN_DIGIT.translate(script), "qualification_no": "Q1", "qualification_expires_on": "2030-01-01"}
    _put(testapp, db, user, id_card_no=number.translate(script), mobile="１３８００００００００".translate(ARABIC_INDIC), escort=escort)
    driver = db.scalars(select(Driver)).one()
    assert (driver.id_card_no, driver.escort_id_card_no, driver.mobile) == (number, ENDS_IN_DIGIT, "13800000000")


@pytest.mark.parametrize("script", [FULL_WIDTH, ARABIC_INDIC], ids=["full-width", "arabic-indic"])
def test_a_wrong_id_number_is_refused_in_any_digits(testapp, db, script):
    for wrong in ("110105194912310021", "11010519491231002X"[:-1] + "3"):
        fields = _put(testapp, db, factories.wechat_user(db), 400, id_card_no=wrong.translate(script))["error"]["fields"]
        assert fields == {"id_card_no": "身份证号不正确，请核对"}
    assert db.scalars(select(Driver)).all() == []


def test_plates_are_stored_in_normal_form(testapp, db):
    driver = factories.driver(db)
    vehicle = factories.vehicle_payload(plate_no="闽ａ １２３-４６", trailer_no="闽Ａ١٢٣٤挂")
    body = testapp.post_json("/api/logistics/vehicles", vehicle, headers=_auth(db, driver.user), status=201).json["vehicle"]
    assert (body["plate_no"], body["trailer_no"]) == ("闽A12346", "闽A1234挂")


# -- names and free text ----------------------------------------------------------------------

NAME_PROBLEM = "姓名须为 2–32 个汉字或字母，可用间隔号“·”或空格分隔，不能含数字、符号或表情"


@pytest.mark.parametrize("name", ["😀" * 32, "张三😀", "\u202e三张", "张\u200b三", "张", "张三3"], ids=repr)
def test_names_with_emoji_bidi_overrides_or_digits_are_refused(testapp, db, name):
    user = factories.wechat_user(db)
    escort = {"name": name, "id_card_no": ENDS_IN_DIGIT, "qualification_no": "Q1", "qualification_expires_on": "2030-01-01"}
    fields = _put(testapp, db, user, 400, name=name, escort=escort)["error"]["fields"]
    problem = "含有不可见的控制字符，请删除后重试" if name in ("\u202e三张", "张\u200b三") else None
    assert fields == {
        "name": f"姓名{problem}" if problem else NAME_PROBLEM,
        "escort.name": f"押运员姓名{problem}" if problem else "押运员" + NAME_PROBLEM,
    }


def test_minority_and_foreign_names_are_kept_with_one_middle_dot(testapp, db):
    user = factories.wechat_user(db)
    driver = _put(testapp, db, user, name="阿依古丽•买买提", escort={
        "name": "Ｊｏｈｎ  Ｓｍｉｔｈ", "id_card_no": ENDS_IN_DIGIT, "qualification_no": "Q1", "qualification_expires_on": "2030-01-01",
    })["driver"]
    assert (driver["name"], driver["escort"]["name"]) == ("阿依古丽·买买提", "John Smith")


def test_free_text_refuses_bidi_overrides(testapp, db):
    driver = factories.driver(db)
    report = {"vehicle_id": driver.vehicles[0].id, "expected_on": "2030-01-01", "purpose": "首次\u202e提货"}
    body = testapp.post_json("/api/logistics/entry-reports", report, headers=_auth(db, driver.user), status=400).json
    assert body["error"]["fields"] == {"purpose": "入场事由含有不可见的控制字符，请删除后重试"}
    refused = testapp.patch_json("/api/me", {"display_name": "司机\u202e"}, headers=_auth(db, driver.user), status=400).json
    assert refused["error"]["fields"] == {"display_name": "称呼含有不可见的控制字符，请删除后重试"}


# -- one identity, one driver --------------------------------------------------------------------


def test_a_second_account_cannot_register_an_id_number_already_held(testapp, db):
    first, second = factories.wechat_user(db), factories.wechat_user(db)
    _put(testapp, db, first, id_card_no=ENDS_IN_X, mobile="13800000000")
    # The same person typing it on another phone's keyboard: the same number.
    body = _put(testapp, db, second, 409, id_card_no=ENDS_IN_X.translate(FULL_WIDTH), mobile="13800000000")
    assert body["error"]["code"] == "id_card_registered"
    assert body["error"]["fields"] == {"id_card_no": "该身份证号已由另一个微信账号登记"}
    assert f"告知本账号编号 {second.id}" in body["error"]["message"] and "转移到本账号" in body["error"]["message"]
    assert [d.user_id for d in db.scalars(select(Driver))] == [first.id]
    # The first account changes its own profile as before; a shared mobile is not an identity.
    _put(testapp, db, first, id_card_no=ENDS_IN_X, name="张三丰")
    _put(testapp, db, second, id_card_no=ENDS_IN_DIGIT, mobile="13800000000")


def test_the_database_holds_one_driver_per_id_number(db):
    first, second = factories.driver(db), factories.driver(db)
    with pytest.raises(Exception, match="ix_drivers_id_card_no"), db.begin_nested():
        db.execute(text("UPDATE drivers SET id_card_no = :number WHERE id = :id"), {"number": first.id_card_no, "id": second.id})


# -- changing a profile without the masked numbers ---------------------------------------------


def test_a_change_may_leave_out_the_masked_numbers(testapp, db):
    user = factories.wechat_user(db)
    escort = {"name": "李四", "id_card_no": ENDS_IN_DIGIT, "qualification_no": "Q1", "qualification_expires_on": "2030-01-01"}
    _put(testapp, db, user, id_card_no=ENDS_IN_X, mobile="13900000000", escort=escort)
    change = factories.driver_payload(licence_no="L-2", escort={**escort, "qualification_no": "Q2"})
    for body in (change, change["escort"]):
        del body["id_card_no"]
    del change["mobile"]
    saved = testapp.put_json("/api/logistics/driver", change, headers=_auth(db, user)).json["driver"]
    assert (saved["id_card_no"], saved["mobile"], saved["licence_no"]) == ("110***********002X", "139****0000", "L-2")
    driver = db.scalars(select(Driver)).one()
    assert (driver.id_card_no, driver.mobile, driver.escort_id_card_no, driver.escort_qualification_no) == (
        ENDS_IN_X, "13900000000", ENDS_IN_DIGIT, "Q2")
    assert len(db.scalars(select(OutboxMessage).where(OutboxMessage.actor_name == "le.sync_driver")).all()) == 2

    # Another escort brings their own number.
    other = {"name": "王五", "qualification_no": "Q3", "qualification_expires_on": "2030-01-01"}
    fields = testapp.put_json("/api/logistics/driver", {**change, "escort": other}, headers=_auth(db, user), status=400).json
    assert fields["error"]["fields"] == {"escort.id_card_no": "更换押运员时请填写押运员身份证号"}


def test_a_first_registration_needs_the_numbers(testapp, db):
    payload = factories.driver_payload()
    del payload["id_card_no"], payload["mobile"]
    body = testapp.put_json("/api/logistics/driver", payload, headers=_auth(db, factories.wechat_user(db)), status=400).json
    assert body["error"]["fields"] == {"id_card_no": "请填写身份证号", "mobile": "请填写手机号"}


# -- 转移微信账号 (admin) --------------------------------------------------------------------------


def _move(testapp, driver, target, reason="驾驶员换了新手机", status=200, confirm=True):
    page = testapp.get(f"/admin/logistics/drivers/{driver.id}")
    form = {"target": target, "reason": reason, "csrf_token": csrf_from(page)}
    preview = testapp.post(f"/admin/logistics/drivers/{driver.id}", form, status=status)
    if status != 200 or not confirm:
        return preview
    form["csrf_token"], form["confirmed"] = csrf_from(preview), "yes"
    return testapp.post(f"/admin/logistics/drivers/{driver.id}", form, status=302).follow()


def _moves(db):
    return db.scalars(select(AuditEntry).where(AuditEntry.action == "driver.move")).all()


def _version(db, user):
    return db.scalar(text("SELECT data_version FROM wechat_users WHERE id = :id"), {"id": user.id})


def test_an_admin_moves_a_driver_to_another_account_after_confirming_audited(testapp, db):
    admin = factories.admin(db, "logistics", username="diaodu")
    login_admin(testapp, "diaodu")
    driver = factories.driver(db)
    old, new = driver.user, factories.wechat_user(db, name="新手机", mp_openid="o-mp-new-phone-0001")
    versions = _version(db, old), _version(db, new)

    preview = _move(testapp, driver, new.mp_openid, confirm=False)
    assert f"微信用户 #{new.id}（新手机" in preview.text and "确认转移" in preview.text
    assert driver.user_id == old.id and not _moves(db)  # nothing yet

    done = _move(testapp, driver, new.mp_openid)
    assert f"已将驾驶员 {driver.name} 转移到微信用户 #{new.id}" in done.text
    assert driver.user_id == new.id and driver.vehicles  # the vehicles follow the profile
    [entry] = _moves(db)
    assert (entry.admin_username, entry.target_type, entry.target_id, entry.note) == (
        admin.username, "driver", str(driver.id), "驾驶员换了新手机")
    assert entry.before["user_id"] == old.id and entry.after == {
        "user_id": new.id, "display_name": "新手机", "openid": new.openid_masked}
    assert "驾驶员换了新手机" in done.text  # the page's history
    # Lists cached under either account's data version are never served again.
    assert _version(db, old) != versions[0] and _version(db, new) != versions[1]

    # The new phone is the driver now; the old one is not.
    assert testapp.get("/api/logistics/driver", headers=_auth(db, new)).json["driver"]["id"] == driver.id
    assert testapp.get("/api/logistics/driver", headers=_auth(db, old)).json["driver"] is None


@pytest.mark.parametrize("target, reason, problem", [
    (lambda db, driver: "", "换手机", "请填写目标微信用户的编号或 openid"),
    (lambda db, driver: "o-nobody", "换手机", "未找到该微信用户"),
    (lambda db, driver: str(driver.user_id), "换手机", "驾驶员已绑定该微信账号"),
    (lambda db, driver: str(factories.driver(db).user_id), "换手机", "已登记为驾驶员"),
    (lambda db, driver: str(factories.wechat_user(db, status="disabled").id), "换手机", "该微信账号已停用"),
    (lambda db, driver: str(factories.wechat_user(db).id), " ", "请填写操作原因"),
    (lambda db, driver: str(factories.wechat_user(db).id), "换\u202e手机", "操作原因含有不可见的控制字符"),
])
def test_a_move_is_refused_with_a_reason(testapp, db, target, reason, problem):
    factories.admin(db, "logistics", username="diaodu")
    login_admin(testapp, "diaodu")
    driver = factories.driver(db)
    before = driver.user_id
    page = _move(testapp, driver, target(db, driver), reason, status=409 if problem == "已登记为驾驶员" else 400)
    assert problem in page.text
    assert driver.user_id == before and not _moves(db)
