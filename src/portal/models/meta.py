"""Declarative base, the constraint naming convention, and the column types and status enum
every model shares."""

import enum
from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Enum, Integer, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: BIGINT on PostgreSQL; INTEGER on SQLite, where only that type is an autoincrementing rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow():
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware instant, stored in UTC and always read back as aware UTC.

    SQLite has no timezone type, so the value is normalised on the way in and out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; portal stores only timezone-aware times")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class LabelledEnum(enum.StrEnum):
    """A status: stored as its value, shown as its Chinese label.

    Members are declared ``registered = "registered", "已登记"``; each is the string of its value
    (``BookingStatus.registered == "registered"``) and has a ``label``.
    """

    def __new__(cls, value, label):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def label_of(cls, value):
        """The label of ``value``, or ``value`` itself when it is none of ours (another system may
        report values we do not know yet)."""
        try:
            return cls(value).label
        except ValueError:
            return value


def status_column(kind):
    """The column type of a LabelledEnum: its values in a VARCHAR(16), no database enum type."""
    return Enum(kind, native_enum=False, length=16)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
