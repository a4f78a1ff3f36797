"""The sync state every business record pushed to another system carries."""

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .meta import LabelledEnum, UTCDateTime, status_column, utcnow


class SyncState(LabelledEnum):
    pending = "pending", "同步中"
    synced = "synced", "已同步"
    failed = "failed", "同步失败"
    #: Deliberately not sent (a notification the user has not subscribed to): no incident.
    skipped = "skipped", "未发送"


class Synced:
    """Mixin: where a record stands with the other system (pending / synced / failed + reason).

    The actor that pushes the record marks it synced; the messaging layer records each failed
    attempt and, when the message is dead-lettered, marks it failed with the reason.
    """

    sync_state: Mapped[SyncState] = mapped_column(status_column(SyncState), default=SyncState.pending)
    sync_error: Mapped[str | None] = mapped_column(Text)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    external_ref: Mapped[str | None] = mapped_column(String(128))

    def mark_synced(self, external_ref=None):
        self.sync_state = SyncState.synced
        self.sync_error = None
        self.synced_at = utcnow()
        if external_ref is not None:
            self.external_ref = external_ref

    def mark_pending(self):
        """A new change waits to reach the other system."""
        self.sync_state = SyncState.pending
        self.sync_error = None

    def mark_retrying(self, reason):
        self.sync_state = SyncState.pending
        self.sync_error = reason

    def mark_failed(self, reason):
        self.sync_state = SyncState.failed
        self.sync_error = reason
