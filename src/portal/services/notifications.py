"""Telling WeChat users what happened (消息通知): template messages to Official Account users,
subscribe messages to mini-program users who accepted them.

Areas call :func:`tell` in the transaction of the change they report; the actor
``wechat.send_notification`` sends it after commit. A mini-program user's one-time
subscriptions (订阅消息) are counted here: each 允许 the mini-program reports
(:func:`record_subscriptions`) allows one message of that template (:func:`use_subscription`).
"""

from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal import outbox
from portal.messaging import runtime
from portal.models.identity import WeChatUser
from portal.models.meta import utcnow
from portal.models.wechat import Notification, NotificationKind, Subscription
from portal.refusal import Refusal

#: Settings ``portal.wechat_subscribe_<name>``: the mini-program's subscribe templates.
SUBSCRIBE_PREFIX = "portal.wechat_subscribe_"
#: Why a subscribe message was not sent (shown on the admin page).
NO_SUBSCRIPTION = "用户未在小程序中同意接收该消息（没有可用的订阅次数），未发送"


@dataclass(frozen=True)
class Message:
    """What one message says and where it leads.

    ``data`` is ``{key: value}`` with WeChat's keys (``thing1``, ``time5`` …: the type, then a
    number); ``path`` is the H5 page it opens (``/h5/…``); ``dedupe_key`` names what it is about,
    so that it is queued once however often the change is reported.
    """

    topic: str
    data: dict
    path: str
    dedupe_key: str | None = None


def notify(
    db: Session, user: WeChatUser, *, topic: str, template_id: str, data: dict,
    kind: NotificationKind = NotificationKind.template, url: str | None = None, page: str | None = None,
    dedupe_key: str | None = None,
) -> Notification:
    """Queue one message to ``user``. ``data`` is ``{key: value}``; values are cut to WeChat's limit when sent."""
    notification = Notification(
        user_id=user.id, kind=kind, template_id=template_id, topic=topic,
        data={key: {"value": str(value)} for key, value in data.items()}, url=url, page=page, dedupe_key=dedupe_key,
    )
    db.add(notification)
    db.flush()
    outbox.defer(db, "wechat.send_notification", notification.id)
    return notification


def tell(
    db: Session, user: WeChatUser, message: Message, *, template_id: str | None, subscribe_template_id: str | None,
) -> Notification | None:
    """Queue ``message`` to ``user`` by the channel they have: a template message (``template_id``)
    when they follow the Official Account, else a mini-program subscribe message
    (``subscribe_template_id``), sent only if they accepted one (else recorded as skipped).

    None when the plant has no template for their channel, or when a message with the same
    ``dedupe_key`` was queued before.
    """
    if message.dedupe_key and db.scalar(select(Notification.id).where(Notification.dedupe_key == message.dedupe_key)):
        return None
    settings = runtime().settings
    common = dict(topic=message.topic, data=message.data, dedupe_key=message.dedupe_key)
    if user.oa_openid and template_id:
        return notify(db, user, template_id=template_id, url=settings.public_url.rstrip("/") + message.path, **common)
    if user.mp_openid and subscribe_template_id:
        page = f"{settings.wechat_mp_page}?path={quote(message.path, safe='/')}"
        return notify(db, user, template_id=subscribe_template_id, kind=NotificationKind.miniprogram, page=page, **common)
    return None


# -- the mini-program's one-time subscriptions ---------------------------------------------------


def subscribe_templates(settings: dict) -> dict[str, str]:
    """name → template id of the mini-program's subscribe templates the settings name."""
    return {key[len(SUBSCRIBE_PREFIX):]: value for key, value in settings.items() if key.startswith(SUBSCRIBE_PREFIX) and value}


def record_subscriptions(db: Session, user: WeChatUser, results: dict, known: set[str]) -> None:
    """What the user chose in ``wx.requestSubscribeMessage`` (template id → ``accept``,
    ``reject``, ``ban``, ``filter`` …): one more message allowed per acceptance."""
    unknown = sorted(set(results) - known)
    if unknown:
        message = f"未知的订阅消息模板：{'、'.join(unknown)}"
        raise Refusal("invalid", message, {"results": message})
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    for template_id, result in sorted(results.items()):
        if not result.startswith("accept"):  # accept, acceptWithAudio, acceptWithAlert
            continue
        statement = insert(Subscription).values(user_id=user.id, template_id=template_id, credits=1, updated_at=utcnow())
        db.execute(statement.on_conflict_do_update(
            index_elements=["user_id", "template_id"],
            set_={"credits": Subscription.credits + 1, "updated_at": statement.excluded.updated_at},
        ))


def subscriptions_of(db: Session, user_id: int) -> dict[str, int]:
    """template id → messages the user still allows."""
    rows = db.execute(select(Subscription.template_id, Subscription.credits).where(Subscription.user_id == user_id))
    return dict(rows.all())


def use_subscription(db: Session, user_id: int, template_id: str) -> bool:
    """Take one of the user's subscriptions to ``template_id``; False when none is left."""
    result = db.execute(
        update(Subscription)
        .where(Subscription.user_id == user_id, Subscription.template_id == template_id, Subscription.credits > 0)
        .values(credits=Subscription.credits - 1, updated_at=utcnow())
    )
    return result.rowcount == 1


def not_subscribed(db: Session, notification: Notification, reason: str) -> None:
    """WeChat says the user does not accept this message (43004, 43101): recorded, not retried;
    a mini-program user has no subscription left there, whatever we counted."""
    notification.mark_skipped(reason)
    if notification.kind is NotificationKind.miniprogram:
        db.execute(
            update(Subscription)
            .where(Subscription.user_id == notification.user_id, Subscription.template_id == notification.template_id)
            .values(credits=0, updated_at=utcnow())
        )
