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
    #: The template of 业务状态通知; drivers are not notified without one.
    notify_template: str | None = key("wechat_template_logistics")
