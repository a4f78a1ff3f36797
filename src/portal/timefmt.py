"""Times are stored in UTC and shown in Asia/Shanghai."""

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: 北京时间 as the API writes it: UTC+8 for any instant (the zone's history has other offsets,
#: such as +08:05:43 before 1901, which RFC 3339 cannot write).
BEIJING = timezone(timedelta(hours=8))


def local_time(value, fmt="%Y-%m-%d %H:%M:%S"):
    """Jinja2 filter ``local_time``: an aware instant as Beijing time; '' for None."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime(fmt)


def api_time(value: datetime | date | None) -> str | None:
    """A time as every API answer gives it: ISO 8601 in Beijing time with its offset, to the
    second (``2026-11-26T09:00:00+08:00``); a date as ``YYYY-MM-DD``; None as None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(BEIJING).isoformat(timespec="seconds")
    return value.isoformat()


def today() -> date:
    """Today's date in Beijing: the day the plant's rules (certificate expiry …) are judged on."""
    return datetime.now(UTC).astimezone(SHANGHAI).date()


def local_midnight(day: date) -> datetime:
    """The instant a Beijing day starts."""
    return datetime.combine(day, datetime.min.time(), SHANGHAI)
