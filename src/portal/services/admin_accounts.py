"""Admin accounts: passwords, login with lockout and rate limiting, sessions (后台账号)."""

import re
import secrets
from collections.abc import Iterable
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from portal.models.admin import AdminSession, AdminUser, LoginAttempt
from portal.models.meta import utcnow
from portal.refusal import Refusal
from portal.security import token_hash

from . import audit

_hasher = PasswordHasher()
#: Consecutive failures before an account is locked, and for how long.
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=15)
#: Failures from one address within the window before it is refused.
ADDRESS_LIMIT = 20
ADDRESS_WINDOW = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
USERNAME = re.compile(r"^[a-z0-9_.-]{3,32}$")
MIN_PASSWORD = 10


def _invalid(field: str, message: str) -> Refusal:
    return Refusal("invalid", message, {field: message})


def validate_password(password: str | None) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise _invalid("password", f"密码至少 {MIN_PASSWORD} 位")
    if password.isdigit() or password.isalpha():
        raise _invalid("password", "密码须同时包含字母和数字或符号")


def create_admin(
    db: Session, *, username: str, display_name: str, password: str, areas: list[str], known_areas: Iterable[str],
    by: AdminUser | None = None, ip: str | None = None,
) -> AdminUser:
    """A new admin managing ``areas``, each one of ``known_areas`` (the catalogue's admin areas)."""
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise _invalid("username", "用户名须为 3–32 位小写字母、数字或 _ . -")
    if db.scalar(select(AdminUser).where(AdminUser.username == username)):
        raise _invalid("username", "该用户名已存在")
    display_name = (display_name or "").strip() or username
    if len(display_name) > 32:
        raise _invalid("display_name", "姓名不能超过 32 个字")
    unknown = set(areas) - set(known_areas)
    if unknown or not areas:
        raise _invalid("areas", "请至少选择一个有效的管理范围")
    validate_password(password)
    admin = AdminUser(
        username=username, display_name=display_name, password_hash=_hasher.hash(password), areas=sorted(set(areas))
    )
    db.add(admin)
    db.flush()
    audit.record(
        db, by, "admin.create", target_type="admin", target_id=admin.id, summary=f"创建管理员 {username}",
        after={"username": username, "areas": admin.areas}, ip=ip,
    )
    return admin


def update_admin(
    db: Session, admin: AdminUser, *, by: AdminUser, known_areas: Iterable[str], areas: list[str] | None = None,
    is_active: bool | None = None, password: str | None = None, ip: str | None = None,
) -> AdminUser:
    # Validate everything first: a refused change leaves the account untouched.
    if areas is not None and (set(areas) - set(known_areas) or not areas):
        raise _invalid("areas", "请至少选择一个有效的管理范围")
    if is_active is False and admin.id == by.id:
        raise _invalid("is_active", "不能停用自己的账号")
    if password:
        validate_password(password)
    before = {"areas": list(admin.areas), "is_active": admin.is_active}
    if areas is not None:
        admin.areas = sorted(set(areas))
    if is_active is not None:
        admin.is_active = is_active
    if password:
        admin.password_hash = _hasher.hash(password)
        admin.failed_logins = 0
        admin.locked_until = None
    if not admin.is_active or password:
        end_all_sessions(db, admin)
    after = {"areas": list(admin.areas), "is_active": admin.is_active}
    audit.record(
        db, by, "admin.update", target_type="admin", target_id=admin.id, summary=f"修改管理员 {admin.username}",
        before=before, after={**after, **({"password": "已重置"} if password else {})}, ip=ip,
    )
    return admin


def authenticate(db: Session, username: str, password: str, *, ip: str) -> AdminUser:
    """The admin for these credentials, or a Refusal with a message safe to show."""
    now = utcnow()
    username = (username or "").strip().lower()
    recent_failures = db.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.ip == ip, LoginAttempt.succeeded.is_(False), LoginAttempt.at > now - ADDRESS_WINDOW)
    )
    if recent_failures >= ADDRESS_LIMIT:
        raise Refusal("address_locked", "登录失败次数过多，请 15 分钟后再试")
    admin = db.scalar(select(AdminUser).where(AdminUser.username == username).with_for_update())
    if admin is not None and admin.locked_until and admin.locked_until > now:
        db.add(LoginAttempt(username=username, ip=ip, succeeded=False))
        minutes = int((admin.locked_until - now).total_seconds() // 60) + 1
        raise Refusal("account_locked", f"账号已被临时锁定，请 {minutes} 分钟后再试")
    valid = False
    if admin is not None:
        try:
            valid = _hasher.verify(admin.password_hash, password or "")
        except (VerificationError, InvalidHashError):
            valid = False
    else:
        _hasher.hash(password or "")  # same work either way: usernames cannot be probed by timing
    db.add(LoginAttempt(username=username, ip=ip, succeeded=valid and admin.is_active))
    if not valid:
        if admin is not None:
            admin.failed_logins += 1
            if admin.failed_logins >= LOCK_AFTER:
                admin.locked_until = now + LOCK_FOR
                admin.failed_logins = 0
        raise Refusal("bad_credentials", "用户名或密码错误")
    if not admin.is_active:
        raise Refusal("account_disabled", "该账号已停用，请联系超级管理员")
    admin.failed_logins = 0
    admin.locked_until = None
    admin.last_login_at = now
    if _hasher.check_needs_rehash(admin.password_hash):
        admin.password_hash = _hasher.hash(password)
    return admin


def account_list() -> Select:
    return select(AdminUser).order_by(AdminUser.username)


def start_session(db: Session, admin: AdminUser, *, ip: str, user_agent: str | None) -> str:
    """A new session (a new id at every login); returns the cookie's token."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(
        AdminSession(
            token_hash=token_hash(token), admin_id=admin.id, created_at=now, last_seen_at=now,
            expires_at=now + SESSION_LIFETIME, ip=ip, user_agent=(user_agent or "")[:300],
        )
    )
    return token


def end_session(db: Session, session: AdminSession) -> None:
    session.revoked_at = utcnow()


def end_all_sessions(db: Session, admin: AdminUser) -> None:
    db.execute(
        update(AdminSession)
        .where(AdminSession.admin_id == admin.id, AdminSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
