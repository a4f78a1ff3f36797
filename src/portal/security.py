"""Who is calling, and what they may do.

Two kinds of callers:

* WeChat users call ``/api/…`` with ``Authorization: Bearer <token>`` (mini-program), or from
  H5 pages with the token kept in our signed session cookie; a cookie-authenticated unsafe
  request must also carry ``X-CSRF-Token``.
* Admins use ``/admin/…`` with a server-side session (``admin_sessions``) whose token is in
  the ``portal_admin`` cookie.

Permissions: ``wechat`` (any active WeChat user), ``staff`` (内部工作人员), ``admin`` (any
admin) and ``admin:<area>`` for the admin areas (super-admin has all).
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from pyramid.csrf import SessionCSRFStoragePolicy, check_csrf_token
from pyramid.security import Allowed, Denied
from pyramid.session import SignedCookieSessionFactory
from sqlalchemy import bindparam, select, update

from .models.admin import AdminSession
from .models.identity import ApiToken, UserStatus, WeChatUser
from .models.meta import utcnow

ADMIN_COOKIE = "portal_admin"
SESSION_COOKIE = "portal_session"
#: Writes of last-seen times are throttled to keep reads read-only.
TOUCH_EVERY = timedelta(minutes=5)


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _bearer(request):
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def wechat_token(request):
    """The API token of this request and where it came from, or (None, None)."""
    token = _bearer(request)
    if token:
        return token, "bearer"
    token = request.session.get("wechat_token")
    if token:
        if request.method not in ("GET", "HEAD", "OPTIONS") and not check_csrf_token(
            request, token="csrf_token", header="X-CSRF-Token", raises=False
        ):
            return None, None
        return token, "cookie"
    return None, None


def csrf_refused(request):
    """An H5 session's write without a valid ``X-CSRF-Token``: the page is stale, the login may
    be fine — answered 403 ``csrf`` rather than 401, which would send the page to log in again
    and lose what the user typed."""
    return (
        _bearer(request) is None
        and request.method not in ("GET", "HEAD", "OPTIONS")
        and bool(request.session.get("wechat_token"))
        and not check_csrf_token(request, token="csrf_token", header="X-CSRF-Token", raises=False)
    )


@dataclass(frozen=True)
class WeChatIdentity:
    """The WeChat user calling, read as plain columns in one query: every API request pays for
    it, and ORM objects for the token and the user would cost more than the query itself.
    Views that need the user itself ask for ``request.wechat_user``."""

    token_id: int
    user_id: int
    is_active: bool
    is_staff: bool
    #: WeChatUser.data_version: the key of the user's cached lists.
    data_version: int


# Built once: on every request, building the statement would cost as much as running it.
_TOKEN = (
    select(
        ApiToken.id, ApiToken.user_id, ApiToken.expires_at, ApiToken.revoked_at, ApiToken.last_used_at,
        WeChatUser.status, WeChatUser.is_staff, WeChatUser.data_version,
    )
    .join(WeChatUser, WeChatUser.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)
_ADMIN_SESSION = select(AdminSession).where(AdminSession.token_hash == bindparam("token_hash"))


def _wechat(request):
    """The WeChatIdentity of this request's API token, or None."""
    token, _ = wechat_token(request)
    if token is None:
        return None
    now = utcnow()
    # Columns only: run on the session's connection, without the ORM's execution layer — after
    # a flush, so that the session's own pending changes (a revoked token) count, as they would.
    db = request.dbsession
    db.flush()
    row = db.connection().execute(_TOKEN, {"token_hash": token_hash(token)}).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
        # Through the session, which marks the transaction as changed: it commits, not rolls back.
        db.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return WeChatIdentity(
        token_id=row.id, user_id=row.user_id, is_active=row.status is UserStatus.active, is_staff=row.is_staff,
        data_version=row.data_version,
    )


def _wechat_user(request):
    """The calling WeChatUser (an ORM object), for views that show or change it."""
    identity = request.wechat_identity
    return None if identity is None else request.dbsession.get(WeChatUser, identity.user_id)


def _admin(request):
    """The AdminSession (with its admin) of this request, or None."""
    token = request.cookies.get(ADMIN_COOKIE)
    if not token:
        return None
    now = utcnow()
    record = request.dbsession.scalar(_ADMIN_SESSION, {"token_hash": token_hash(token)})
    if record is None or record.revoked_at is not None or record.expires_at <= now or not record.admin.is_active:
        return None
    if now - record.last_seen_at > TOUCH_EVERY:
        record.last_seen_at = now
    return record


class SecurityPolicy:
    def identity(self, request):
        if request.path_info.startswith("/admin"):
            return request.admin_session
        return request.wechat_identity

    def authenticated_userid(self, request):
        identity = self.identity(request)
        if isinstance(identity, AdminSession):
            return f"admin:{identity.admin_id}"
        if isinstance(identity, WeChatIdentity):
            return f"wechat:{identity.user_id}"
        return None

    def permits(self, request, context, permission):
        if permission == "admin" or permission.startswith("admin:"):
            session = request.admin_session
            if session is None:
                return Denied("not logged in")
            area = permission.partition(":")[2]
            return Allowed("area") if not area or session.admin.may(area) else Denied("area")
        if permission in ("wechat", "staff"):
            identity = request.wechat_identity
            if identity is None:
                return Denied("not logged in")
            if not identity.is_active:
                return Denied("account disabled")
            if permission == "staff" and not identity.is_staff:
                return Denied("not staff")
            return Allowed(permission)
        return Denied(f"unknown permission {permission}")

    def remember(self, request, userid, **kw):
        return []

    def forget(self, request, **kw):
        return []


def includeme(config):
    settings = config.registry.catalogue.settings
    secure, secret = settings.secure_cookies, settings.session_secret
    if not secret or len(secret) < 32:
        raise ValueError("PORTAL_SESSION_SECRET must be set to at least 32 random characters")
    config.set_session_factory(
        SignedCookieSessionFactory(
            secret,
            cookie_name=SESSION_COOKIE,
            secure=secure,
            httponly=True,
            samesite="Lax",
            timeout=12 * 3600,
            reissue_time=600,
        )
    )
    config.set_csrf_storage_policy(SessionCSRFStoragePolicy())
    # Every unsafe request to a view needs the CSRF token unless the view opts out
    # (JSON API views do: they authenticate by bearer token or check X-CSRF-Token above).
    config.set_default_csrf_options(require_csrf=True)
    config.set_security_policy(SecurityPolicy())
    config.add_request_method(_wechat, "wechat_identity", reify=True)
    config.add_request_method(_wechat_user, "wechat_user", reify=True)
    config.add_request_method(_admin, "admin_session", reify=True)
