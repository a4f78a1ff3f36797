"""Menu validation mirrors WeChat's limits: every case we refuse, the platform refuses too."""

import pytest
import requests

from portal.refusal import Refusal
from portal.services.wechat_menu import default_buttons, from_form, validate

VIEW = {"type": "view", "name": "智慧物流", "url": "https://portal.example.com/h5/logistics"}
MINI = {"type": "miniprogram", "name": "小程序", "url": "https://portal.example.com/h5/", "appid": "wx1234567890abcdef", "pagepath": "pages/index"}

OVER_LIMIT = {
    "no buttons": ([], "menu", 40016),
    "four top-level buttons": ([VIEW] * 4, "menu", 40016),
    "six sub-buttons": ([{"name": "更多", "sub_button": [VIEW] * 6}], "b0.sub", 40023),
    "top-level name over 16 bytes": ([{**VIEW, "name": "智慧物流司机入口"}], "b0.name", 40018),
    "sub-button name over 60 bytes": ([{"name": "更多", "sub_button": [{**VIEW, "name": "长" * 21}]}], "b0.s0.name", 40025),
    "missing name": ([{**VIEW, "name": ""}], "b0.name", 40018),
    "unknown type": ([{**VIEW, "type": "scancode_push"}], "b0.type", 40017),
    "view without url": ([{**VIEW, "url": ""}], "b0.url", 40020),
    "url over 1024 bytes": ([{**VIEW, "url": "https://a.example.com/" + "x" * 1010}], "b0.url", 40020),
    "url without scheme": ([{**VIEW, "url": "portal.example.com/h5"}], "b0.url", 40055),
    "miniprogram without appid": ([{**MINI, "appid": ""}], "b0.appid", 40166),
    "miniprogram without pagepath": ([{**MINI, "pagepath": ""}], "b0.pagepath", 40165),
}


@pytest.mark.parametrize("buttons, field, _", OVER_LIMIT.values(), ids=OVER_LIMIT.keys())
def test_each_over_limit_case_is_refused_with_a_message_on_its_field(buttons, field, _):
    with pytest.raises(Refusal) as caught:
        validate(buttons)
    assert field in caught.value.fields
    assert all("\u4e00" <= ch <= "\u9fff" for ch in caught.value.fields[field][:2])  # Chinese


def _create(served, wechat, buttons):
    token = requests.post(
        served.url + "/cgi-bin/stable_token",
        json={"grant_type": "client_credential", "appid": wechat.oa_appid, "secret": wechat.app_secrets[wechat.oa_appid], "force_refresh": False},
        timeout=5,
    ).json()["access_token"]
    return requests.post(served.url + f"/cgi-bin/menu/create?access_token={token}", json={"button": buttons}, timeout=5).json()


@pytest.mark.parametrize("buttons, _, errcode", [v for k, v in OVER_LIMIT.items() if k != "no buttons"], ids=[k for k in OVER_LIMIT if k != "no buttons"])
def test_the_platform_refuses_the_same_cases(served_simulators, simulators, buttons, _, errcode):
    assert _create(served_simulators["wechat"], simulators["wechat"], buttons)["errcode"] == errcode


def test_a_valid_menu_is_accepted_by_both():
    buttons = [VIEW, {"name": "访客预约", "sub_button": [VIEW, MINI]}, {**VIEW, "name": "餐卡消费"}]
    assert validate(buttons) == buttons


def test_the_platform_accepts_what_we_accept(served_simulators, simulators, catalogue):
    buttons = validate(default_buttons("https://portal.example.com", catalogue.areas.values()))
    assert [b["name"] for b in buttons] == ["智慧物流", "访客预约", "餐卡消费"]
    assert _create(served_simulators["wechat"], simulators["wechat"], buttons)["errcode"] == 0


def test_the_editor_form_becomes_a_button_tree_and_skips_empty_slots():
    form = {
        "b0.name": "智慧物流", "b0.type": "view", "b0.url": "https://x.example.com/a",
        "b1.name": "更多", "b1.type": "view",
        "b1.s0.name": "访客", "b1.s0.type": "view", "b1.s0.url": "https://x.example.com/b",
        "b2.type": "view",
    }
    assert from_form(form) == [
        {"name": "智慧物流", "type": "view", "url": "https://x.example.com/a", "appid": "", "pagepath": ""},
        {"name": "更多", "sub_button": [{"name": "访客", "type": "view", "url": "https://x.example.com/b", "appid": "", "pagepath": ""}]},
    ]
    assert validate(from_form(form))[1]["sub_button"][0] == {"type": "view", "name": "访客", "url": "https://x.example.com/b"}
