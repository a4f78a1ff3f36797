"""WeChat users and the API tokens we issue them (微信用户与登录凭证)."""

from datetime import datetime

from sqlalchemy import BigInteger, FetchedValue, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, BigId, LabelledEnum, UTCDateTime, status_column, utcnow


class UserStatus(LabelledEnum):
    active = "active", "正常"
    disabled = "disabled", "已停用"


class WeChatUser(Base):
    """A person who logged in through the Official Account or the mini-program.

    WeChat gives each app its own openid for the same person; the unionid (present when both
    apps belong to one open-platform account) links them into one user.
    """

    __tablename__ = "wechat_users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    oa_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    mp_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: The name the user gave us; WeChat no longer hands out real nicknames.
    display_name: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[UserStatus] = mapped_column(status_column(UserStatus), default=UserStatus.active)
    #: 内部工作人员: may approve visitor reservations.
    is_staff: Mapped[bool] = mapped_column(default=False)
    first_login_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    login_count: Mapped[int] = mapped_column(Integer, default=0)
    #: Changes with everything the user's own lists show (their bookings, …): kept by database
    #: triggers (migration 0005), never written here. Cached answers key on it (portal.caching).
    data_version: Mapped[int] = mapped_column(BigInteger, server_default=FetchedValue(), server_onupdate=FetchedValue())

    @property
    def is_active(self):
        return self.status is UserStatus.active

    @property
    def openid_masked(self):
        openid = self.oa_openid or self.mp_openid or ""
        return openid[:6] + "…" + openid[-4:] if len(openid) > 10 else openid


class ApiToken(Base):
    """An opaque bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("wechat_users.id", ondelete="CASCADE"), index=True)
    #: "oauth" (H5 in the Official Account) or "miniprogram".
    channel: Mapped[str] = mapped_column(String(16))
    #: The mini-program's session_key: kept here, never sent to the client.
    wechat_session_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[WeChatUser] = relationship(lazy="joined")
