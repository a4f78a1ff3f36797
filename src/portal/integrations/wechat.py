"""The WeChat platform through wechatpy: OAuth, mini-program login, access token, menu, messages.

wechatpy is used with three corrections (see INTEGRATIONS.md):

* base URLs come from settings (the simulator in dev and tests), including the access-token
  URL that ``WeChatClient.fetch_access_token`` hard-codes — we use ``stable_token`` instead;
* the access token is shared by every process through :class:`TokenCache` and refreshed
  under a lock, since each refresh may invalidate the token others hold;
* ``auto_retry`` is off (it recurses without limit on 40001): an invalid token is refreshed
  and the call retried once, here.

Every error becomes a ``TransientError`` or ``PermanentError`` with a Chinese message.
"""

import json
import threading
import time
from contextlib import contextmanager

import requests
from wechatpy import WeChatClient, WeChatOAuth
from wechatpy.exceptions import WeChatClientException, WeChatOAuthException

from portal.settings import CoreSettings

from .base import InstrumentedSession, PermanentError, TransientError

#: errcodes that say the access token is no longer valid.
TOKEN_INVALID = {40001, 40014, 42001}
#: errcodes worth retrying later.
TRANSIENT = {-1, 45009, 45011, 45047} | TOKEN_INVALID

MESSAGES = {
    -1: "微信系统繁忙",
    40003: "用户标识无效",
    40013: "公众号 AppID 无效",
    40016: "菜单按钮数量不符合微信要求",
    40017: "菜单按钮类型无效",
    40018: "菜单按钮名称过长",
    40019: "菜单按钮 KEY 过长",
    40020: "菜单网页地址过长",
    40023: "子菜单数量不符合微信要求",
    40024: "子菜单类型无效",
    40025: "子菜单名称过长",
    40026: "子菜单 KEY 过长",
    40027: "子菜单网页地址过长",
    40054: "子菜单网页地址域名无效",
    40055: "菜单网页地址域名无效",
    40165: "小程序页面路径无效",
    40166: "小程序 AppID 无效",
    40029: "授权码无效或已过期",
    40037: "消息模板编号无效",
    40125: "公众号 AppSecret 无效",
    40163: "授权码已被使用",
    40226: "微信判定为高风险用户，拒绝登录",
    41030: "小程序页面路径无效",
    43004: "用户未关注公众号",
    43101: "用户未订阅该消息",
    45011: "微信接口调用过于频繁",
    47003: "消息参数不符合微信要求",
    48001: "公众号未获得该接口权限",
}

#: Template message values are cut at this many characters.
TEMPLATE_VALUE_LIMIT = 20
#: A mini-program subscribe message's value is cut to its key's type (thing1 → thing): the
#: lengths WeChat allows (subscribeMessage.send, 参数值内容限制).
SUBSCRIBE_VALUE_LIMITS = {
    "thing": 20, "number": 32, "letter": 32, "symbol": 5, "character_string": 32, "phone_number": 17,
    "car_number": 8, "name": 10, "phrase": 5,
}


def describe(errcode, errmsg=""):
    return f"微信返回错误 {errcode}：{MESSAGES.get(errcode, errmsg or '未知错误')}"


def error_for(errcode, errmsg=""):
    kind = TransientError if errcode in TRANSIENT else PermanentError
    return kind(describe(errcode, errmsg), system="wechat", code=errcode)


def cut_values(data, limit=TEMPLATE_VALUE_LIMIT):
    """Template data with every value cut to WeChat's length limit."""
    return {key: {**item, "value": str(item.get("value", ""))[:limit]} for key, item in data.items()}


def value_type(key):
    """The type of a subscribe message's key: ``thing1`` → ``thing``, ``character_string2`` →
    ``character_string``."""
    return key.rstrip("0123456789")


def fit_subscribe_values(data):
    """Subscribe message data with each value cut to its key type's limit."""
    return {
        key: {**item, "value": str(item.get("value", ""))[: SUBSCRIBE_VALUE_LIMITS.get(value_type(key), 20)]}
        for key, item in data.items()
    }


class TokenCache:
    """The access token shared by this process's threads (embedded default)."""

    def __init__(self):
        self._value = None
        self._lock = threading.Lock()

    def get(self):
        token, expires_at = self._value or (None, 0)
        return token if expires_at - time.time() > 60 else None

    def set(self, token, expires_in):
        self._value = (token, time.time() + expires_in)

    @contextmanager
    def lock(self):
        with self._lock:
            yield


class RedisTokenCache(TokenCache):
    """The access token shared by every web process and worker, refreshed under a Redis lock."""

    def __init__(self, client, key):
        self.client = client
        self.key = key

    def get(self):
        value = self.client.get(self.key)
        if value is None:
            return None
        token, expires_at = json.loads(value)
        return token if expires_at - time.time() > 60 else None

    def set(self, token, expires_in):
        self.client.set(self.key, json.dumps([token, time.time() + expires_in]), ex=int(expires_in))

    @contextmanager
    def lock(self):
        with self.client.lock(self.key + ":lock", timeout=30, blocking_timeout=30):
            yield


class _Client(WeChatClient):
    """wechatpy's client pointed at our base URL and our shared token."""

    def __init__(self, appid, secret, api_url, cache, session):
        super().__init__(appid, secret, timeout=session.timeout, auto_retry=False)
        self.API_BASE_URL = api_url + "/cgi-bin/"
        self.api_url = api_url
        self.cache = cache
        self._http = session

    @property
    def access_token(self):
        return self.cache.get() or self.refresh_access_token(stale=None)

    def refresh_access_token(self, stale):
        with self.cache.lock():
            current = self.cache.get()
            if current and current != stale:
                return current  # another process refreshed it meanwhile
            result = self.fetch_access_token()
            return result["access_token"]

    def fetch_access_token(self):
        response = self._http.post(
            self.api_url + "/cgi-bin/stable_token",
            json={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret, "force_refresh": False},
        )
        response.raise_for_status()
        result = response.json()
        if result.get("errcode"):
            raise WeChatClientException(result["errcode"], result.get("errmsg"), client=self)
        self.cache.set(result["access_token"], result.get("expires_in", 7200))
        return result


class WeChatPlatform:
    """What the portal asks of WeChat, for the Official Account (oa) and the mini-program (mp)."""

    def __init__(self, *, oa_appid, oa_secret, mp_appid, mp_secret, api_url, open_url, caches, timeout):
        """``caches(appid)`` → the token cache of that app: each app has its own access token."""
        self.oa_appid, self.oa_secret = oa_appid, oa_secret
        self.mp_appid, self.mp_secret = mp_appid, mp_secret
        self.api_url = api_url.rstrip("/")
        self.open_url = open_url.rstrip("/")
        self.session = InstrumentedSession("wechat", timeout)
        self.client = _Client(oa_appid, oa_secret, self.api_url, caches(oa_appid), self.session)
        self.mp_client = _Client(mp_appid, mp_secret, self.api_url, caches(mp_appid), self.session)

    @classmethod
    def from_settings(cls, settings, caches):
        core = CoreSettings.from_settings(settings)
        return cls(
            **core.wechat_apps(),
            api_url=core.wechat_api_url,
            open_url=core.wechat_open_url,
            caches=caches,
            timeout=(core.http_connect_timeout, core.http_read_timeout),
        )

    # -- logging in (inside the request: the user is waiting) ----------------------------

    def _oauth(self, redirect_uri="", scope="snsapi_base", state=""):
        oauth = WeChatOAuth(self.oa_appid, self.oa_secret, redirect_uri, scope, state)
        oauth.API_BASE_URL = self.api_url + "/"
        oauth.OAUTH_BASE_URL = self.open_url + "/connect/"
        oauth._http = self.session
        return oauth

    def authorize_url(self, redirect_uri, state, scope="snsapi_base"):
        return self._oauth(redirect_uri, scope, state).authorize_url

    def exchange_oauth_code(self, code):
        """The web-authorization code → ``{openid, unionid?, scope, is_snapshotuser?}``."""
        return self._call(lambda: self._oauth().fetch_access_token(code))

    def code_to_session(self, js_code):
        """The mini-program's wx.login() code → ``{openid, session_key, unionid?}``."""

        def call():
            response = self.session.get(
                self.api_url + "/sns/jscode2session",
                params={"appid": self.mp_appid, "secret": self.mp_secret, "js_code": js_code, "grant_type": "authorization_code"},
            )
            response.raise_for_status()
            result = response.json()
            if result.get("errcode"):
                raise WeChatClientException(result["errcode"], result.get("errmsg"))
            return result

        return self._call(call)

    # -- pushes (from actors) -------------------------------------------------------------

    def create_menu(self, buttons):
        return self._call(lambda: self.client.menu.create({"button": buttons}), self.client)

    def get_menu(self):
        return self._call(lambda: self.client.menu.get(), self.client)

    def send_template(self, openid, template_id, data, *, url=None, miniprogram=None, client_msg_id=None):
        body = {"touser": openid, "template_id": template_id, "data": cut_values(data)}
        if url:
            body["url"] = url
        if miniprogram:
            body["miniprogram"] = miniprogram
        if client_msg_id:
            body["client_msg_id"] = client_msg_id[:64]
        result = self._call(lambda: self.client.post("message/template/send", data=body), self.client)
        return result.get("msgid")

    def send_subscribe(self, openid, template_id, data, *, page=None, miniprogram=None):
        body = {"touser": openid, "template_id": template_id, "data": cut_values(data)}
        if page:
            body["page"] = page
        if miniprogram:
            body["miniprogram"] = miniprogram
        return self._call(lambda: self.client.post("message/subscribe/bizsend", data=body), self.client)

    def send_miniprogram_subscribe(self, openid, template_id, data, *, page=None):
        """A mini-program subscribe message (subscribeMessage.send) to its mini-program openid,
        with the mini-program's own access token; each uses one of the user's subscriptions."""
        body = {"touser": openid, "template_id": template_id, "data": fit_subscribe_values(data)}
        if page:
            body["page"] = page
        return self._call(lambda: self.mp_client.post("message/subscribe/send", data=body), self.mp_client)

    # -- errors -------------------------------------------------------------------------------

    def _call(self, call, token_of=None):
        """Run ``call``; ``token_of`` is the client whose access token it uses (refreshed once
        when WeChat says it is no longer valid)."""
        for attempt in (1, 2):
            try:
                return call()
            except (WeChatClientException, WeChatOAuthException) as exc:
                errcode = exc.errcode
                if errcode is None:  # an HTTP error status from wechatpy's raise_for_status
                    status = getattr(getattr(exc, "response", None), "status_code", None)
                    kind = PermanentError if status and 400 <= status < 500 and status != 429 else TransientError
                    raise kind(f"微信平台返回 HTTP {status}", system="wechat", status=status) from exc
                if token_of is not None and errcode in TOKEN_INVALID and attempt == 1:
                    # The cached token is the one just refused: replace it, then try once more.
                    token_of.refresh_access_token(stale=token_of.cache.get())
                    continue
                raise error_for(int(errcode), exc.errmsg) from exc
            except requests.HTTPError as exc:
                status = exc.response.status_code
                kind = PermanentError if 400 <= status < 500 and status != 429 else TransientError
                raise kind(f"微信平台返回 HTTP {status}", system="wechat", status=status) from exc
            except requests.Timeout as exc:
                raise TransientError("微信平台响应超时", system="wechat") from exc
            except requests.ConnectionError as exc:
                raise TransientError("无法连接微信平台", system="wechat") from exc
