"""Our contract's signature written from docs/contract.md alone, for checking our code against.

It shares nothing with ``portal.integrations.contract``: HMAC is RFC 2104 by hand on
hashlib's SHA-256 (not the ``hmac`` module), the string to sign is built from the document's
formula. ``KNOWN_ANSWERS`` were computed once by OpenSSL, outside Python::

    h=$(printf '%s' "$BODY" | sha256sum | cut -d' ' -f1)
    printf '%s\\n%s\\n%s\\n%s\\n%s' "$METHOD" "$PATH_QS" "$TS" "$NONCE" "$h" \\
        | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
"""

import base64
import hashlib
import secrets
import time

_BLOCK = 64  # SHA-256's block size in bytes


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """RFC 2104: H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ message))."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key) + message).digest()
    return hashlib.sha256(bytes(b ^ 0x5C for b in key) + inner).digest()


def sign(secret: str, method: str, path_qs: str, timestamp: str, nonce: str, body: bytes) -> str:
    """``Base64(HMAC-SHA256(app_secret, METHOD\\nPATH[?QUERY]\\nTIMESTAMP\\nNONCE\\nhex(SHA-256(body))))``."""
    string_to_sign = f"{method}\n{path_qs}\n{timestamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}"
    return base64.b64encode(hmac_sha256(secret.encode(), string_to_sign.encode())).decode()


def headers(key: str, secret: str, method: str, path_qs: str, body: bytes) -> dict:
    """The four headers of a request signed now."""
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    return {
        "X-Portal-Key": key, "X-Portal-Timestamp": timestamp, "X-Portal-Nonce": nonce,
        "X-Portal-Signature": sign(secret, method, path_qs, timestamp, nonce, body),
    }


#: (secret, method, path?query, timestamp, nonce, body, signature) — computed by OpenSSL.
KNOWN_ANSWERS = [
    ("test-le-secret", "POST", "/v1/connectivity-checks", "1764000000", "0123456789abcdef0123456789abcdef",
     '{"note":"连通性检测"}'.encode(), "hO1OJvVXUQAA7+Gs6I05ayIfXJv8XMC8sZhab8cKj7Y="),
    ("test-le-secret", "GET", "/v1/outbound-orders?driver_id=12", "1764000300", "fedcba9876543210fedcba9876543210",
     b"", "iVNeIGifl9dt+ALKAYkoNe+ZFLgagjfobdUovtnpLN4="),
    ("dev-le-secret", "POST", "/sim/le/v1/bookings/5/cancel", "1764000600", "00000000000000000000000000000001",
     b'{"reason":"expired","note":""}', "x95D7Wky7hb5mwsBj0hv8eJhePfc2wBoDnPJSQuLEww="),
    ("test-le-secret", "POST", "/api/le/events", "1764000900", "abcdefabcdefabcdefabcdefabcdefab",
     b'{"event_id":"evt-1","type":"truck.entered","occurred_at":"2026-11-26T09:00:00+08:00","data":{"booking_id":5}}',
     "rCyN/qaqGzKqIw5gQpZTVeGeilmxw2mzCI/H96KFFSs="),
]
