"""The models of every domain; importing this package registers them all on ``Base.metadata``."""

from .admin import AREAS, AdminSession, AdminUser, AuditEntry, LoginAttempt  # noqa: F401
from .identity import ApiToken, UserStatus, WeChatUser  # noqa: F401
from .logistics import (  # noqa: F401
    Booking,
    BookingEvent,
    BookingKind,
    BookingStatus,
    Driver,
    EntryReport,
    Lane,
    LeEvent,
    OutboundOrder,
    Product,
    StockCheck,
    Vehicle,
)
from .meta import Base  # noqa: F401
from .ops import ConnectivityCheck, DeadLetter, DeadLetterStatus, PeriodicJob  # noqa: F401
from .outbox import OutboxMessage  # noqa: F401
from .sync import SyncState, Synced  # noqa: F401
from .wechat import Notification, NotificationKind, OfficialAccountMenu  # noqa: F401
