"""Times are stored in UTC and shown in Asia/Shanghai."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_time(value, fmt="%Y-%m-%d %H:%M:%S"):
    """Jinja2 filter ``local_time``: an aware instant as Beijing time; '' for None."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime(fmt)


def today() -> date:
    """Today's date in Beijing: the day the plant's rules (certificate expiry …) are judged on."""
    return datetime.now(UTC).astimezone(SHANGHAI).date()


def local_midnight(day: date) -> datetime:
    """The instant a Beijing day starts."""
    return datetime.combine(day, datetime.min.time(), SHANGHAI)
