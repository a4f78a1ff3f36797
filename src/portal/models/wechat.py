"""What we push to the WeChat platform: the Official Account menu and notifications."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .identity import WeChatUser
from .meta import Base, BigId, LabelledEnum, UTCDateTime, status_column, utcnow
from .sync import Synced


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
    template = "template", "模板消息"
    subscribe = "subscribe", "订阅通知"


class Notification(Synced, Base):
    """A message to one WeChat user; ``external_ref`` holds WeChat's msgid once sent."""

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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    user: Mapped[WeChatUser] = relationship()
