"""A simulator of the WeChat servers: the Official Account (OA) and the mini-program (mp).

One app serves the paths of both WeChat hosts, open.weixin.qq.com and api.weixin.qq.com:

* web authorization: ``/connect/oauth2/authorize`` (a page where a person picks or creates a
  simulated WeChat user), ``/sns/oauth2/access_token``, ``/sns/userinfo``;
* mini-program login: ``/sns/jscode2session``;
* access tokens: ``/cgi-bin/token`` and ``/cgi-bin/stable_token``;
* OA business APIs: ``/cgi-bin/menu/create|get``, ``/cgi-bin/message/template/send`` and
  ``/cgi-bin/message/subscribe/bizsend``;
* the mini-program's subscribe messages: ``/cgi-bin/message/subscribe/send`` (with the
  mini-program's access token, to its openid), one of the person's subscriptions each.

As in WeChat, every error is HTTP 200 with ``{"errcode": N, "errmsg": "… rid: …"}``, and an
error is never an effect in the ledger (the consent page stays out of the ledger). A person
has different openids for the OA and the mini-program, like a real user. Control endpoints
besides the base's: ``GET|POST /_sim/users``, ``POST /_sim/js-code``, ``POST /_sim/oauth-code``,
``POST /_sim/subscribe`` (a person taps 允许 in ``wx.requestSubscribeMessage``: one subscription
per template id), ``POST /_sim/expire-tokens``, ``GET /_sim/menu`` and ``GET /_sim/messages``.
"""

import base64
import html
import json
import re
import secrets
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from urllib.parse import urlencode

from webob import Request, Response

from portal.settings import CoreSettings

from .base import Reject, Replay, Simulator

SCOPES = ("snsapi_base", "snsapi_userinfo")
#: Paths under /cgi-bin/ that need no access token: they hand them out.
TOKEN_PATHS = ("/cgi-bin/token", "/cgi-bin/stable_token")
#: A force-refreshed stable token stays valid this many more seconds.
STABLE_GRACE = 300
JSCODE_MINUTE_QUOTA = 100
DATA_VALUE_LIMIT = 20
MENU_TYPES = ("view", "click", "miniprogram")
#: WeChat reports each menu fault with one errcode for a top-level button, another for a sub-button.
MENU_ERRORS = {
    "name": ((40018, "invalid button name size"), (40025, "invalid sub button name size")),
    "type": ((40017, "invalid button type"), (40024, "invalid sub button type")),
    "key": ((40019, "invalid button key size"), (40026, "invalid sub button key size")),
    "url": ((40020, "invalid button url size"), (40027, "invalid sub button url size")),
    "domain": ((40055, "invalid button url domain"), (40054, "invalid sub button url domain")),
}
INVALID_TOKEN = "invalid credential, access_token is invalid or not latest"
#: Business APIs of the mini-program (its access token); every other /cgi-bin/ one is the OA's.
MP_PATHS = ("/cgi-bin/message/subscribe/send",)
_DAY = r"(\d{4}年\d{1,2}月(\d{1,2}日)?|\d{1,2}月\d{1,2}日|\d{4}[-/.]\d{1,2}([-/.]\d{1,2})?|\d{1,2}[-/.]\d{1,2})"
_CLOCK = r"\d{1,2}:\d{2}(:\d{2})?"
_HAN = "\u4e00-\u9fff"
#: What each type of a subscribe message's value may be (subscribeMessage.send, 参数值内容限制);
#: a key is its type and a number (``thing1``, ``character_string2``).
SUBSCRIBE_VALUE_RULES = {
    "thing": re.compile(r".{1,20}", re.S),
    "number": re.compile(r"(?=.{1,32}$)\d+(\.\d+)?"),
    "letter": re.compile(r"[A-Za-z]{1,32}"),
    "symbol": re.compile(rf"[^\w\s{_HAN}]{{1,5}}"),
    "character_string": re.compile(r"[\x21-\x7e]{1,32}"),
    "time": re.compile(rf"({_DAY} ?)?{_CLOCK}(~({_DAY} ?)?{_CLOCK})?"),
    "date": re.compile(rf"{_DAY}( {_CLOCK})?(~{_DAY}( {_CLOCK})?)?"),
    "amount": re.compile(r"[¥$€£]?\d{1,10}(\.\d+)?元?"),
    "phone_number": re.compile(r"[\d+\-() ]{1,17}"),
    "car_number": re.compile(rf"(?=.{{1,8}}$)[{_HAN}A-Za-z0-9][A-Za-z0-9]*[{_HAN}]?"),
    "name": re.compile(rf"[{_HAN}A-Za-z·]{{1,10}}|[A-Za-z .\-]{{1,20}}"),
    "phrase": re.compile(rf"[{_HAN}]{{1,5}}"),
}
PAGE_TITLE = "模拟微信授权"


class WeChatError(Reject):
    """A WeChat error answer: HTTP 200 with errcode and errmsg."""

    def __init__(self, errcode, errmsg):
        super().__init__(200, errcode, errmsg)


@dataclass
class Person:
    oa_openid: str
    mp_openid: str
    unionid: str | None = None
    nickname: str = "微信用户"
    subscribed: bool = True
    #: A virtual user of WeChat's snapshot-page mode.
    snapshot: bool = False
    high_risk: bool = False
    #: Templates the person accepted for the OA's subscribe notifications.
    accepted_templates: set = field(default_factory=set)
    #: The mini-program's one-time subscriptions: template id → messages still allowed.
    mp_subscriptions: dict = field(default_factory=dict)

    def as_json(self):
        return {**asdict(self), "accepted_templates": sorted(self.accepted_templates)}


@dataclass
class _Code:
    """An OAuth code or a wx.login() code, bound to the appid it was issued for."""

    appid: str
    person: Person
    issued_at: float
    scope: str | None = None
    redirect_uri: str | None = None
    used: bool = False


@dataclass
class _Token:
    """An access token; an OAuth one also knows whose it is and its scope."""

    appid: str
    expires_at: float
    stable: bool = False
    person: Person | None = None
    scope: str | None = None


def _wx_id():
    """An id shaped like WeChat's openids and unionids: 28 characters starting with "o"."""
    return "o" + secrets.token_urlsafe(21)[:27]


def _size(text):
    return len(text.encode()) if isinstance(text, str) else 0


def _menu_fault(what, sub):
    return WeChatError(*MENU_ERRORS[what][sub])


def _check_action(button, sub):
    kind = button.get("type")
    if kind not in MENU_TYPES:
        raise _menu_fault("type", sub)
    if kind == "click":
        if not 0 < _size(button.get("key")) <= 128:
            raise _menu_fault("key", sub)
        return
    if kind == "miniprogram":
        if not button.get("appid"):
            raise WeChatError(40166, "invalid weapp appid")
        if not button.get("pagepath"):
            raise WeChatError(40165, "invalid weapp pagepath")
    # view, and the fallback page of miniprogram for clients without mini-programs
    url = button.get("url")
    if not 0 < _size(url) <= 1024:
        raise _menu_fault("url", sub)
    if not url.startswith(("http://", "https://")):
        raise _menu_fault("domain", sub)


def _check_menu(buttons):
    if not isinstance(buttons, list) or not all(isinstance(b, dict) for b in buttons):
        raise WeChatError(47001, "data format error")
    if not 1 <= len(buttons) <= 3:
        raise WeChatError(40016, "invalid button size")
    for button in buttons:
        if not 0 < _size(button.get("name")) <= 16:
            raise _menu_fault("name", False)
        subs = button.get("sub_button")
        if not subs and "type" in button:
            _check_action(button, False)
            continue
        if not isinstance(subs, list) or not 1 <= len(subs) <= 5:
            raise WeChatError(40023, "invalid sub button size")
        for sub in subs:
            if not isinstance(sub, dict):
                raise WeChatError(47001, "data format error")
            if not 0 < _size(sub.get("name")) <= 60:
                raise _menu_fault("name", True)
            _check_action(sub, True)


def _check_data(data):
    if not isinstance(data, dict):
        raise WeChatError(47001, "data format error")
    for key, item in data.items():
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, str) or len(value) > DATA_VALUE_LIMIT:
            raise WeChatError(47003, f"argument invalid! data.{key}.value invalid")


def _check_subscribe_data(data):
    """A mini-program subscribe message's data: each value non-empty and what its key's type allows."""
    if not isinstance(data, dict) or not data:
        raise WeChatError(47001, "data format error")
    for key, item in data.items():
        value = item.get("value") if isinstance(item, dict) else None
        if value is None or value == "":
            raise WeChatError(47003, f"argument invalid! data.{key}.value is empty")
        rule = SUBSCRIBE_VALUE_RULES.get(key.rstrip("0123456789"))
        if rule is None or not isinstance(value, str) or not rule.fullmatch(value):
            raise WeChatError(47003, f"argument invalid! data.{key}.value invalid")


class WeChatSimulator(Simulator):
    name = "wechat"

    def __init__(self, *, oa_appid, oa_secret, mp_appid, mp_secret, templates=(), subscribe_templates=(), code_ttl=300,
                 token_ttl=7200, clock=time.time):
        super().__init__()
        self.oa_appid, self.mp_appid = oa_appid, mp_appid
        self.app_secrets = {oa_appid: oa_secret, mp_appid: mp_secret}
        #: The OA's templates (template messages, subscribe notifications) and the mini-program's.
        self.templates = set(templates)
        self.subscribe_templates = set(subscribe_templates)
        self.code_ttl, self.token_ttl, self.clock = code_ttl, token_ttl, clock
        #: Simulated people by OA openid.
        self.people = {}
        self.menu = None
        self.sent_messages = []
        self._codes = {}
        self._tokens = {}
        self._stable_tokens = {}
        self._oauth_tokens = {}
        self._jscode_calls = deque()
        self._msgids = {}
        # Real msgids exceed 32 bits; start there so a client storing them in an int32 breaks.
        self._next_msgid = 2**62 + secrets.randbelow(2**32)
        self.route("GET", "/sns/oauth2/access_token", self.oauth_access_token)
        self.route("GET", "/sns/userinfo", self.userinfo)
        self.route("GET", "/sns/jscode2session", self.jscode2session)
        self.route("GET", "/cgi-bin/token", self.token)
        self.route("POST", "/cgi-bin/stable_token", self.stable_token)
        self.route("POST", "/cgi-bin/menu/create", self.menu_create, write=True)
        self.route("GET", "/cgi-bin/menu/get", self.menu_get)
        self.route("POST", "/cgi-bin/message/template/send", self.template_send, write=True)
        self.route("POST", "/cgi-bin/message/subscribe/bizsend", self.subscribe_send, write=True)
        self.route("POST", "/cgi-bin/message/subscribe/send", self.miniprogram_subscribe_send, write=True)
        self._controls = {
            ("GET", "/_sim/users"): lambda body: {"users": [p.as_json() for p in self.people.values()]},
            ("POST", "/_sim/users"): lambda body: self.add_user(**body).as_json(),
            ("POST", "/_sim/js-code"): lambda body: {"code": self.issue_js_code(body["mp_openid"])},
            ("POST", "/_sim/oauth-code"): lambda body: {
                "code": self.issue_oauth_code(body["oa_openid"], scope=body.get("scope", "snsapi_base"))
            },
            ("POST", "/_sim/subscribe"): lambda body: self.subscribe(body["mp_openid"], body["template_ids"]).as_json(),
            ("POST", "/_sim/expire-tokens"): lambda body: self.expire_access_tokens(),
            ("GET", "/_sim/menu"): lambda body: {"menu": self.menu},
            ("GET", "/_sim/messages"): lambda body: {"messages": list(self.sent_messages)},
        }

    @classmethod
    def from_settings(cls, settings, name="wechat"):
        """The Official Account and mini-program of the settings, knowing the template ids
        our settings name (``portal.wechat_template_*``, ``portal.wechat_subscribe_*``)."""
        return cls(
            **CoreSettings.from_settings(settings).wechat_apps(),
            templates=[value for key, value in settings.items() if key.startswith("portal.wechat_template_")],
            subscribe_templates=[value for key, value in settings.items() if key.startswith("portal.wechat_subscribe_")],
        )

    # -- Python API for tests and the dev page ------------------------------------------

    def add_user(self, *, nickname="微信用户", unionid=None, subscribed=True, snapshot=False, high_risk=False,
                 accepted_templates=(), oa_openid=None, mp_openid=None):
        """A new simulated person; ``unionid=True`` gives them a generated unionid."""
        person = Person(
            oa_openid=oa_openid or _wx_id(),
            mp_openid=mp_openid or _wx_id(),
            unionid=_wx_id() if unionid is True else unionid,
            nickname=nickname,
            subscribed=subscribed,
            snapshot=snapshot,
            high_risk=high_risk,
            accepted_templates=set(accepted_templates),
        )
        with self.lock:
            if person.oa_openid in self.people:
                raise ValueError(f"openid {person.oa_openid} exists already")
            self.people[person.oa_openid] = person
        return person

    def issue_oauth_code(self, oa_openid, scope="snsapi_base", redirect_uri=None, appid=None):
        """The code WeChat appends to redirect_uri once the person has authorized."""
        with self.lock:
            person = self.people.get(oa_openid)
            if person is None:
                raise ValueError(f"no simulated person with OA openid {oa_openid}")
            return self._issue_code(appid or self.oa_appid, person, scope=scope, redirect_uri=redirect_uri)

    def issue_js_code(self, mp_openid):
        """The code wx.login() gives the mini-program of this person."""
        with self.lock:
            person = self._mp_person(mp_openid)
            if person is None:
                raise ValueError(f"no simulated person with mini-program openid {mp_openid}")
            return self._issue_code(self.mp_appid, person)

    def subscribe(self, mp_openid, template_ids):
        """The person taps 允许 in the mini-program's ``wx.requestSubscribeMessage``: one more
        message of each template may be sent to them."""
        with self.lock:
            person = self._mp_person(mp_openid)
            if person is None:
                raise ValueError(f"no simulated person with mini-program openid {mp_openid}")
            unknown = set(template_ids) - self.subscribe_templates
            if unknown:
                raise ValueError(f"not a subscribe template of the mini-program: {', '.join(sorted(unknown))}")
            for template_id in template_ids:
                person.mp_subscriptions[template_id] = person.mp_subscriptions.get(template_id, 0) + 1
            return person

    def _mp_person(self, mp_openid):
        return next((p for p in self.people.values() if p.mp_openid == mp_openid), None)

    def expire_access_tokens(self):
        """Every access token handed out so far (OAuth ones too) expires now."""
        with self.lock:
            now = self.clock()
            for token in [*self._tokens.values(), *self._oauth_tokens.values()]:
                token.expires_at = min(token.expires_at, now)

    def _issue_code(self, appid, person, **details):
        code = secrets.token_hex(16)
        self._codes[code] = _Code(appid, person, self.clock(), **details)
        return code

    # -- hooks ----------------------------------------------------------------------------

    def error_body(self, code, message):
        # The base's faults carry string codes; WeChat says -1 (system busy) for those.
        rid = "-".join(secrets.token_hex(4) for _ in range(3))
        return {"errcode": code if isinstance(code, int) else -1, "errmsg": f"{message} rid: {rid}"}

    def authenticate(self, request, body_bytes):
        path = request.path_info
        if not path.startswith("/cgi-bin/") or path in TOKEN_PATHS:
            return
        value = request.GET.get("access_token")
        if not value:
            raise WeChatError(41001, "access_token missing")
        with self.lock:
            token = self._tokens.get(value)
            if token is None or self.clock() >= token.expires_at:
                raise WeChatError(40001, INVALID_TOKEN)
            if token.appid != (self.mp_appid if path in MP_PATHS else self.oa_appid):
                raise WeChatError(48001, "api unauthorized")

    def __call__(self, environ, start_response):
        # The consent page answers HTML and redirects, which the JSON routes cannot.
        request = Request(environ)
        if request.path_info == "/connect/oauth2/authorize":
            return self._authorize(request)(environ, start_response)
        return super().__call__(environ, start_response)

    def _control(self, request):
        handler = self._controls.get((request.method, request.path_info))
        if handler is None:
            return super()._control(request)
        try:
            body = json.loads(request.body) if request.body else {}
            with self.lock:
                answer = handler(body)
        except (ValueError, TypeError, KeyError) as exc:
            return self._json(400, {"error": str(exc)})
        return self._json(200, {"ok": True} if answer is None else answer)

    # -- web authorization (open.weixin.qq.com) -------------------------------------------

    def _authorize(self, request):
        query = request.GET
        redirect_uri = query.get("redirect_uri")
        with self.lock:
            if query.get("appid") != self.oa_appid:
                return self._page("<p>appid 错误</p><p>错误码：10003</p>")
            if query.get("scope") not in SCOPES:
                return self._page("<p>scope 参数错误</p><p>错误码：10005</p>")
            if not redirect_uri:
                return self._page("<p>redirect_uri 参数错误</p><p>错误码：10011</p>")
            if request.method == "POST":
                form = request.POST
                person = self.add_user(nickname=form.get("nickname") or "微信用户", unionid=True if form.get("unionid") else None)
            elif "sim_openid" in query:
                person = self.people.get(query["sim_openid"])
                if person is None:
                    return self._page("<p>模拟用户不存在</p>")
            else:
                return self._consent_page(request)
            code = self.issue_oauth_code(person.oa_openid, scope=query["scope"], redirect_uri=redirect_uri)
        separator = "&" if "?" in redirect_uri else "?"
        answer = urlencode({"code": code, "state": query.get("state", "")})
        return Response(status=302, location=redirect_uri + separator + answer)

    def _consent_page(self, request):
        query = request.GET
        items = []
        for person in self.people.values():
            link = "?" + urlencode({**dict(query), "sim_openid": person.oa_openid})
            notes = [person.oa_openid]
            notes += ["未关注公众号"] if not person.subscribed else []
            notes += ["快照页虚拟用户"] if person.snapshot else []
            notes += ["有 unionid"] if person.unionid else []
            items.append(
                f'<li><a href="{html.escape(link)}">以“{html.escape(person.nickname)}”身份授权</a>'
                f" <small>{html.escape('，'.join(notes))}</small></li>"
            )
        users = f"<ul>{''.join(items)}</ul>" if items else "<p>还没有模拟用户。</p>"
        return self._page(
            f"<p>公众号 {html.escape(self.oa_appid)} 请求授权（{html.escape(query['scope'])}），"
            f"授权后返回 {html.escape(query['redirect_uri'])}</p>"
            f"<h2>选择用户</h2>{users}"
            f'<h2>新建用户</h2><form method="post" action="?{html.escape(request.query_string)}">'
            '<p><label>昵称 <input name="nickname" value="微信用户"></label></p>'
            '<p><label><input type="checkbox" name="unionid" value="1"> 有 unionid</label></p>'
            '<p><button type="submit">新建并授权</button></p></form>'
        )

    def _page(self, content):
        text = (
            '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{PAGE_TITLE}</title></head><body><h1>{PAGE_TITLE}</h1>{content}</body></html>"
        )
        return Response(text=text, content_type="text/html", charset="utf-8")

    # -- web authorization and mini-program login (api.weixin.qq.com/sns) -----------------
    # The base calls handlers holding self.lock.

    def _check_app(self, appid, secret, allowed):
        if appid not in allowed:
            raise WeChatError(40013, "invalid appid")
        if secret != self.app_secrets[appid]:
            raise WeChatError(40125, "invalid appsecret")

    def _take_code(self, value, appid):
        code = self._codes.get(value)
        if code is None or code.appid != appid:
            raise WeChatError(40029, "invalid code")
        if code.used:
            raise WeChatError(40163, "code been used")
        if self.clock() - code.issued_at > self.code_ttl:
            raise WeChatError(40029, "invalid code")
        code.used = True
        return code

    def oauth_access_token(self, request, body):
        query = request.GET
        self._check_app(query.get("appid"), query.get("secret"), (self.oa_appid,))
        if query.get("grant_type") != "authorization_code":
            raise WeChatError(40002, "invalid grant_type")
        code = self._take_code(query.get("code"), self.oa_appid)
        person = code.person
        token = secrets.token_urlsafe(64)
        self._oauth_tokens[token] = _Token(self.oa_appid, self.clock() + self.token_ttl, person=person, scope=code.scope)
        answer = {
            "access_token": token,
            "expires_in": self.token_ttl,
            "refresh_token": secrets.token_urlsafe(64),
            "openid": person.oa_openid,
            "scope": code.scope,
        }
        if person.unionid:
            answer["unionid"] = person.unionid
        if person.snapshot:
            answer["is_snapshotuser"] = 1
        return 200, answer

    def userinfo(self, request, body):
        query = request.GET
        token = self._oauth_tokens.get(query.get("access_token"))
        if token is None or self.clock() >= token.expires_at:
            raise WeChatError(40001, INVALID_TOKEN)
        if token.scope != "snsapi_userinfo":
            raise WeChatError(48001, "api unauthorized")
        if query.get("openid") != token.person.oa_openid:
            raise WeChatError(40003, "invalid openid")
        # WeChat no longer gives out real nicknames, avatars or regions.
        answer = {"openid": token.person.oa_openid, "nickname": "微信用户", "sex": 0, "province": "", "city": "",
                  "country": "", "headimgurl": "", "privilege": []}
        if token.person.unionid:
            answer["unionid"] = token.person.unionid
        return 200, answer

    def jscode2session(self, request, body):
        query = request.GET
        self._check_app(query.get("appid"), query.get("secret"), (self.mp_appid,))
        if query.get("grant_type") != "authorization_code":
            raise WeChatError(40002, "invalid grant_type")
        now = self.clock()
        while self._jscode_calls and self._jscode_calls[0] <= now - 60:
            self._jscode_calls.popleft()
        if len(self._jscode_calls) >= JSCODE_MINUTE_QUOTA:
            raise WeChatError(45011, "api minute-quota reach limit, must slower, retry next minute")
        self._jscode_calls.append(now)
        person = self._take_code(query.get("js_code"), self.mp_appid).person
        if person.high_risk:
            raise WeChatError(40226, "high risk user")
        answer = {"openid": person.mp_openid, "session_key": base64.b64encode(secrets.token_bytes(16)).decode()}
        if person.unionid:
            answer["unionid"] = person.unionid
        return 200, answer

    # -- access tokens -----------------------------------------------------------------------

    def _issue_token(self, appid, stable):
        value = secrets.token_urlsafe(96)
        self._tokens[value] = _Token(appid, self.clock() + self.token_ttl, stable)
        return value

    def token(self, request, body):
        query = request.GET
        if query.get("grant_type") != "client_credential":
            raise WeChatError(40002, "invalid grant_type")
        appid = query.get("appid")
        self._check_app(appid, query.get("secret"), self.app_secrets)
        # A plain fetch invalidates the app's earlier plain tokens for everyone who holds them.
        for value in [v for v, t in self._tokens.items() if t.appid == appid and not t.stable]:
            del self._tokens[value]
        return 200, {"access_token": self._issue_token(appid, stable=False), "expires_in": self.token_ttl}

    def stable_token(self, request, body):
        if not isinstance(body, dict):
            raise WeChatError(47001, "data format error")
        if body.get("grant_type") != "client_credential":
            raise WeChatError(40002, "invalid grant_type")
        appid = body.get("appid")
        self._check_app(appid, body.get("secret"), self.app_secrets)
        now = self.clock()
        current = self._stable_tokens.get(appid)
        token = self._tokens.get(current)
        if token and now < token.expires_at:
            if not body.get("force_refresh"):
                return 200, {"access_token": current, "expires_in": int(token.expires_at - now)}
            token.expires_at = min(token.expires_at, now + STABLE_GRACE)
        self._stable_tokens[appid] = self._issue_token(appid, stable=True)
        return 200, {"access_token": self._stable_tokens[appid], "expires_in": self.token_ttl}

    # -- OA business APIs (the token was checked by authenticate) ----------------------------

    def menu_create(self, request, body):
        buttons = body.get("button") if isinstance(body, dict) else None
        _check_menu(buttons)
        self.menu = {"button": buttons}
        return 200, {"errcode": 0, "errmsg": "ok"}

    def menu_get(self, request, body):
        if self.menu is None:
            raise WeChatError(46003, "menu no exist")
        return 200, {"menu": self.menu}

    def _recipient(self, body):
        if not isinstance(body, dict):
            raise WeChatError(47001, "data format error")
        person = self.people.get(body.get("touser"))
        if person is None:
            raise WeChatError(40003, "invalid openid")
        return person

    def _deliver(self, kind, body, msgid=None):
        self.sent_messages.append({"kind": kind, "msgid": msgid, "at": self.clock(), **body})

    def template_send(self, request, body):
        person = self._recipient(body)
        if not person.subscribed:
            raise WeChatError(43004, "require subscribe")
        if body.get("template_id") not in self.templates:
            raise WeChatError(40037, "invalid template_id")
        _check_data(body.get("data"))
        # WeChat's only guard against double sends: one message per touser + client_msg_id.
        key = (person.oa_openid, body["client_msg_id"]) if body.get("client_msg_id") else None
        if key in self._msgids:
            raise Replay(200, {"errcode": 0, "errmsg": "ok", "msgid": self._msgids[key]})
        msgid = self._next_msgid
        self._next_msgid += 1
        if key:
            self._msgids[key] = msgid
        self._deliver("template", body, msgid)
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def subscribe_send(self, request, body):
        person = self._recipient(body)
        template_id = body.get("template_id")
        if template_id not in self.templates:
            raise WeChatError(40037, "invalid template_id")
        if template_id not in person.accepted_templates:
            raise WeChatError(43101, "user refuse to accept the msg")
        _check_data(body.get("data"))
        self._deliver("subscribe", body)
        return 200, {"errcode": 0, "errmsg": "ok"}

    def miniprogram_subscribe_send(self, request, body):
        if not isinstance(body, dict):
            raise WeChatError(47001, "data format error")
        person = self._mp_person(body.get("touser"))
        if person is None:
            raise WeChatError(40003, "invalid openid")
        template_id = body.get("template_id")
        if template_id not in self.subscribe_templates:
            raise WeChatError(40037, "invalid template_id")
        if not person.mp_subscriptions.get(template_id):
            raise WeChatError(43101, "user refuse to accept the msg")
        _check_subscribe_data(body.get("data"))
        person.mp_subscriptions[template_id] -= 1  # a one-time subscription allows one message
        self._deliver("miniprogram", body)
        return 200, {"errcode": 0, "errmsg": "ok"}
