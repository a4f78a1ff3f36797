"""WeChat users: logging in, tokens, and what admins may change about them (微信用户)."""

import secrets
from datetime import timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from portal import validation
from portal.integrations.base import IntegrationError, PermanentError
from portal.integrations.wechat import WeChatPlatform
from portal.models.admin import AdminUser
from portal.models.identity import ApiToken, UserStatus, WeChatUser
from portal.models.meta import utcnow
from portal.refusal import Refusal
from portal.security import token_hash

from . import audit

TOKEN_LIFETIME = timedelta(days=7)
DISPLAY_NAME_MAX = 32


#: WeChat errcodes the user can fix by starting over, with what to tell them.
_CODE_PROBLEMS = {
    40029: ("code_invalid", "授权码无效或已过期，请重新进入页面"),
    40163: ("code_used", "授权码已被使用，请重新进入页面"),
    40226: ("high_risk_user", "微信判定当前账号存在风险，暂时无法登录"),
}


def _wechat_failure(exc: IntegrationError) -> Refusal:
    if isinstance(exc, PermanentError) and exc.code in _CODE_PROBLEMS:
        code, message = _CODE_PROBLEMS[exc.code]
        return Refusal(code, message, status=400 if exc.code != 40226 else 403)
    return Refusal("wechat_unavailable", "微信登录暂时不可用，请稍后再试", status=503)


def _find_or_create(db: Session, *, openid_field: str, openid: str, unionid: str | None) -> WeChatUser:
    column = getattr(WeChatUser, openid_field)
    match = [column == openid] + ([WeChatUser.unionid == unionid] if unionid else [])
    user = db.scalars(select(WeChatUser).where(or_(*match)).with_for_update()).first()
    now = utcnow()
    if user is None:
        user = WeChatUser(status=UserStatus.active, is_staff=False, first_login_at=now, login_count=0)
        db.add(user)
    setattr(user, openid_field, openid)
    if unionid:
        user.unionid = unionid
    if not user.is_active:
        db.flush()
        raise Refusal("account_disabled", "您的账号已被停用，如有疑问请联系管理员", status=403)
    user.last_login_at = now
    user.login_count += 1
    db.flush()
    return user


def issue_token(db: Session, user: WeChatUser, channel: str, session_key: str | None = None) -> tuple[str, ApiToken]:
    """A new opaque token for ``user``; only its hash is stored. Returns (plaintext, record)."""
    token = secrets.token_urlsafe(32)
    record = ApiToken(
        token_hash=token_hash(token), user=user, channel=channel, wechat_session_key=session_key,
        expires_at=utcnow() + TOKEN_LIFETIME,
    )
    db.add(record)
    db.flush()
    return token, record


def login_with_oauth(db: Session, platform: WeChatPlatform, code: str | None) -> tuple[WeChatUser, str, ApiToken]:
    """Official Account web authorization: code → user and a new token."""
    if not code:
        raise Refusal("code_missing", "缺少授权码，请从公众号菜单重新进入")
    try:
        result = platform.exchange_oauth_code(code)
    except IntegrationError as exc:
        raise _wechat_failure(exc) from exc
    if str(result.get("is_snapshotuser", 0)) == "1":
        raise Refusal("snapshot_user", "请在微信中打开页面并点击“使用完整服务”后登录", status=403)
    user = _find_or_create(db, openid_field="oa_openid", openid=result["openid"], unionid=result.get("unionid"))
    return (user, *issue_token(db, user, "oauth"))


def login_with_miniprogram(db: Session, platform: WeChatPlatform, js_code: str | None) -> tuple[WeChatUser, str, ApiToken]:
    """Mini-program login: wx.login() code → user and a new token; session_key stays here."""
    if not js_code:
        raise Refusal("code_missing", "缺少登录凭证 code")
    try:
        result = platform.code_to_session(js_code)
    except IntegrationError as exc:
        raise _wechat_failure(exc) from exc
    user = _find_or_create(db, openid_field="mp_openid", openid=result["openid"], unionid=result.get("unionid"))
    return (user, *issue_token(db, user, "miniprogram", session_key=result.get("session_key")))


def revoke_token(db: Session, token_id: int) -> None:
    db.get(ApiToken, token_id).revoked_at = utcnow()


def set_display_name(user: WeChatUser, name: str | None) -> None:
    """称呼: free text (a nickname may have emoji), without invisible control characters."""
    name = (name or "").strip()
    problem = (
        "请填写称呼" if not name
        else f"称呼不能超过 {DISPLAY_NAME_MAX} 个字" if len(name) > DISPLAY_NAME_MAX
        else "称呼含有不可见的控制字符，请删除后重试" if validation.hidden_characters(name)
        else None
    )
    if problem:
        raise Refusal("invalid", problem, {"display_name": problem})
    user.display_name = name


def roles(user: WeChatUser) -> list[str]:
    """What the mini-program builds its menu from; later domains add driver / employee."""
    return ["visitor"] + (["staff"] if user.is_staff else [])


# -- admin actions on WeChat users (公众号用户管理) -----------------------------------------


def user_list(*, search: str | None = None, status: UserStatus | None = None, staff: bool | None = None) -> Select:
    """Every WeChat user who logged in, most recent first: by name or an exact openid / unionid."""
    query = select(WeChatUser).order_by(WeChatUser.last_login_at.desc(), WeChatUser.id.desc())
    if search:
        like = f"%{search}%"
        query = query.where(
            or_(
                WeChatUser.display_name.ilike(like), WeChatUser.oa_openid == search, WeChatUser.mp_openid == search,
                WeChatUser.unionid == search,
            )
        )
    if status is not None:
        query = query.where(WeChatUser.status == status)
    if staff is not None:
        query = query.where(WeChatUser.is_staff.is_(staff))
    return query


def _snapshot(user: WeChatUser) -> dict:
    return {"status": user.status.value, "is_staff": user.is_staff}


def _change(
    db: Session, user: WeChatUser, admin: AdminUser, action: str, summary: str, ip: str | None, note: str | None = None, **changes
) -> bool:
    before = _snapshot(user)
    for name, value in changes.items():
        setattr(user, name, value)
    after = _snapshot(user)
    if before == after:
        return False
    audit.record(
        db, admin, action, target_type="wechat_user", target_id=user.id,
        summary=f"{summary}：{user.display_name or user.openid_masked}", before=before, after=after, ip=ip, note=note,
    )
    return True


def disable_user(db: Session, user: WeChatUser, admin: AdminUser, *, ip: str | None = None, note: str | None = None) -> bool:
    return _change(db, user, admin, "wechat_user.disable", "停用用户", ip, note, status=UserStatus.disabled)


def enable_user(db: Session, user: WeChatUser, admin: AdminUser, *, ip: str | None = None, note: str | None = None) -> bool:
    return _change(db, user, admin, "wechat_user.enable", "启用用户", ip, note, status=UserStatus.active)


def grant_staff(db: Session, user: WeChatUser, admin: AdminUser, *, ip: str | None = None, note: str | None = None) -> bool:
    return _change(db, user, admin, "wechat_user.grant_staff", "授予内部工作人员权限", ip, note, is_staff=True)


def revoke_staff(db: Session, user: WeChatUser, admin: AdminUser, *, ip: str | None = None, note: str | None = None) -> bool:
    return _change(db, user, admin, "wechat_user.revoke_staff", "撤销内部工作人员权限", ip, note, is_staff=False)
