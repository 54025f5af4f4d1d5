"""Numbers as people read them, in bokmål or English: never e-notation, shares as percentages,
NOK with thin-space thousands, FTE with one decimal, a dash for what is missing. Used by the
pages (as Jinja filters) and the exports' header sheet.

Norwegian writes a decimal comma and a space before the percent sign ("15 %"); English a decimal
point and no space ("15%"). Thousands are grouped with a narrow no-break space in both, so a
number never wraps inside itself.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from numbers import Real
from typing import Any

from babel.dates import format_datetime, get_timezone

THIN_SPACE = "\u202f"
NO_BREAK_SPACE = "\u00a0"
MISSING = "–"
_LOCALE = {"nb": "nb_NO", "en": "en_GB"}
OSLO = get_timezone("Europe/Oslo")


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, Real | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def format_number(
    value: Any, decimals: int = 0, language: str = "nb", *, signed: bool = False
) -> str:
    """``1234567.891`` → "1 234 567,9" (nb, 1 decimal) or "1 234 567.9" (en); a value that is
    text already (e.g. a suppressed count "<5") is returned as it is."""
    if isinstance(value, str) and _number(value) is None:
        return value
    number = _number(value)
    if number is None:
        return MISSING
    if round(number, decimals) == 0:
        number = 0.0  # no "-0,0"
    text = f"{number:{'+' if signed else ''},.{decimals}f}"
    decimal_mark = "," if language == "nb" else "."
    text = text.replace(",", THIN_SPACE).replace(".", decimal_mark)
    if number < 0:
        text = "−" + text[1:]  # a real minus sign, signed or not
    return text


def format_percent(share: Any, decimals: int = 0, language: str = "nb") -> str:
    """A share 0–1 as a percentage: ``0.1479`` → "15 %" (nb) / "15%" (en)."""
    number = _number(share)
    if number is None:
        return share if isinstance(share, str) else MISSING
    text = format_number(number * 100, decimals, language)
    return f"{text}{NO_BREAK_SPACE}%" if language == "nb" else f"{text}%"


def format_nok(value: Any, language: str = "nb") -> str:
    """Whole kroner: "1 250 000 kr" (nb) / "NOK 1 250 000" (en)."""
    number = _number(value)
    if number is None:
        return MISSING
    text = format_number(number, 0, language)
    return f"{text}{NO_BREAK_SPACE}kr" if language == "nb" else f"NOK{NO_BREAK_SPACE}{text}"


def format_fte(value: Any, language: str = "nb", *, signed: bool = False) -> str:
    """FTE (årsverk) with one decimal: "6,7" / "+1,0"."""
    return format_number(value, 1, language, signed=signed)


def format_count(value: Any, language: str = "nb") -> str:
    """A count of children or decisions, whole; a suppressed "<5" stays as it is."""
    return format_number(value, 0, language)


#: Decimals of each numeric unit a page or an export shows: FTE (årsverk), FTE-months and
#: kindergarten-months with one decimal, counts whole, other numbers (weights) with two.
DECIMALS = {"fte": 1, "fte_months": 1, "kindergarten_months": 1, "count": 0, "number": 2}


def format_in_unit(value: Any, unit: str, language: str = "nb") -> str:
    """``value`` as a person reads it in ``unit`` (one of :data:`DECIMALS`, ``share``, ``nok``,
    ``when`` or ``text``): the one definition the pages and the exports' widths use."""
    if unit == "share":
        return format_percent(value, 0, language)
    if unit == "nok":
        return format_nok(value, language)
    if unit == "when" and isinstance(value, datetime):
        return format_when(value, language)
    if unit in DECIMALS and (_number(value) is not None or not isinstance(value, str)):
        return format_number(value, DECIMALS[unit], language)
    return MISSING if value is None or value == "" else str(value)


def excel_number_format(unit: str, language: str = "nb") -> str:
    """The Excel number format of ``unit``, as :func:`format_in_unit` writes it on a page
    (Excel applies its own locale's thousands and decimal marks)."""
    if unit == "share":
        return "0%"
    if unit == "nok":
        return '#,##0 "kr"' if language == "nb" else '"NOK" #,##0'
    if unit == "when":
        return "yyyy-mm-dd hh:mm"
    if unit in DECIMALS:
        decimals = DECIMALS[unit]
        return "#,##0" + ("." + "0" * decimals if decimals else "")
    return "@"


def format_when(value: datetime | None, language: str, *, time: bool = True) -> str:
    """A moment in Oslo time: "6. des. 2026 kl. 14:05" (nb) / "6 Dec 2026, 14:05" (en)."""
    if value is None:
        return MISSING
    locale = _LOCALE.get(language, "nb_NO")
    if not time:
        pattern = "d. MMM y" if language == "nb" else "d MMM y"
    else:
        pattern = "d. MMM y 'kl.' HH:mm" if language == "nb" else "d MMM y, HH:mm"
    return format_datetime(in_oslo(value), pattern, tzinfo=OSLO, locale=locale)


def format_short_date(value: datetime, language: str) -> str:
    """A day in Oslo time without the year: "6. des." (nb) / "6 Dec" (en)."""
    pattern = "d. MMM" if language == "nb" else "d MMM"
    return format_datetime(
        in_oslo(value), pattern, tzinfo=OSLO, locale=_LOCALE.get(language, "nb_NO")
    )


def in_oslo(value: datetime) -> datetime:
    """``value`` as a moment in Oslo time; a naive one is UTC (the store keeps UTC, and SQLite
    hands it back without its zone)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(OSLO)
