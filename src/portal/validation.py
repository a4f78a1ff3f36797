"""What people type, in one normal form, checked and masked: ID cards, mobiles, plates, names, free text.

Chinese phone keyboards type full-width digits (``１３８…``), some phones Arabic-Indic ones
(``١٣٨…``), and people add spaces and dashes. Every identifier is brought to one normal form
before it is checked or stored — ASCII digits, upper-case ASCII letters, no separators — so the
same number is always accepted or always refused, and stored and sent on one way.
"""

import re
import unicodedata
from datetime import date

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_CARD = re.compile(r"[0-9]{17}[0-9X]")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# The country code people paste in front of a mobile: +86, 0086.
_COUNTRY_CODE = re.compile(r"^(?:\+86|0086)(?=1[0-9]{10}$)")
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# Ordinary plates: province, city letter, 5 letters/digits (no I or O). New-energy plates
# have 6 after the city letter, with D/F (small cars) or D/F in the last place (trucks, buses).
_PLATE = re.compile(
    rf"[{_PROVINCES}][A-HJ-NP-Z]"
    r"(?:[A-HJ-NP-Z0-9]{5}|[DF][A-HJ-NP-Z0-9][0-9]{4}|[0-9]{5}[DF])"
)
# Trailers (挂车) end in 挂 after a four-character serial.
_TRAILER = re.compile(rf"[{_PROVINCES}][A-HJ-NP-Z][A-HJ-NP-Z0-9]{{4}}挂")

# What people put inside numbers: spaces of every kind, dashes, dots and middle dots.
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−.·•・‧]+")
#: The middle dots of minority and foreign names (``阿依古丽·买买提``), each typed as ``·``.
NAME_DOT = "·"
_NAME_DOTS = str.maketrans(dict.fromkeys("•・‧∙⋅", NAME_DOT))
NAME_LENGTH = (2, 32)
# Invisible characters that only make text lie about itself (bidirectional overrides, zero-width
# spaces …): control (Cc), format (Cf), private-use (Co) and surrogate (Cs) code points.
_HIDDEN = frozenset(("Cc", "Cf", "Co", "Cs"))
# Line breaks and tabs in free text; the zero-width joiner inside emoji sequences.
_VISIBLE_ENOUGH = frozenset("\t\n\r\u200d")


def ascii_forms(text: str | None) -> str:
    """Full-width forms folded (NFKC: ``１２３`` ``ｘ``, the ideographic space) and every decimal
    digit of another script as its ASCII digit."""
    text = unicodedata.normalize("NFKC", text or "")
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() and not c.isascii() else c for c in text)


def normalise_identifier(text: str | None) -> str:
    """ASCII digits and upper-case letters, without the separators people type."""
    return _SEPARATORS.sub("", ascii_forms(text)).upper()


def normalise_id_card(number: str | None) -> str:
    return normalise_identifier(number)


def normalise_mobile(number: str | None) -> str:
    return _COUNTRY_CODE.sub("", normalise_identifier(number))


def normalise_plate(plate: str | None) -> str:
    return normalise_identifier(plate)


def id_card_ok(number: str | None) -> bool:
    """A mainland resident ID card (GB 11643-1999): 18 characters, a valid birth date and check
    character."""
    number = normalise_id_card(number)
    if not _ID_CARD.fullmatch(number):
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if born > date.today() or born.year < 1900:
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17]


def mobile_ok(number: str | None) -> bool:
    return bool(_MOBILE.fullmatch(normalise_mobile(number)))


def plate_ok(plate: str | None) -> bool:
    return bool(_PLATE.fullmatch(normalise_plate(plate)))


def trailer_ok(plate: str | None) -> bool:
    return bool(_TRAILER.fullmatch(normalise_plate(plate)))


# -- names and free text ---------------------------------------------------------------------


def normalise_name(name: str | None) -> str:
    """Full-width letters folded, every middle dot as ``·``, spaces single and inside."""
    name = unicodedata.normalize("NFKC", name or "").translate(_NAME_DOTS)
    return " ".join(name.split())


def _letter(c: str) -> bool:
    return unicodedata.category(c)[0] == "L"


def name_ok(name: str) -> bool:
    """A person's name in normal form: letters of any script (汉字 are letters) with their
    combining marks, in parts joined by one ``·`` or one space; no digits, symbols, emoji or
    invisible characters."""
    if not NAME_LENGTH[0] <= len(name) <= NAME_LENGTH[1]:
        return False
    parts = re.split(rf"{NAME_DOT}| ", name)
    return all(
        part and _letter(part[0]) and all(_letter(c) or unicodedata.category(c)[0] == "M" for c in part) for part in parts
    )


def hidden_characters(text: str) -> bool:
    """Whether the text holds invisible control or format characters (bidirectional overrides,
    zero-width spaces, private-use code points …); line breaks, tabs and the zero-width joiner
    of emoji sequences are allowed."""
    return any(unicodedata.category(c) in _HIDDEN and c not in _VISIBLE_ENOUGH for c in text)


# -- masks -----------------------------------------------------------------------------------


def mask_id_card(number: str | None) -> str:
    number = number or ""
    return number[:3] + "*" * max(0, len(number) - 7) + number[-4:] if len(number) > 7 else number


def mask_mobile(number: str | None) -> str:
    number = number or ""
    return number[:3] + "****" + number[-4:] if len(number) == 11 else number
