"""Period labels of raw exports → the months they cover, and when a value becomes known.

Months are handled as ordinals (months since 1970-01, pandas' ``Period[M]`` ordinal), so a
column of 660,000 labels costs one parse per distinct label. A period is the closed range
``start … end`` of months; a value of a period with publication lag ``L`` is known from month
``end + L`` (:func:`known_from`).

Accepted labels (CONTRACT.md "Raw exports"):

- month: ``2024-01``, ``01.2024``, ``jan 2024`` / ``januar 2024``, a date (``2024-01-15``,
  ``15.01.2024``, or a date cell);
- quarter: ``2024K1``, ``2024-Q1``, ``2024Q1``, ``1. kvartal 2024``, ``K1 2024``;
- year: ``2024``;
- kindergarten_year: ``2024/25``, ``2024/2025`` or ``2024-2025`` (August 2024 – July 2025).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

Every = Literal["month", "quarter", "year", "kindergarten_year"]
EVERY: tuple[Every, ...] = ("month", "quarter", "year", "kindergarten_year")
#: Months in one period of each kind.
MONTHS_PER_PERIOD: dict[str, int] = {"month": 1, "quarter": 3, "year": 12, "kindergarten_year": 12}
#: How each kind is written in messages (bokmål for the planners' pages lives in i18n).
EXAMPLES: dict[str, str] = {
    "month": "2024-01, 01.2024, jan 2024 or a date",
    "quarter": "2024K1, 2024-Q1 or 1. kvartal 2024",
    "year": "2024",
    "kindergarten_year": "2024/25 or 2024-2025",
}

BAD = np.iinfo(np.int64).min
#: A label the spreadsheet turned into a number (``01.2016`` → 1.2016): not the same as a typo.
AS_NUMBER = BAD + 1

_MONTH_WORDS = {
    "jan": 1,
    "januar": 1,
    "feb": 2,
    "februar": 2,
    "mar": 3,
    "mars": 3,
    "apr": 4,
    "april": 4,
    "mai": 5,
    "jun": 6,
    "juni": 6,
    "jul": 7,
    "juli": 7,
    "aug": 8,
    "august": 8,
    "sep": 9,
    "sept": 9,
    "september": 9,
    "okt": 10,
    "oktober": 10,
    "nov": 11,
    "november": 11,
    "des": 12,
    "desember": 12,
}
_YEAR = r"(19[5-9]\d|2[01]\d\d)"
_NUMBERLIKE = re.compile(r"[+-]?\d+([.,]\d+|[eE][+-]?\d+|[.,]\d+[eE][+-]?\d+)")


def month_ordinal(year: int, month: int) -> int:
    return (year - 1970) * 12 + month - 1


@dataclass
class ParsedPeriods:
    """First and last month (ordinals) of each label; ``bad`` where the label did not parse and
    ``as_number`` where it looks like a number a spreadsheet made of it."""

    start: np.ndarray
    end: np.ndarray
    bad: np.ndarray
    as_number: np.ndarray


def _month_label(text: str) -> int:
    if m := re.fullmatch(rf"{_YEAR}-(0?[1-9]|1[0-2])", text):
        return month_ordinal(int(m[1]), int(m[2]))
    if m := re.fullmatch(rf"(0[1-9]|1[0-2])[./]{_YEAR}", text):
        return month_ordinal(int(m[2]), int(m[1]))
    if m := re.fullmatch(rf"([a-zæøå]+)\.?[ -]+{_YEAR}", text.lower()):
        number = _MONTH_WORDS.get(m[1])
        return BAD if number is None else month_ordinal(int(m[2]), number)
    if m := re.fullmatch(rf"{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])([ T].*)?", text):
        return month_ordinal(int(m[1]), int(m[2]))
    if m := re.fullmatch(rf"(0?[1-9]|[12]\d|3[01])\.(0?[1-9]|1[0-2])\.{_YEAR}", text):
        return month_ordinal(int(m[3]), int(m[2]))
    return BAD


def _quarter_label(text: str) -> int:
    lowered = text.lower().replace(" ", "")
    patterns = (
        (rf"{_YEAR}[-/]?[kq]([1-4])", 1, 2),
        (rf"([1-4])\.?kvartal{_YEAR}", 2, 1),
        (rf"[kq]([1-4])[-/]?{_YEAR}", 2, 1),
    )
    for pattern, year_group, quarter_group in patterns:
        if m := re.fullmatch(pattern, lowered):
            return month_ordinal(int(m[year_group]), 3 * int(m[quarter_group]) - 2)
    return BAD


def _year_label(text: str) -> int:
    if m := re.fullmatch(rf"{_YEAR}(\.0+)?", text):
        return month_ordinal(int(m[1]), 1)
    return BAD


def _kindergarten_year_label(text: str) -> int:
    m = re.fullmatch(rf"{_YEAR}\s*[/-]\s*(\d{{2}}|\d{{4}})", text)
    if not m:
        return BAD
    first, second = int(m[1]), m[2]
    follows = (first + 1) % 100 == int(second) if len(second) == 2 else int(second) == first + 1
    return month_ordinal(first, 8) if follows else BAD


_PARSERS = {
    "month": _month_label,
    "quarter": _quarter_label,
    "year": _year_label,
    "kindergarten_year": _kindergarten_year_label,
}


def _label_start(value: object, every: str) -> int:
    """The first month (ordinal) of one label, :data:`BAD`, or :data:`AS_NUMBER`."""
    if isinstance(value, pd.Period):
        value = value.to_timestamp()
    if isinstance(value, dt.date):
        if every == "month":
            return month_ordinal(value.year, value.month)
        return BAD
    if isinstance(value, bool):
        return BAD
    if isinstance(value, int | np.integer):
        value = str(int(value))
    elif isinstance(value, float | np.floating):
        whole = float(value).is_integer()
        if every == "year" and whole:
            value = str(int(value))
        else:
            return AS_NUMBER
    text = str(value).strip()
    start = _PARSERS[every](text)
    if start == BAD and _looks_like_number(text, every):
        return AS_NUMBER
    return start


def _looks_like_number(text: str, every: str) -> bool:
    """A label a spreadsheet made a number of: ``01.2016`` → ``1.2016``, ``10.2010`` → ``10.201``.
    For months only a valid month before the mark counts, so ``13.2024`` stays a bad label."""
    if every == "month":
        m = re.fullmatch(r"(\d{1,2})[.,](\d{1,4})", text)
        return m is not None and 1 <= int(m[1]) <= 12
    return bool(_NUMBERLIKE.fullmatch(text))


def parse_periods(values: pd.Series, every: str) -> ParsedPeriods:
    """Parse a period column (text as read, or typed cells) of the given kind."""
    if ptypes.is_datetime64_any_dtype(values.dtype):
        values = pd.Series(values.dt.to_pydatetime(), dtype=object)
    codes, distinct = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    starts_distinct = np.array([_label_start(v, every) for v in distinct] + [BAD], dtype=np.int64)
    starts = starts_distinct[codes]  # code -1 (missing) takes the trailing BAD
    as_number = starts == AS_NUMBER
    bad = starts == BAD
    start = np.where(bad | as_number, 0, starts)
    end = start + MONTHS_PER_PERIOD[every] - 1
    return ParsedPeriods(start=start, end=end, bad=bad, as_number=as_number)


def known_from(period_end: np.ndarray, lag_months: int) -> np.ndarray:
    """The month (ordinal) from which a value of a period ending at ``period_end`` is known."""
    return period_end + int(lag_months)


def period_end_of_month(month: np.ndarray, every: str) -> np.ndarray:
    """For each month (ordinal), the last month of the period of kind ``every`` holding it."""
    month = np.asarray(month, dtype=np.int64)
    if every == "month":
        return month
    if every == "quarter":
        return month - month % 3 + 2
    if every == "year":
        return month - month % 12 + 11
    # kindergarten year: August (month index 7) … July
    shifted = month - 7
    return shifted - shifted % 12 + 11 + 7


def ordinals_to_periods(ordinals: np.ndarray) -> pd.Series:
    """Month ordinals → a ``Period[M]`` series."""
    from_ordinals = pd.PeriodIndex.from_ordinals  # type: ignore[attr-defined]
    return pd.Series(from_ordinals(np.asarray(ordinals, dtype=np.int64), freq="M"))


def month_text(values: pd.Series) -> pd.Series:
    """Months as ``YYYY-MM`` text, as ``values.astype(str)`` gives them, with each distinct
    month of a ``Period[M]`` column formatted once: pandas formats a period column element by
    element (about 1 s of a city plan's CPU for its forecasts and backtest rows)."""
    if not isinstance(values.dtype, pd.PeriodDtype):
        return values.astype(str)
    codes, uniques = pd.factorize(values)
    text = np.append(np.asarray(uniques.astype(str), dtype=object), str(pd.NaT))
    return pd.Series(text[codes], index=values.index, name=values.name, dtype=object)
