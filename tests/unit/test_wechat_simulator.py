"""The WeChat simulator over real HTTP: OAuth, mini-program login, tokens, menu, messages."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from portal.simulators.base import serve
from portal.simulators.wechat import WeChatSimulator

OA = {"appid": "wx-oa-test", "secret": "oa-secret"}
MP = {"appid": "wx-mp-test", "secret": "mp-secret"}
REDIRECT = "https://portal.example.com/login/wechat"


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sim(clock):
    return WeChatSimulator(
        oa_appid=OA["appid"], oa_secret=OA["secret"], mp_appid=MP["appid"], mp_secret=MP["secret"],
        templates=["tpl-order", "tpl-visit"], subscribe_templates=["mp-tpl-result"], clock=clock,
    )


class Current:
    """Serves the simulator of the running test: one server per module (stopping one takes 0.5 s)."""

    sim = None

    def __call__(self, environ, start_response):
        return self.sim(environ, start_response)


@pytest.fixture(scope="module")
def served():
    served = serve(Current())
    yield served
    served.close()


@pytest.fixture
def url(sim, served):
    served.app.sim = sim
    return served.url


def get(url, path, **params):
    response = requests.get(url + path, params=params, allow_redirects=False)
    assert response.status_code == 200
    return response.json()


def post(url, path, body, **params):
    response = requests.post(url + path, params=params, json=body)
    assert response.status_code == 200
    return response.json()


def exchange(url, code, **overrides):
    params = {**OA, "code": code, "grant_type": "authorization_code", **overrides}
    return get(url, "/sns/oauth2/access_token", **params)


def js_login(url, code, **overrides):
    return get(url, "/sns/jscode2session", **{**MP, "js_code": code, "grant_type": "authorization_code", **overrides})


def access_token(url, app=OA):
    return get(url, "/cgi-bin/token", grant_type="client_credential", **app)["access_token"]


def authorize(url, **params):
    query = {"appid": OA["appid"], "redirect_uri": REDIRECT, "response_type": "code", "scope": "snsapi_base", **params}
    return requests.get(url + "/connect/oauth2/authorize", params=query, allow_redirects=False)


# -- web authorization ---------------------------------------------------------------------


def test_authorize_redirects_with_a_code_and_the_state(url, sim):
    person = sim.add_user()
    response = authorize(url, state="s-1", sim_openid=person.oa_openid)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location._replace(query="").geturl() == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["s-1"]
    assert exchange(url, query["code"][0])["openid"] == person.oa_openid


def test_authorize_appends_to_a_redirect_uri_with_a_query(url, sim):
    person = sim.add_user()
    response = authorize(url, redirect_uri=REDIRECT + "?next=/me", state="x", sim_openid=person.oa_openid)
    assert response.headers["Location"].startswith(REDIRECT + "?next=/me&code=")


@pytest.mark.parametrize("params, text", [({"appid": "wx-other"}, "appid 错误"), ({"scope": "snsapi_all"}, "scope 参数错误")])
def test_authorize_shows_an_error_page_for_bad_parameters(url, params, text):
    response = authorize(url, **params)
    assert response.status_code == 200
    assert text in response.text


def test_a_code_exchange_gives_the_openid_unionid_and_snapshot_flag(url, sim):
    person = sim.add_user(unionid="o-union-1", snapshot=True)
    answer = exchange(url, sim.issue_oauth_code(person.oa_openid, scope="snsapi_userinfo"))
    assert answer["openid"] == person.oa_openid
    assert answer["unionid"] == "o-union-1"
    assert answer["is_snapshotuser"] == 1
    assert answer["scope"] == "snsapi_userinfo"
    assert answer["expires_in"] == 7200 and answer["refresh_token"]
    plain = exchange(url, sim.issue_oauth_code(sim.add_user().oa_openid))
    assert "unionid" not in plain and "is_snapshotuser" not in plain


def test_codes_are_single_use_short_lived_and_need_the_right_secret(url, sim, clock):
    person = sim.add_user()
    code = sim.issue_oauth_code(person.oa_openid)
    assert exchange(url, code, secret="wrong")["errcode"] == 40125
    assert exchange(url, code, appid=MP["appid"])["errcode"] == 40013
    assert exchange(url, code, grant_type="password")["errcode"] == 40002
    assert "openid" in exchange(url, code)
    reused = exchange(url, code)
    assert reused["errcode"] == 40163 and reused["errmsg"].startswith("code been used")
    late = sim.issue_oauth_code(person.oa_openid)
    clock.now += 301
    assert exchange(url, late)["errcode"] == 40029
    assert exchange(url, "no-such-code")["errcode"] == 40029
    assert exchange(url, sim.issue_js_code(person.mp_openid))["errcode"] == 40029  # bound to the mp appid


def test_userinfo_needs_the_userinfo_scope(url, sim):
    person = sim.add_user(nickname="张三", unionid="o-union-2")
    base = exchange(url, sim.issue_oauth_code(person.oa_openid))
    assert get(url, "/sns/userinfo", access_token=base["access_token"], openid=person.oa_openid)["errcode"] == 48001
    full = exchange(url, sim.issue_oauth_code(person.oa_openid, scope="snsapi_userinfo"))
    info = get(url, "/sns/userinfo", access_token=full["access_token"], openid=person.oa_openid, lang="zh_CN")
    assert info["nickname"] == "微信用户" and info["unionid"] == "o-union-2"
    assert get(url, "/sns/userinfo", access_token=full["access_token"], openid="o-other")["errcode"] == 40003
    assert get(url, "/sns/userinfo", access_token="nonsense", openid=person.oa_openid)["errcode"] == 40001


# -- mini-program login ----------------------------------------------------------------------


def test_jscode2session_gives_the_mini_program_openid(url, sim):
    person = sim.add_user(unionid="o-union-3")
    code = sim.issue_js_code(person.mp_openid)
    answer = js_login(url, code)
    assert answer["openid"] == person.mp_openid != person.oa_openid
    assert answer["unionid"] == "o-union-3"
    assert len(answer["session_key"]) == 24
    assert js_login(url, code)["errcode"] == 40163
    assert js_login(url, "no-such-code")["errcode"] == 40029
    assert js_login(url, sim.issue_js_code(person.mp_openid), secret="wrong")["errcode"] == 40125


def test_jscode2session_codes_expire_and_high_risk_users_are_refused(url, sim, clock):
    late = sim.issue_js_code(sim.add_user().mp_openid)
    clock.now += 301
    assert js_login(url, late)["errcode"] == 40029
    risky = sim.add_user(high_risk=True)
    assert js_login(url, sim.issue_js_code(risky.mp_openid))["errcode"] == 40226


def test_jscode2session_has_a_minute_quota(url, sim, clock):
    for _ in range(100):
        assert js_login(url, "no-such-code")["errcode"] == 40029
    person = sim.add_user()
    assert js_login(url, sim.issue_js_code(person.mp_openid))["errcode"] == 45011
    clock.now += 61
    assert js_login(url, sim.issue_js_code(person.mp_openid))["openid"] == person.mp_openid


# -- access tokens -------------------------------------------------------------------------------


def test_a_plain_token_fetch_invalidates_the_previous_token(url):
    first = access_token(url)
    second = access_token(url)
    assert first != second
    assert get(url, "/cgi-bin/menu/get", access_token=first)["errcode"] == 40001
    assert get(url, "/cgi-bin/menu/get", access_token=second)["errcode"] == 46003
    assert get(url, "/cgi-bin/menu/get")["errcode"] == 41001


def test_token_fetches_check_the_credentials(url):
    assert get(url, "/cgi-bin/token", grant_type="client_credential", appid="wx-x", secret="s")["errcode"] == 40013
    assert get(url, "/cgi-bin/token", grant_type="client_credential", appid=OA["appid"], secret=MP["secret"])["errcode"] == 40125
    assert post(url, "/cgi-bin/stable_token", OA)["errcode"] == 40002
    mp_token = get(url, "/cgi-bin/token", grant_type="client_credential", **MP)["access_token"]
    assert get(url, "/cgi-bin/menu/get", access_token=mp_token)["errcode"] == 48001


def test_stable_tokens_survive_plain_fetches_and_a_forced_refresh_keeps_the_old_one_briefly(url, clock):
    body = {"grant_type": "client_credential", **OA, "force_refresh": False}
    first = post(url, "/cgi-bin/stable_token", body)
    clock.now += 100
    again = post(url, "/cgi-bin/stable_token", body)
    assert again == {"access_token": first["access_token"], "expires_in": 7100}
    access_token(url)  # a plain fetch is another family of tokens
    assert get(url, "/cgi-bin/menu/get", access_token=first["access_token"])["errcode"] == 46003
    forced = post(url, "/cgi-bin/stable_token", {**body, "force_refresh": True})
    assert forced["access_token"] != first["access_token"] and forced["expires_in"] == 7200
    assert get(url, "/cgi-bin/menu/get", access_token=first["access_token"])["errcode"] == 46003
    clock.now += 301
    assert get(url, "/cgi-bin/menu/get", access_token=first["access_token"])["errcode"] == 40001
    assert get(url, "/cgi-bin/menu/get", access_token=forced["access_token"])["errcode"] == 46003


def test_expired_tokens_are_refused(url, sim, clock):
    token = access_token(url)
    clock.now += 7200
    assert get(url, "/cgi-bin/menu/get", access_token=token)["errcode"] == 40001
    fresh = access_token(url)
    sim.expire_access_tokens()
    assert get(url, "/cgi-bin/menu/get", access_token=fresh)["errcode"] == 40001


# -- menu -------------------------------------------------------------------------------------------

VIEW = {"type": "view", "name": "主页", "url": "https://portal.example.com/"}


@pytest.mark.parametrize(
    "buttons, errcode",
    [
        ([], 40016),
        ([VIEW] * 4, 40016),
        ([{"name": "更多", "sub_button": []}], 40023),
        ([{"name": "更多", "sub_button": [VIEW] * 6}], 40023),
        ([{**VIEW, "name": "一二三四五六"}], 40018),  # 18 bytes
        ([{**VIEW, "name": ""}], 40018),
        ([{"name": "更多", "sub_button": [{**VIEW, "name": "长" * 21}]}], 40025),  # 63 bytes
        ([{**VIEW, "type": "scan"}], 40017),
        ([{"name": "更多", "sub_button": [{**VIEW, "type": "scan"}]}], 40024),
        ([{**VIEW, "url": "ftp://portal.example.com/"}], 40055),
        ([{"name": "更多", "sub_button": [{**VIEW, "url": "portal.example.com"}]}], 40054),
        ([{**VIEW, "url": "https://x.cn/" + "a" * 1020}], 40020),
        ([{"name": "更多", "sub_button": [{"type": "view", "name": "主页"}]}], 40027),
        ([{"type": "click", "name": "签到", "key": "k" * 129}], 40019),
        ([{"name": "更多", "sub_button": [{"type": "click", "name": "签到"}]}], 40026),
        ([{"type": "miniprogram", "name": "小程序", "pagepath": "pages/index", "url": "https://x.cn"}], 40166),
        ([{"type": "miniprogram", "name": "小程序", "appid": MP["appid"], "url": "https://x.cn"}], 40165),
        ([{"type": "miniprogram", "name": "小程序", "appid": MP["appid"], "pagepath": "pages/index"}], 40020),
        ({"not": "a list"}, 47001),
    ],
)
def test_menu_limits(url, sim, buttons, errcode):
    answer = post(url, "/cgi-bin/menu/create", {"button": buttons}, access_token=access_token(url))
    assert answer["errcode"] == errcode
    assert sim.menu is None
    assert sim.effects() == []


def test_a_valid_menu_is_stored(url, sim):
    buttons = [
        VIEW,
        {"type": "click", "name": "签到", "key": "CHECK_IN"},
        {"name": "更多", "sub_button": [
            {"type": "miniprogram", "name": "小程序", "appid": MP["appid"], "pagepath": "pages/index", "url": "https://x.cn"},
            {**VIEW, "name": "长" * 20},
        ]},
    ]
    token = access_token(url)
    assert post(url, "/cgi-bin/menu/create", {"button": buttons}, access_token=token) == {"errcode": 0, "errmsg": "ok"}
    assert get(url, "/cgi-bin/menu/get", access_token=token) == {"menu": {"button": buttons}}
    assert requests.get(url + "/_sim/menu").json() == {"menu": {"button": buttons}}
    assert len(sim.effects("/cgi-bin/menu/create")) == 1


# -- messages -----------------------------------------------------------------------------------------


def template(person, **overrides):
    return {"touser": person.oa_openid, "template_id": "tpl-order", "data": {"thing1": {"value": "午餐"}}, **overrides}


def test_template_messages_are_checked(url, sim):
    token = access_token(url)
    send = lambda body: post(url, "/cgi-bin/message/template/send", body, access_token=token)  # noqa: E731
    person, stranger = sim.add_user(), sim.add_user(subscribed=False)
    assert send(template(person, touser="o-nobody"))["errcode"] == 40003
    assert send(template(stranger))["errcode"] == 43004
    assert send(template(person, template_id="tpl-unknown"))["errcode"] == 40037
    too_long = send(template(person, data={"thing1": {"value": "字" * 21}}))
    assert too_long["errcode"] == 47003 and too_long["errmsg"].startswith("argument invalid! data.thing1.value invalid")
    assert sim.sent_messages == [] and sim.effects() == []
    answer = send(template(person, data={"thing1": {"value": "字" * 20}}, url="https://portal.example.com/o/1"))
    assert answer["errcode"] == 0 and answer["msgid"] > 2**32
    assert [(m["kind"], m["touser"], m["msgid"]) for m in sim.sent_messages] == [("template", person.oa_openid, answer["msgid"])]


def test_a_repeated_client_msg_id_sends_once(url, sim):
    token = access_token(url)
    person = sim.add_user()
    body = template(person, client_msg_id="order-1-paid")
    first = post(url, "/cgi-bin/message/template/send", body, access_token=token)
    again = post(url, "/cgi-bin/message/template/send", body, access_token=token)
    other = post(url, "/cgi-bin/message/template/send", {**body, "client_msg_id": "order-2-paid"}, access_token=token)
    assert again == first and other["msgid"] != first["msgid"]
    assert [m["client_msg_id"] for m in sim.sent_messages] == ["order-1-paid", "order-2-paid"]
    entries = sim.effects("/cgi-bin/message/template/send")
    assert len(entries) == 2
    assert [(e.applied, e.replayed) for e in sim.ledger if e.path.endswith("template/send")] == [
        (True, False), (False, True), (True, False)
    ]


def test_subscribe_notifications_need_the_users_consent(url, sim):
    token = access_token(url)
    send = lambda body: post(url, "/cgi-bin/message/subscribe/bizsend", body, access_token=token)  # noqa: E731
    refusing, accepting = sim.add_user(), sim.add_user(accepted_templates=["tpl-visit"])
    body = {"template_id": "tpl-visit", "data": {"thing2": {"value": "访客已到达"}}, "page": "pages/visit"}
    assert send({**body, "touser": "o-nobody"})["errcode"] == 40003
    assert send({**body, "touser": accepting.oa_openid, "template_id": "tpl-unknown"})["errcode"] == 40037
    assert send({**body, "touser": refusing.oa_openid})["errcode"] == 43101
    assert send({**body, "touser": accepting.oa_openid, "data": {"thing2": {"value": "字" * 21}}})["errcode"] == 47003
    assert send({**body, "touser": accepting.oa_openid}) == {"errcode": 0, "errmsg": "ok"}
    assert [(m["kind"], m["touser"], m["page"]) for m in sim.sent_messages] == [("subscribe", accepting.oa_openid, "pages/visit")]
    assert len(sim.effects()) == 1


def test_mini_program_subscribe_messages_use_one_subscription_each(url, sim):
    token = access_token(url, MP)
    send = lambda body, token=token: post(url, "/cgi-bin/message/subscribe/send", body, access_token=token)  # noqa: E731
    person, other = sim.add_user(), sim.add_user()
    sim.subscribe(person.mp_openid, ["mp-tpl-result", "mp-tpl-result"])  # two taps on 允许
    data = {"thing1": {"value": "提货 32%液碱 25 吨"}, "character_string2": {"value": "LE-C-000123"}, "time3": {"value": "2026-11-26 09:00"},
            "phrase4": {"value": "登记成功"}, "car_number5": {"value": "闽A1234挂"}}
    body = {"touser": person.mp_openid, "template_id": "mp-tpl-result", "page": "pages/index/index?path=/h5/", "data": data}
    assert send(body, token=access_token(url))["errcode"] == 48001  # the Official Account's token is not the mini-program's
    assert send({**body, "touser": person.oa_openid})["errcode"] == 40003  # its openid is the mini-program's own
    assert send({**body, "template_id": "tpl-order"})["errcode"] == 40037  # an OA template is not a subscribe template
    assert send({**body, "touser": other.mp_openid})["errcode"] == 43101
    for key, value, errmsg in [
        ("thing1", "", "data.thing1.value is empty"), ("thing1", "字" * 21, "data.thing1.value invalid"),
        ("character_string2", "卡号1", "data.character_string2.value invalid"), ("phrase4", "登记成功了吗", "data.phrase4.value invalid"),
        ("time3", "明天上午", "data.time3.value invalid"), ("car_number5", "闽A123456789", "data.car_number5.value invalid"),
        ("keyword6", "x", "data.keyword6.value invalid"),
    ]:
        refused = send({**body, "data": {**data, key: {"value": value}}})
        assert refused["errcode"] == 47003 and refused["errmsg"].startswith(f"argument invalid! {errmsg}")
    assert sim.sent_messages == [] and person.mp_subscriptions == {"mp-tpl-result": 2}
    assert send(body) == send(body) == {"errcode": 0, "errmsg": "ok"}
    assert send(body)["errcode"] == 43101  # each 允许 allowed one message
    assert [(m["kind"], m["touser"], m["page"]) for m in sim.sent_messages] == [("miniprogram", person.mp_openid, body["page"])] * 2
    assert len(sim.effects("/cgi-bin/message/subscribe/send")) == 2


# -- the dev page and control endpoints ------------------------------------------------------


def test_the_consent_page_lists_users_and_escapes_their_names(url, sim):
    sim.add_user(nickname="李四")
    sim.add_user(nickname="<script>alert(1)</script>")
    response = authorize(url, state="s")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "模拟微信授权" in response.text and "李四" in response.text
    assert "<script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_the_consent_page_form_creates_a_user_and_redirects_with_a_code(url, sim):
    query = {"appid": OA["appid"], "redirect_uri": REDIRECT, "response_type": "code", "scope": "snsapi_userinfo", "state": "s-9"}
    response = requests.post(
        url + "/connect/oauth2/authorize", params=query, data={"nickname": "王五", "unionid": "1"}, allow_redirects=False
    )
    assert response.status_code == 302
    location = parse_qs(urlsplit(response.headers["Location"]).query)
    assert location["state"] == ["s-9"]
    [person] = sim.people.values()
    assert person.nickname == "王五" and person.unionid
    answer = exchange(url, location["code"][0])
    assert answer["openid"] == person.oa_openid and answer["scope"] == "snsapi_userinfo"


def test_the_control_endpoints(url, sim):
    person = requests.post(url + "/_sim/users", json={"nickname": "赵六", "accepted_templates": ["tpl-visit"]}).json()
    assert person["nickname"] == "赵六" and len(person["oa_openid"]) == len(person["mp_openid"]) == 28
    assert requests.get(url + "/_sim/users").json() == {"users": [person]}
    js_code = requests.post(url + "/_sim/js-code", json={"mp_openid": person["mp_openid"]}).json()["code"]
    assert js_login(url, js_code)["openid"] == person["mp_openid"]
    oauth_code = requests.post(url + "/_sim/oauth-code", json={"oa_openid": person["oa_openid"]}).json()["code"]
    assert exchange(url, oauth_code)["scope"] == "snsapi_base"
    assert requests.post(url + "/_sim/oauth-code", json={"oa_openid": "o-nobody"}).status_code == 400
    token = access_token(url)
    assert requests.post(url + "/_sim/expire-tokens").json() == {"ok": True}
    assert get(url, "/cgi-bin/menu/get", access_token=token)["errcode"] == 40001
    assert requests.get(url + "/_sim/messages").json() == {"messages": []}
    subscribed = requests.post(url + "/_sim/subscribe", json={"mp_openid": person["mp_openid"], "template_ids": ["mp-tpl-result"]}).json()
    assert subscribed["mp_subscriptions"] == {"mp-tpl-result": 1}
    assert requests.post(url + "/_sim/subscribe", json={"mp_openid": person["mp_openid"], "template_ids": ["tpl-x"]}).status_code == 400
    assert requests.get(url + "/_sim/ledger").status_code == 200
