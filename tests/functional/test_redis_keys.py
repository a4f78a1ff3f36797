"""The app's own Redis keys carry ``portal.redis_prefix``, so installations and test runs can
share a Redis database (the broker's carry ``portal.broker_namespace``)."""

import secrets
import time

from portal.integrations.contract import signature
from portal.messaging import runtime

PATH = "/api/le/events"


def test_a_replayed_signed_request_is_refused_by_a_nonce_kept_under_the_prefix(testapp, settings):
    body = b'{"event_id": "evt-replay", "type": "lanes.updated", "occurred_at": "2026-01-01T00:00:00+08:00"}'
    ts, nonce = str(int(time.time())), secrets.token_hex(8)
    key = settings["portal.le_app_key"]
    headers = {
        "Content-Type": "application/json", "X-Portal-Key": key, "X-Portal-Timestamp": ts, "X-Portal-Nonce": nonce,
        "X-Portal-Signature": signature(settings["portal.le_app_secret"], "POST", PATH, ts, nonce, body),
    }
    testapp.post(PATH, body, headers=headers, status=422)  # signed, then refused for its missing data
    assert runtime().redis.exists(f"{settings['portal.redis_prefix']}:nonce:{key}:{nonce}")
    replay = testapp.post(PATH, body, headers=headers, status=401).json
    assert replay["error"]["code"] == "AUTH_REPLAY"


def test_the_shared_wechat_token_is_kept_under_the_prefix(settings):
    cache = runtime().wechat().client.cache
    assert cache.key == f"{settings['portal.redis_prefix']}:wechat-token:{settings['portal.wechat_appid']}"
