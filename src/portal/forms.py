"""Reading what people submit: JSON bodies, HTML forms and query parameters.

:class:`Form` reads a body or form field by field, collects an error per field and refuses
them all at once; the ``query_*`` helpers read one query parameter or refuse it.
"""

import re
from datetime import date, datetime

from . import validation
from .quantities import tonnes
from .refusal import Refusal

_WHOLE_NUMBER = re.compile(r"-?\d{1,12}")


class Form:
    """Collects field errors while reading submitted data, then raises them all at once."""

    def __init__(self, data):
        self.data = data if isinstance(data, dict) else {}
        self.errors = {}

    def error(self, name: str, message: str) -> None:
        self.errors[name] = message

    def check(self, name: str, ok: object, message: str) -> None:
        """``message`` for ``name`` unless ``ok`` (or the field already has an error)."""
        if name not in self.errors and not ok:
            self.errors[name] = message

    def text(self, name: str, label: str, *, max_len: int, required: bool = True) -> str | None:
        """Trimmed text; invisible control and format characters (a right-to-left override …) refused."""
        value = self.data.get(name)
        value = value.strip() if isinstance(value, str) else ""
        if required and not value:
            self.errors[name] = f"请填写{label}"
        elif len(value) > max_len:
            self.errors[name] = f"{label}不能超过 {max_len} 个字"
        elif validation.hidden_characters(value):
            self.errors[name] = f"{label}含有不可见的控制字符，请删除后重试"
        return value or None

    def person_name(self, name: str, label: str) -> str | None:
        """A person's name in its normal form (portal.validation.name_ok)."""
        low, high = validation.NAME_LENGTH
        value = validation.normalise_name(self.text(name, label, max_len=4 * high))
        if name not in self.errors and not validation.name_ok(value):
            self.errors[name] = f"{label}须为 {low}–{high} 个汉字或字母，可用间隔号“·”或空格分隔，不能含数字、符号或表情"
        return value or None

    def date(self, name: str, label: str, *, required: bool = True) -> date | None:
        """``YYYY-MM-DD``; nothing or ``""`` is a date not picked (pages send ``""``)."""
        value = self.data.get(name)
        if value in (None, ""):
            if required:
                self.errors[name] = f"请选择{label}"
            return None
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            self.errors[name] = f"{label}格式应为 YYYY-MM-DD"
            return None

    def instant(self, name: str, label: str) -> datetime | None:
        """An ISO 8601 time with its offset; nothing or ``""`` is a time not picked."""
        value = self.data.get(name)
        if value in (None, ""):
            self.errors[name] = f"请选择{label}"
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            self.errors[name] = f"{label}格式应为带时区的 ISO 8601 时间，如 2026-11-26T09:00:00+08:00"
            return None
        return parsed

    def integer(self, name: str, label: str, *, minimum: int = 1, maximum: int = 10**9) -> int | None:
        """A JSON integer within bounds."""
        value = self.data.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors[name] = f"{label}须为整数"
            return None
        return self._within(name, label, value, minimum, maximum)

    def kilograms(self, name: str, label: str, *, maximum: int) -> int | None:
        """A quantity in integer kilograms (the API's unit), its limits said in the tonnes people type."""
        value = self.data.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors[name] = f"{label}须为整数"
            return None
        if not 1 <= value <= maximum:
            self.errors[name] = f"{label}须大于 0 且不超过 {tonnes(maximum)}"
            return None
        return value

    def whole_number(self, name: str, label: str, *, minimum: int, maximum: int, required: bool = True) -> int | None:
        """Text (an HTML form's field) that must hold an integer within bounds."""
        value = self.data.get(name)
        value = value.strip() if isinstance(value, str) else ""
        if not value:
            if required:
                self.errors[name] = f"请填写{label}"
            return None
        if not _WHOLE_NUMBER.fullmatch(value):
            self.errors[name] = f"{label}须为整数"
            return None
        return self._within(name, label, int(value), minimum, maximum)

    def _within(self, name, label, value, minimum, maximum):
        if not minimum <= value <= maximum:
            self.errors[name] = f"{label}须在 {minimum} 到 {maximum} 之间"
            return None
        return value

    def done(self) -> None:
        """Refuse everything found wrong, at once."""
        if self.errors:
            raise Refusal("invalid", "提交的信息有误，请检查后重试", self.errors)


def positive(text: str | None) -> int | None:
    """A positive integer, or None for anything else (lenient: page links people edit)."""
    try:
        number = int(text)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def query_integer(params, name: str, default: int | None = None, maximum: int | None = None) -> int | None:
    """A positive integer query parameter (at most ``maximum``), or a refusal naming it."""
    value = params.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise Refusal("invalid", f"参数 {name} 须为整数", {name: "须为整数"}) from None
    if number < 1:
        raise Refusal("invalid", f"参数 {name} 须为正整数", {name: "须为正整数"})
    return min(number, maximum) if maximum else number


def query_date(params, name: str) -> date | None:
    """A ``YYYY-MM-DD`` query parameter, or a refusal naming it."""
    value = params.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Refusal("invalid", f"参数 {name} 格式应为 YYYY-MM-DD", {name: "格式应为 YYYY-MM-DD"}) from None


def query_choice(params, name: str, choices, message: str, field_message: str | None = None) -> str | None:
    """A query parameter that is empty or one of ``choices``."""
    value = params.get(name) or None
    if value is not None and value not in choices:
        raise Refusal("invalid", message, {name: field_message or message})
    return value
