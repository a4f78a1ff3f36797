"""Telling WeChat users what happened: template messages and subscribe notifications (消息通知).

Later domains call :func:`notify` in the transaction of the change they report; the actor
sends it after commit.
"""

from sqlalchemy.orm import Session

from portal import outbox
from portal.models.identity import WeChatUser
from portal.models.wechat import Notification, NotificationKind


def notify(
    db: Session, user: WeChatUser, *, topic: str, template_id: str, data: dict,
    kind: NotificationKind = NotificationKind.template, url: str | None = None, page: str | None = None,
) -> Notification:
    """Queue one message to ``user``. ``data`` is ``{key: value}``; values are cut to WeChat's limit when sent."""
    notification = Notification(
        user_id=user.id, kind=kind, template_id=template_id, topic=topic,
        data={key: {"value": str(value)} for key, value in data.items()}, url=url, page=page,
    )
    db.add(notification)
    db.flush()
    outbox.defer(db, "wechat.send_notification", notification.id)
    return notification
