"""What we push to the WeChat platform: the Official Account menu and notifications."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .identity import WeChatUser
from .meta import Base, BigId, LabelledEnum, UTCDateTime, status_column, utcnow
from .sync import Synced, SyncState


class OfficialAccountMenu(Synced, Base):
    """One version of the Official Account's custom menu (公众号菜单).

    A version is edited as a draft and published once; the sync state follows the
    menu/create call. The newest synced version is what WeChat users see.
    """

    __tablename__ = "wechat_menus"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    buttons: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(32))
    publish_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    publish_requested_by: Mapped[str | None] = mapped_column(String(32))

    @property
    def state_label(self):
        if self.publish_requested_at is None:
            return "草稿"
        return {"pending": "发布中", "synced": "已发布", "failed": "发布失败"}[self.sync_state.value]


class NotificationKind(LabelledEnum):
    #: Official Account template message (to the OA openid).
    template = "template", "模板消息"
    #: Official Account one-time subscribe notification (bizsend).
    subscribe = "subscribe", "订阅通知"
    #: Mini-program subscribe message (to the mini-program openid), one credit each.
    miniprogram = "miniprogram", "小程序订阅消息"


class Notification(Synced, Base):
    """A message to one WeChat user; ``external_ref`` holds WeChat's msgid once sent.

    ``skipped`` (未发送) records one the user could not be sent (no subscription left).
    """

    __tablename__ = "wechat_notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("wechat_users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[NotificationKind] = mapped_column(status_column(NotificationKind))
    template_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON)
    #: H5 page (template message) or mini-program page to open from the message.
    url: Mapped[str | None] = mapped_column(String(1024))
    page: Mapped[str | None] = mapped_column(String(256))
    #: What the message is about, for people reading the list (e.g. "预约审批通过").
    topic: Mapped[str] = mapped_column(String(64))
    #: What the message is about, once: a second message with the same key is not queued.
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    user: Mapped[WeChatUser] = relationship()

    def mark_skipped(self, reason):
        self.sync_state = SyncState.skipped
        self.sync_error = reason


class Subscription(Base):
    """A mini-program user's one-time subscriptions to a template (订阅消息): each 允许 in
    ``wx.requestSubscribeMessage`` lets us send one message of that template."""

    __tablename__ = "wechat_subscriptions"
    __table_args__ = (UniqueConstraint("user_id", "template_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("wechat_users.id", ondelete="CASCADE"))
    template_id: Mapped[str] = mapped_column(String(64))
    credits: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
