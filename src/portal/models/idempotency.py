"""Idempotency keys (幂等键) of the JSON API: the first answer to a request, kept for its repeats."""

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, BigId, UTCDateTime, utcnow


class IdempotentRequest(Base):
    """A request a WeChat user sent with an ``Idempotency-Key``, and the answer it was given."""

    __tablename__ = "idempotent_requests"
    # Keys are the user's own: another user's key never answers for them.
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("wechat_users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    #: What was asked, the operation and its body, as a SHA-256 (hex).
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: The answer: its status and JSON body, written in the transaction that claimed the key.
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
