"""Checks and masks for the identifiers people type: ID cards, phones, plates."""

import re
from datetime import date

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# Ordinary plates: province, city letter, 5 letters/digits (no I or O). New-energy plates
# have 6 after the city letter, with D/F (small cars) or D/F in the last place (trucks, buses).
_PLATE = re.compile(
    rf"^[{_PROVINCES}][A-HJ-NP-Z]"
    r"(?:[A-HJ-NP-Z0-9]{5}|[DF][A-HJ-NP-Z0-9]\d{4}|\d{5}[DF])$"
)
# Trailers (挂车) end in 挂 after a four-character serial.
_TRAILER = re.compile(rf"^[{_PROVINCES}][A-HJ-NP-Z][A-HJ-NP-Z0-9]{{4}}挂$")


def id_card_ok(number):
    """A mainland resident ID card (GB 11643-1999): 18 characters, valid birth date and check digit."""
    number = (number or "").strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if born > date.today() or born.year < 1900:
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17]


def mobile_ok(number):
    return bool(_MOBILE.match((number or "").strip()))


def plate_ok(plate):
    return bool(_PLATE.match(normalise_plate(plate)))


def trailer_ok(plate):
    return bool(_TRAILER.match(normalise_plate(plate)))


def normalise_plate(plate):
    return (plate or "").strip().upper().replace(" ", "").replace("·", "").replace("-", "")


def mask_id_card(number):
    number = number or ""
    return number[:3] + "*" * max(0, len(number) - 7) + number[-4:] if len(number) > 7 else number


def mask_mobile(number):
    number = number or ""
    return number[:3] + "****" + number[-4:] if len(number) == 11 else number
