"""Operations records: dead letters, periodic job runs, connectivity checks."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, BigId, LabelledEnum, UTCDateTime, status_column, utcnow
from .sync import Synced


class DeadLetterStatus(LabelledEnum):
    open = "open", "待处理"
    retried = "retried", "已重试"
    discarded = "discarded", "已丢弃"


class DeadLetter(Base):
    """A message that failed for good (死信): recorded so an operator can retry or discard it."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outbox_id: Mapped[int | None] = mapped_column(
        BigId,
        ForeignKey("outbox_messages.id", ondelete="SET NULL"),
        index=True,
    )
    message_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(200), index=True)
    queue_name: Mapped[str] = mapped_column(String(100))
    args: Mapped[list] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    permanent: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[DeadLetterStatus] = mapped_column(status_column(DeadLetterStatus), default=DeadLetterStatus.open, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(100))


class PeriodicJob(Base):
    """One row per registered periodic job (定时任务); the row is also the run lock.

    A scheduler runs a job only after moving ``next_run_at`` forward with a conditional
    UPDATE, so two schedulers never run the same period twice.
    """

    __tablename__ = "periodic_jobs"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    interval_seconds: Mapped[int] = mapped_column(Integer)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_runner: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    run_count: Mapped[int] = mapped_column(Integer, default=0)


class ConnectivityCheck(Synced, Base):
    """A signed test write to another system (连通性检测).

    Proves, end to end through the outbox and a worker, that credentials, signing, clock and
    idempotency work with that system; operators run one after changing its settings.
    """

    __tablename__ = "connectivity_checks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    system: Mapped[str] = mapped_column(String(32), index=True)
    note: Mapped[str | None] = mapped_column(String(200))
    requested_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
