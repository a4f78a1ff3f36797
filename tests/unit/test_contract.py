import time

import pytest

from portal.integrations.contract import SignatureError, signature, verify

SECRET = "k-secret"


def _headers(method="POST", path="/v1/x", body=b'{"a":1}', ts=None, nonce="n1", key="k", secret=SECRET):
    ts = str(int(time.time()) if ts is None else ts)
    return {
        "X-Portal-Key": key,
        "X-Portal-Timestamp": ts,
        "X-Portal-Nonce": nonce,
        "X-Portal-Signature": signature(secret, method, path, ts, nonce, body),
    }


def _verify(headers, body=b'{"a":1}', path="/v1/x", seen=None):
    seen = set() if seen is None else seen

    def nonce_seen(key, nonce):
        if (key, nonce) in seen:
            return True
        seen.add((key, nonce))
        return False

    verify(headers=headers, method="POST", path_qs=path, body=body, secret_for={"k": SECRET}.get, nonce_seen=nonce_seen)


def test_a_correctly_signed_request_passes():
    _verify(_headers())


@pytest.mark.parametrize(
    "make_headers, body, code",
    [
        (lambda: {"X-Portal-Key": "k"}, b"", "AUTH_MISSING"),
        (lambda: _headers(key="other"), b'{"a":1}', "AUTH_UNKNOWN_KEY"),
        (lambda: _headers(ts="soon"), b'{"a":1}', "AUTH_BAD_TIMESTAMP"),
        (lambda: _headers(ts=int(time.time()) - 301), b'{"a":1}', "AUTH_STALE"),
        (lambda: _headers(ts=int(time.time()) + 400), b'{"a":1}', "AUTH_STALE"),
        (lambda: _headers(), b'{"a":2}', "AUTH_BAD_SIGNATURE"),
        (lambda: _headers(secret="wrong"), b'{"a":1}', "AUTH_BAD_SIGNATURE"),
    ],
)
def test_bad_requests_are_refused_with_their_reason(make_headers, body, code):
    with pytest.raises(SignatureError) as caught:
        _verify(make_headers(), body=body)
    assert caught.value.code == code


def test_a_replayed_nonce_is_refused():
    seen = set()
    headers = _headers()
    _verify(headers, seen=seen)
    with pytest.raises(SignatureError) as caught:
        _verify(headers, seen=seen)
    assert caught.value.code == "AUTH_REPLAY"


def test_the_path_and_query_are_signed():
    with pytest.raises(SignatureError):
        _verify(_headers(path="/v1/x?id=1"), path="/v1/x?id=2")
