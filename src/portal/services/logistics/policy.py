"""The plant's configurable rules of smart logistics, read once from the settings."""

from dataclasses import dataclass

from portal.settings import Typed, key


@dataclass(frozen=True)
class Policy(Typed):
    """Settings ``portal.logistics_*`` (README, "Settings")."""

    PREFIX = "portal.logistics_"

    #: Minutes a registered booking stays valid after its planned arrival, unless its product
    #: has a window of its own.
    reservation_minutes: int = 240
    #: How many days ahead a booking may be planned.
    max_days_ahead: int = 7
    #: Allowed difference between the signed and the shipped quantity, in percent.
    signoff_tolerance_percent: float = 2.0
    #: The Official Account's template of 业务状态通知; its users are not notified without one.
    notify_template: str | None = key("wechat_template_logistics")
    #: The mini-program's subscribe templates (订阅消息), one per kind of message; its users are
    #: not notified of a kind without one (portal.services.logistics.notices).
    subscribe_booking_result: str | None = key("wechat_subscribe_booking_result")
    subscribe_booking_ended: str | None = key("wechat_subscribe_booking_ended")
    subscribe_queue_called: str | None = key("wechat_subscribe_queue_called")
    subscribe_order_shipped: str | None = key("wechat_subscribe_order_shipped")
    subscribe_expiry_warning: str | None = key("wechat_subscribe_expiry_warning")
