"""Our signed JSON contract for the systems whose vendor API we do not have yet.

The systems without a public API speak it until their vendors' APIs arrive; only the adapter
in this package changes then. See docs/contract.md.

Signature: Base64(HMAC-SHA256(app_secret, string_to_sign)) where string_to_sign is
``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nSHA256_HEX(BODY)``.
"""

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import urlsplit

from portal.settings import SystemSettings

from .base import HttpClient

MAX_CLOCK_SKEW = 300


def string_to_sign(method, path_qs, timestamp, nonce, body):
    digest = hashlib.sha256(body or b"").hexdigest()
    return "\n".join([method.upper(), path_qs, str(timestamp), nonce, digest])


def signature(secret, method, path_qs, timestamp, nonce, body):
    mac = hmac.new(secret.encode(), string_to_sign(method, path_qs, timestamp, nonce, body).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


class SignatureError(Exception):
    """A request that fails our contract's authentication; ``code`` is the wire error code."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def verify(*, headers, method, path_qs, body, secret_for, nonce_seen, now=None):
    """Check an incoming signed request; raise SignatureError when it must be refused.

    ``secret_for(app_key)`` returns the secret or None; ``nonce_seen(app_key, nonce)`` returns
    True when the nonce was used before (and remembers it otherwise).
    """
    now = time.time() if now is None else now
    key = headers.get("X-Portal-Key")
    timestamp = headers.get("X-Portal-Timestamp")
    nonce = headers.get("X-Portal-Nonce")
    given = headers.get("X-Portal-Signature")
    if not (key and timestamp and nonce and given):
        raise SignatureError("AUTH_MISSING", "missing signature headers")
    secret = secret_for(key)
    if secret is None:
        raise SignatureError("AUTH_UNKNOWN_KEY", "unknown app key")
    try:
        skew = abs(now - int(timestamp))
    except ValueError:
        raise SignatureError("AUTH_BAD_TIMESTAMP", "timestamp is not an integer") from None
    if skew > MAX_CLOCK_SKEW:
        raise SignatureError("AUTH_STALE", "timestamp outside ±5 minutes")
    expected = signature(secret, method, path_qs, timestamp, nonce, body)
    if not hmac.compare_digest(expected, given):
        raise SignatureError("AUTH_BAD_SIGNATURE", "signature mismatch")
    if nonce_seen(key, nonce):
        raise SignatureError("AUTH_REPLAY", "nonce already used")


class ContractClient(HttpClient):
    """Client of one contract system; writes carry an ``Idempotency-Key``.

    ``label`` names the system in the messages people read (同步失败 reasons, dead letters).
    """

    label = None

    def __init__(self, system, base_url, app_key, app_secret, *, label=None, **kwargs):
        self.system = system
        super().__init__(base_url, **kwargs)
        self.label = label or type(self).label or system
        self.app_key = app_key
        self.app_secret = app_secret

    @classmethod
    def from_settings(cls, settings, system, *, label=None):
        own = SystemSettings.of(settings, system)
        missing = [name for name in ("url", "app_key", "app_secret") if not getattr(own, name)]
        if missing:
            raise ValueError(f"settings portal.{system}_{{{','.join(missing)}}} are not set")
        return cls(
            system, own.url, own.app_key, own.app_secret, label=label,
            connect_timeout=own.connect_timeout, read_timeout=own.read_timeout,
        )

    def sign(self, request):
        split = urlsplit(request.url)
        path_qs = split.path + (f"?{split.query}" if split.query else "")
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(16)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        request.headers.update(
            {
                "X-Portal-Key": self.app_key,
                "X-Portal-Timestamp": timestamp,
                "X-Portal-Nonce": nonce,
                "X-Portal-Signature": signature(self.app_secret, request.method, path_qs, timestamp, nonce, body),
            }
        )
        return request

    def write(self, path, payload, *, idempotency_key):
        """POST a write; a repeated key returns the first result instead of a second effect."""
        response = self.request("POST", path, json_body=payload, headers={"Idempotency-Key": idempotency_key})
        return response.json()

    def read(self, path, params=None):
        return self.request("GET", path, params=params).json()

    def connectivity_check(self, *, idempotency_key, note=None):
        return self.write("/v1/connectivity-checks", {"note": note or ""}, idempotency_key=idempotency_key)
