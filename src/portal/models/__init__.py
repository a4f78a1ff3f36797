"""The models of every domain; importing this package registers them all on ``Base.metadata``."""

from .meta import Base  # noqa: F401
from .ops import ConnectivityCheck, DeadLetter, DeadLetterStatus, PeriodicJob  # noqa: F401
from .outbox import OutboxMessage  # noqa: F401
from .sync import SyncState, Synced  # noqa: F401
