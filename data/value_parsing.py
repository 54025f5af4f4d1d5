"""Text (or stored values) → typed columns, vectorised, with a mask of every value that fails.

Each parser returns the typed column with failing values set missing, plus ``(mask, rule)`` pairs
so the validator can name every bad row and the value found there. Typed inputs (Parquet, DuckDB)
skip the text step; a cell that is missing stays missing — it is never filled.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from data.schemas import (
    BAD_MONTH,
    NOT_A_NUMBER,
    NOT_WHOLE_NUMBER,
    YEAR_NOT_INTEGER,
    Kind,
)

MONTH_PATTERN = r"\d{4}-(0[1-9]|1[0-2])"
#: Whole numbers beyond this cannot be counts of children or staff; also keeps Int64 exact.
LARGEST_COUNT = 2.0**53
_NAT_ORDINAL = np.iinfo(np.int64).min


@dataclass
class ParsedColumn:
    """A typed column and, per broken rule, the mask of rows that broke it."""

    values: pd.Series
    failures: list[tuple[np.ndarray, str]] = field(default_factory=list)

    @property
    def failed(self) -> np.ndarray:
        """Rows with any parse failure (already reported; later checks skip them)."""
        mask = np.zeros(len(self.values), dtype=bool)
        for bad, _ in self.failures:
            mask |= bad
        return mask


def parse_column(values: pd.Series, kind: Kind, *, decimal_comma: bool = False) -> ParsedColumn:
    """Parse one column of a raw table according to its kind in the contract."""
    values = values.reset_index(drop=True)
    if kind in ("id", "text"):
        return ParsedColumn(as_text(values))
    if kind == "month":
        return parse_month_column(values)
    numbers, not_number = as_numbers(values, decimal_comma=decimal_comma)
    if kind in ("share", "fte"):
        return ParsedColumn(pd.Series(numbers, name=values.name), [(not_number, NOT_A_NUMBER)])
    not_whole = np.isfinite(numbers) & (numbers != np.floor(numbers))
    too_large = np.isfinite(numbers) & (np.abs(numbers) > LARGEST_COUNT)
    failures = (
        [(not_number | not_whole | too_large, YEAR_NOT_INTEGER)]
        if kind == "year"
        else [(not_number | too_large, NOT_A_NUMBER), (not_whole, NOT_WHOLE_NUMBER)]
    )
    ok = np.isfinite(numbers) & ~not_whole & ~too_large
    whole = pd.array(np.where(ok, numbers, 0).astype(np.int64), dtype="Int64")
    whole[~ok] = pd.NA
    return ParsedColumn(pd.Series(whole, name=values.name), failures)


def as_text(values: pd.Series) -> pd.Series:
    """Identifiers and names as Python strings (missing stays missing); an id stored as a whole
    float (e.g. 7.0 in a Parquet column with gaps) becomes "7", not "7.0"."""
    present = values.notna().to_numpy()
    if values.dtype == object and all(isinstance(v, str) for v in values[present]):
        return values.astype(object).where(present, None)
    if ptypes.is_float_dtype(values.dtype):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        if np.all(np.isnan(numbers) | (numbers == np.floor(numbers))):
            values = pd.Series(pd.array(numbers, dtype="Int64"), name=values.name)
    text = values.astype("string").astype(object)
    return text.where(present, None)


def as_numbers(values: pd.Series, *, decimal_comma: bool) -> tuple[np.ndarray, np.ndarray]:
    """Numbers as float64 (NaN where missing or bad) and the mask of present values that are not
    numbers. With ``decimal_comma`` the text ``1 234,5`` reads as 1234.5."""
    present = values.notna().to_numpy()
    if ptypes.is_bool_dtype(values.dtype):
        return np.full(len(values), np.nan), present
    if ptypes.is_numeric_dtype(values.dtype):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        not_number = present & ~np.isfinite(numbers)
        return np.where(not_number, np.nan, numbers), not_number
    # Text repeats (counts, FTE with two decimals, shares): parse each distinct text once, so
    # 660,000 cells cost a hash pass plus a Python loop over a few thousand values.
    codes, distinct = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    parsed = np.array([number_from_text(str(v), decimal_comma) for v in distinct], dtype=float)
    present = codes >= 0
    numbers = np.full(len(values), np.nan)
    numbers[present] = parsed[codes[present]]
    return numbers, present & np.isnan(numbers)


def number_from_text(text: str, decimal_comma: bool) -> float:
    """One cell's text → a finite float, or NaN when it is not a plain number.

    Python's ``float`` is exact (a CSV written by the engine reads back bit for bit); we refuse
    what it would accept but a person did not mean as a number: ``nan``, ``inf``, ``1_000``,
    non-ASCII digits and control characters anywhere in the text (NUL, ``\x1f``: Python's own
    ``strip`` would quietly drop some).
    """
    cleaned = text.strip(" \t\r\n\u00a0")
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in cleaned):
        return math.nan  # a control character inside ("3\x004"): not what a person typed
    cleaned = cleaned.strip()
    if decimal_comma:
        cleaned = cleaned.replace(",", ".").replace(" ", "").replace("\u00a0", "")
        cleaned = cleaned.replace("\u202f", "")
    if not cleaned.isascii() or "_" in cleaned:
        return math.nan
    try:
        number = float(cleaned)
    except ValueError:
        return math.nan
    return number if math.isfinite(number) else math.nan


def _month_ordinal(value: object) -> int:
    """Months since 1970-01 of one ``YYYY-MM`` text or date object; NaT's ordinal if neither."""
    if isinstance(value, dt.date):  # a date column read as Python dates (Parquet date32)
        return (value.year - 1970) * 12 + value.month - 1
    if isinstance(value, str) and re.fullmatch(MONTH_PATTERN, value):
        return (int(value[:4]) - 1970) * 12 + int(value[5:7]) - 1
    return _NAT_ORDINAL


def parse_month_column(values: pd.Series) -> ParsedColumn:
    """``YYYY-MM`` text → ``Period[M]``; dates stored as dates (Parquet, DuckDB) → their month."""
    if isinstance(values.dtype, pd.PeriodDtype):
        return ParsedColumn(values.dt.asfreq("M"))
    if ptypes.is_datetime64_any_dtype(values.dtype):
        stamps = values.dt.tz_localize(None) if values.dt.tz is not None else values
        return ParsedColumn(stamps.dt.to_period("M"))
    # Months repeat (≈120 distinct in 660,000 rows): parse each distinct value once.
    codes, distinct = pd.factorize(values.astype(object), use_na_sentinel=True)
    ordinal_distinct = np.array([_month_ordinal(v) for v in distinct], dtype=np.int64)
    good_distinct = ordinal_distinct != _NAT_ORDINAL
    present = codes >= 0
    safe_codes = np.where(present, codes, 0)
    if len(distinct):
        ordinals = np.where(present, ordinal_distinct[safe_codes], _NAT_ORDINAL)
        good = present & good_distinct[safe_codes]
    else:
        ordinals = np.full(len(values), _NAT_ORDINAL, dtype=np.int64)
        good = np.zeros(len(values), dtype=bool)
    periods = pd.Series(
        pd.arrays.PeriodArray(ordinals, dtype=pd.PeriodDtype("M")), name=values.name
    )
    return ParsedColumn(periods, [(present & ~good, BAD_MONTH)])
