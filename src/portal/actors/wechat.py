"""Actors that talk to the WeChat platform: the menu and notifications."""

from portal.integrations.base import PermanentError
from portal.messaging import actor
from portal.models.sync import SyncState
from portal.models.wechat import Notification, NotificationKind, OfficialAccountMenu
from portal.services import notifications

#: "The user has not subscribed / accepted": an expected outcome, not an incident.
NOT_SUBSCRIBED = {43004, 43101}


@actor(
    "wechat.publish_menu", queue="wechat", subject=OfficialAccountMenu,
    max_retries=8, min_backoff=2_000, max_backoff=300_000, time_limit=60_000,
)
def publish_menu(job, menu_id):
    """Call menu/create with one menu version (发布公众号菜单)."""
    menu = job.db.get(OfficialAccountMenu, menu_id)
    if menu is None or menu.sync_state.value == "synced":
        return
    job.runtime.wechat().create_menu(menu.buttons)
    menu.mark_synced()


@actor(
    "wechat.send_notification", queue="wechat", subject=Notification,
    max_retries=6, min_backoff=2_000, max_backoff=300_000, time_limit=30_000,
)
def send_notification(job, notification_id):
    """Send one template message or subscribe message (发送微信通知)."""
    notification = job.db.get(Notification, notification_id)
    if notification is None or notification.sync_state in (SyncState.synced, SyncState.skipped):
        return
    user = notification.user
    wechat = job.runtime.wechat()
    msgid = None
    try:
        if notification.kind is NotificationKind.template:
            msgid = wechat.send_template(
                user.oa_openid, notification.template_id, notification.data,
                url=notification.url, client_msg_id=job.idempotency_key,
            )
        elif notification.kind is NotificationKind.subscribe:
            wechat.send_subscribe(user.oa_openid, notification.template_id, notification.data, page=notification.page)
        elif notifications.use_subscription(job.db, user.id, notification.template_id):
            wechat.send_miniprogram_subscribe(user.mp_openid, notification.template_id, notification.data, page=notification.page)
        else:
            notification.mark_skipped(notifications.NO_SUBSCRIPTION)
            return
    except PermanentError as exc:
        if exc.code not in NOT_SUBSCRIBED:
            raise
        notifications.not_subscribed(job.db, notification, str(exc))  # recorded, never retried, no dead letter
        return
    notification.mark_synced(external_ref=str(msgid) if msgid else None)
