"""One raw export → a :class:`Part`: its rows' kindergarten, period and typed values, checked.

Every problem names the source file (its path inside the raw folder), the row as its user counts
it, the source's own column header and the rule. A value that breaks a rule is reported here
and left out of the assembly, so it is never reported twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data.contract_checks import mask_problems
from data.errors import Problem
from data.keys import NameIndex, resolve_keys
from data.periods import parse_periods
from data.quality import OUTSIDE_SCALE, Indicator
from data.readers import RawTable
from data.schemas import (
    MISSING_COLUMN,
    NEGATIVE_COUNT,
    NEGATIVE_FTE,
    REQUIRED_EMPTY,
    SHARE_OUT_OF_RANGE,
    TABLE_COLUMNS,
    Kind,
)
from data.sources import Source
from data.value_parsing import parse_column

BAD_PERIOD = "period label cannot be read as a {every}"
PERIOD_AS_NUMBER = "period was read as a number (store the period column as text)"
DUPLICATE_IN_SOURCE = "the same kindergarten and period appear twice in this file"
KEY_EMPTY = "kindergarten key is empty"


@dataclass
class Part:
    """A checked source: one entry per usable row (failed keys/periods dropped)."""

    source: Source
    file: str
    #: User row numbers of the kept rows.
    rows: np.ndarray
    #: Key columns (``kindergarten_id``; for population ``district, area, year``).
    keys: pd.DataFrame
    #: First and last month (ordinals) of each row's period (zeros where the table has none).
    start: np.ndarray
    end: np.ndarray
    #: contract column (or indicator) → float64 values (or objects, for text), NaN/None = empty.
    values: dict[str, np.ndarray] = field(default_factory=dict)
    #: contract column → the source's header (for messages).
    headers: dict[str, str] = field(default_factory=dict)


def column_kinds(table: str) -> dict[str, Kind]:
    return {spec.name: spec.kind for spec in TABLE_COLUMNS.get(table, ())}


def check_headers(raw: RawTable, source: Source) -> list[Problem]:
    """Headers sources.toml names that the file lacks (key, period and mapped columns)."""
    wanted = [source.key, source.period, *source.columns]
    return [
        Problem(file=raw.file, rule=MISSING_COLUMN, column=header, row=1)
        for header in dict.fromkeys(h for h in wanted if h)
        if header not in raw.frame.columns
    ]


def build_part(
    raw: RawTable,
    source: Source,
    *,
    known_ids: pd.Index | None,
    names: NameIndex | None,
    crosswalk: dict[str, dict[str, str]],
    catalogue: dict[str, Indicator],
    district: str | None,
) -> tuple[Part, list[Problem]]:
    """Parse and check one export whose headers are all present."""
    frame = raw.frame
    n = len(frame)
    problems: list[Problem] = []
    keep = np.ones(n, dtype=bool)
    keys = pd.DataFrame(index=range(n))

    if source.table != "population":
        assert source.key is not None
        key_values = frame[source.key].reset_index(drop=True)
        empty = key_values.isna().to_numpy()
        problems += mask_problems(raw, empty, source.key, KEY_EMPTY, None)
        result = resolve_keys(
            key_values,
            source.key_scheme,
            known_ids=known_ids,
            names=names,
            crosswalk=crosswalk,
        )
        failed = result.failed & ~empty
        for rule in dict.fromkeys(r for r in result.rules[failed]):
            mask = failed & (result.rules == rule)
            problems += mask_problems(raw, mask, source.key, str(rule), result.details)
        keep &= ~failed & ~empty
        keys["kindergarten_id"] = result.ids

    start = np.zeros(n, dtype=np.int64)
    end = np.zeros(n, dtype=np.int64)
    if source.period is not None:
        periods = parse_periods(frame[source.period].reset_index(drop=True), source.every)
        rule = BAD_PERIOD.format(every=source.every.replace("_", " "))
        problems += mask_problems(raw, periods.bad, source.period, rule, frame[source.period])
        problems += mask_problems(
            raw, periods.as_number, source.period, PERIOD_AS_NUMBER, frame[source.period]
        )
        keep &= ~periods.bad & ~periods.as_number
        start, end = periods.start, periods.end

    part = Part(source, raw.file, raw.rows, keys, start, end)
    kinds = column_kinds(source.table)
    for header, target in source.columns.items():
        part.headers[target.to] = header
        values = frame[header].reset_index(drop=True)
        if source.table == "quality":
            numbers, value_problems = _numbers(
                raw, header, values, "fte", target.scale, ranged=False
            )
            indicator = catalogue[target.to]
            high = np.inf if indicator.high is None else indicator.high
            with np.errstate(invalid="ignore"):
                outside = ~np.isnan(numbers) & ((numbers < indicator.low) | (numbers > high))
            value_problems += mask_problems(
                raw, outside, header, f"{OUTSIDE_SCALE} ({indicator.scale_text})", values
            )
            numbers[outside] = np.nan
            part.values[target.to] = numbers
        elif kinds[target.to] in ("id", "text"):
            text = parse_column(values, kinds[target.to]).values.to_numpy(dtype=object)
            part.values[target.to], value_problems = text, []
        elif kinds[target.to] == "month":
            parsed = parse_column(values, "month")
            value_problems = []
            for mask, rule in parsed.failures:
                value_problems += mask_problems(raw, mask, header, rule, values)
            ordinals = parsed.values.array.asi8.astype(float)  # type: ignore[attr-defined]
            ordinals[parsed.values.isna().to_numpy()] = np.nan
            part.values[target.to] = ordinals
        else:
            numbers, value_problems = _numbers(raw, header, values, kinds[target.to], target.scale)
            part.values[target.to] = numbers
        problems += value_problems

    if source.table == "population":
        year = (start // 12 + 1970).astype(float)
        year[~keep] = np.nan
        district_values = part.values.pop("district", None)
        if district_values is None:
            district_values = np.full(n, district, dtype=object)
        empty = pd.isna(district_values) & keep
        problems += mask_problems(raw, empty, part.headers.get("district"), REQUIRED_EMPTY, None)
        keep &= ~empty
        area = part.values.pop("area", np.full(n, None, dtype=object))
        keys = pd.DataFrame({"district": district_values, "area": area, "year": year})
        part.keys = keys
    elif source.table == "kindergartens" and "district" not in part.values and district:
        part.values["district"] = np.full(n, district, dtype=object)

    dup_columns = [keys[c].to_numpy() for c in keys.columns] + [start]
    duplicated = pd.DataFrame(dict(enumerate(dup_columns))).duplicated().to_numpy() & keep
    problems += mask_problems(
        raw, duplicated, source.key or source.period, DUPLICATE_IN_SOURCE, None
    )
    keep &= ~duplicated
    return _kept(part, keep), problems


def _numbers(
    raw: RawTable, header: str, values: pd.Series, kind: Kind, scale: float, *, ranged: bool = True
) -> tuple[np.ndarray, list[Problem]]:
    """Numbers of one column, scaled, with every bad value reported and left out (``ranged``:
    also the contract's range of the kind; quality values are checked against their scale)."""
    parsed = parse_column(values, kind, decimal_comma=raw.decimal_comma)
    problems = []
    for mask, rule in parsed.failures:
        problems += mask_problems(raw, mask, header, rule, values)
    numbers = pd.to_numeric(parsed.values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if scale != 1.0:
        numbers = _scaled(numbers, scale)
    with np.errstate(invalid="ignore"):
        if not ranged:
            bad, rule = np.zeros(len(numbers), dtype=bool), ""
        elif kind == "share":
            bad, rule = (numbers < 0) | (numbers > 1), SHARE_OUT_OF_RANGE
        elif kind == "fte":
            bad, rule = numbers < 0, NEGATIVE_FTE
        elif kind in ("count", "year"):
            bad, rule = numbers < 0, NEGATIVE_COUNT
        else:
            bad, rule = np.zeros(len(numbers), dtype=bool), ""
    problems += mask_problems(raw, bad, header, rule, values)
    numbers[bad] = np.nan
    return numbers, problems


def _scaled(numbers: np.ndarray, scale: float) -> np.ndarray:
    """``numbers × scale`` to 12 significant digits, so "5,23" % becomes exactly 0.0523."""
    present = ~np.isnan(numbers)
    distinct, inverse = np.unique(numbers[present] * scale, return_inverse=True)
    rounded = np.array([float(f"{v:.12g}") for v in distinct], dtype=float)
    out = np.full(len(numbers), np.nan)
    out[present] = rounded[inverse]
    return out


def _kept(part: Part, keep: np.ndarray) -> Part:
    return Part(
        source=part.source,
        file=part.file,
        rows=np.asarray(part.rows)[keep],
        keys=part.keys.loc[keep].reset_index(drop=True),
        start=part.start[keep],
        end=part.end[keep],
        values={name: values[keep] for name, values in part.values.items()},
        headers=part.headers,
    )
