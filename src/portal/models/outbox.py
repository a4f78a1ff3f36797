"""The transactional outbox: one row per message an actor must receive (待发送消息)."""

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, BigId, UTCDateTime, utcnow


class OutboxMessage(Base):
    """Written in the same transaction as the business change it belongs to.

    Life: created → dispatched (handed to the broker) → done (the actor's transaction
    committed) or dead (dead-lettered). A dead letter that is retried is re-armed by clearing
    ``dispatched_at`` and ``dead_at``, so the relay picks it up again.
    """

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor_name: Mapped[str] = mapped_column(String(200))
    queue_name: Mapped[str] = mapped_column(String(100))
    args: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Deliver no earlier than this (a delayed message), or at once when null.
    eta: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatch_count: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # The relay's scan: only rows still owed to the broker or to an actor.
        Index(
            "ix_outbox_messages_open",
            "dispatched_at",
            "id",
            postgresql_where=text("done_at IS NULL AND dead_at IS NULL"),
            sqlite_where=text("done_at IS NULL AND dead_at IS NULL"),
        ),
    )

    @property
    def idempotency_key(self):
        return idempotency_key(self.id)

    @property
    def state(self):
        if self.done_at:
            return "done"
        if self.dead_at:
            return "dead"
        if self.dispatched_at:
            return "dispatched"
        return "pending"


def idempotency_key(outbox_id):
    """The key every push to another system carries: stable across redeliveries and retries."""
    return f"portal-outbox-{outbox_id}"
