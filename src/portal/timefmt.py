"""Times are stored in UTC and shown in Asia/Shanghai."""

from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_time(value, fmt="%Y-%m-%d %H:%M:%S"):
    """Jinja2 filter ``local_time``: an aware instant as Beijing time; '' for None."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime(fmt)
