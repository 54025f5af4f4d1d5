"""The contract's rules as vectorised checks that return :class:`Problem` lists.

Checks work on whole columns (boolean masks), never row loops, so a national data set of ~660,000
monthly rows is checked in seconds. A rule broken by many rows lists the first
:data:`~data.schemas.MAX_LISTED_PER_RULE` and then one line stating how many more there are:
nothing is dropped without being counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pandera.pandas as pa

from data.errors import Problem, Severity
from data.readers import RawTable
from data.schemas import (
    CLOSED_BEFORE_OPENED,
    MAX_LISTED_PER_RULE,
    OUTSIDE_OPEN_MONTHS,
    OVER_CAPACITY,
    UNKNOWN_KINDERGARTEN,
    WRONG_TYPE,
    more_rows_rule,
    schema_messages,
)

_NAT = np.iinfo(np.int64).min
_FOREVER = np.iinfo(np.int64).max


def shown(value: object) -> object:
    """A value as a report shows it: months as YYYY-MM, numpy scalars as Python ones."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating) and np.isnan(value):
        return None
    if isinstance(value, pd.Period):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def mask_problems(
    raw: RawTable,
    mask: np.ndarray,
    column: str | None,
    rule: str,
    values: Sequence[object] | pd.Series | np.ndarray | None,
    severity: Severity = "error",
) -> list[Problem]:
    """One problem per row in ``mask`` (the first :data:`MAX_LISTED_PER_RULE`, then a count)."""
    positions = np.flatnonzero(mask)
    if positions.size == 0:
        return []
    listed = positions[:MAX_LISTED_PER_RULE]
    problems = [
        Problem(
            file=raw.file,
            rule=rule,
            row=int(raw.rows[i]),
            column=column,
            value=_value_at(values, int(i)),
            severity=severity,
        )
        for i in listed
    ]
    if positions.size > listed.size:
        more = int(positions.size - listed.size)
        problems.append(
            Problem(
                file=raw.file, rule=more_rows_rule(rule, more), column=column, severity=severity
            )
        )
    return problems


def _listed_values(mask: np.ndarray, describe: Callable[[int], object]) -> np.ndarray:
    """Describe only the rows a report will list (building text for 660k rows would be slow)."""
    values = np.full(mask.size, None, dtype=object)
    for i in np.flatnonzero(mask)[:MAX_LISTED_PER_RULE]:
        values[i] = describe(int(i))
    return values


def _value_at(values: Sequence[object] | pd.Series | np.ndarray | None, i: int) -> object:
    if values is None:
        return None
    return shown(values.iat[i] if isinstance(values, pd.Series) else values[i])


def schema_problems(
    raw: RawTable,
    typed: pd.DataFrame,
    schema: pa.DataFrameSchema,
    already_reported: dict[str, np.ndarray],
) -> list[Problem]:
    """Run the table's pandera schema lazily and turn every failure case into a problem.

    Rows whose value already failed to parse in a column are not reported again for that column
    (a bad number is one problem, not also "required value is empty").
    """
    try:
        schema.validate(typed, lazy=True, inplace=True)  # the frame is ours: skip a copy
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return []
    messages = schema_messages(raw.table)
    key = list(schema.unique or [])
    problems: list[Problem] = []
    n_rows = len(typed)
    for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        rule = messages.get(str(check), str(check))
        index = pd.to_numeric(group["index"], errors="coerce").dropna().astype(int).to_numpy()
        if index.size == 0:  # a table-level failure (a dtype): no row to point at
            problems.append(Problem(file=raw.file, rule=WRONG_TYPE, column=str(column)))
            continue
        if check == "multiple_fields_uniqueness":
            if column != key[0]:
                continue  # pandera lists each key column; one problem per row is enough
            mask = np.zeros(n_rows, dtype=bool)
            mask[index] = True
            for k in key:  # a key that failed to parse is reported once, as that failure
                mask &= ~already_reported.get(k, np.zeros(n_rows, dtype=bool))
            key_text = _listed_values(
                mask, lambda i: ", ".join(str(shown(typed[k].iat[i])) for k in key)
            )
            problems += mask_problems(raw, mask, ", ".join(key), rule, key_text)
            continue
        mask = np.zeros(n_rows, dtype=bool)
        mask[index] = True
        mask &= ~already_reported.get(str(column), np.zeros(n_rows, dtype=bool))
        problems += mask_problems(raw, mask, str(column), rule, typed[str(column)])
    return problems


def key_duplicate_problems(
    raw: RawTable,
    typed: pd.DataFrame,
    key: Sequence[str],
    rule: str,
    already_reported: dict[str, np.ndarray],
) -> list[Problem]:
    """Rows whose key an earlier row already holds (the first holder is not reported).

    Done here rather than by pandera's ``unique``: months compared as integer ordinals are ~20×
    faster than pandas comparing boxed Period objects on 660,000 rows.
    """
    n_rows = len(typed)
    columns = {}
    for name in key:
        values = typed[name]
        is_month = isinstance(values.dtype, pd.PeriodDtype)
        columns[name] = values.array.asi8 if is_month else values  # type: ignore[union-attr]
    mask = pd.DataFrame(columns).duplicated(keep="first").to_numpy()
    for name in key:  # a key that failed to parse is reported once, as that failure
        mask &= ~already_reported.get(name, np.zeros(n_rows, dtype=bool))
    found = _listed_values(mask, lambda i: ", ".join(str(shown(typed[k].iat[i])) for k in key))
    return mask_problems(raw, mask, ", ".join(key), rule, found)


def _ordinals(periods: pd.Series, missing: int) -> np.ndarray:
    ordinals = periods.array.asi8.copy()  # type: ignore[union-attr]
    ordinals[ordinals == _NAT] = missing
    return ordinals


def opened_closed_problems(raw: RawTable, kindergartens: pd.DataFrame) -> list[Problem]:
    """A kindergarten cannot close before it opens."""
    opened = _ordinals(kindergartens["opened"], _NAT)
    closed = _ordinals(kindergartens["closed"], _FOREVER)
    mask = (opened != _NAT) & (closed != _FOREVER) & (closed < opened)
    return mask_problems(raw, mask, "closed", CLOSED_BEFORE_OPENED, kindergartens["closed"])


def monthly_vs_kindergartens(
    raw: RawTable, monthly: pd.DataFrame, kindergartens: pd.DataFrame
) -> list[Problem]:
    """Monthly rows must belong to a known kindergarten and fall inside its opened/closed months;
    children above capacity by more than 10 % (in over-3 equivalents) is a warning."""
    known = kindergartens.drop_duplicates("kindergarten_id").set_index("kindergarten_id")
    ids = monthly["kindergarten_id"]
    unknown = (ids.notna() & ~ids.isin(known.index)).to_numpy()
    problems = mask_problems(raw, unknown, "kindergarten_id", UNKNOWN_KINDERGARTEN, ids)

    position = known.index.get_indexer(pd.Index(ids))
    matched = position >= 0
    month = _ordinals(monthly["month"], _NAT)
    opened = np.full(len(monthly), _NAT)
    closed = np.full(len(monthly), _FOREVER)
    opened[matched] = _ordinals(known["opened"], _NAT)[position[matched]]
    closed[matched] = _ordinals(known["closed"], _FOREVER)[position[matched]]
    outside = matched & (month != _NAT) & ((month < opened) | (month > closed))
    if outside.any():
        row_of = known.reset_index()

        def span(i: int) -> str:
            kindergarten = row_of.iloc[position[i]]
            opened_at = shown(kindergarten["opened"]) or "-"
            closed_at = shown(kindergarten["closed"]) or "-"
            return f"{shown(monthly['month'].iat[i])} (opened {opened_at}, closed {closed_at})"

        found = _listed_values(outside, span)
        problems += mask_problems(raw, outside, "month", OUTSIDE_OPEN_MONTHS, found)

    capacity = np.full(len(monthly), np.nan)
    capacity[matched] = known["capacity"].to_numpy(dtype=float, na_value=np.nan)[position[matched]]
    capacity[capacity < 0] = np.nan  # a negative capacity is reported as such, not compared with
    under3 = monthly["children_under3"].to_numpy(dtype=float, na_value=np.nan)
    over3 = monthly["children_over3"].to_numpy(dtype=float, na_value=np.nan)
    places = 2 * under3 + over3
    with np.errstate(invalid="ignore"):
        crowded = places > 1.1 * capacity
    if crowded.any():
        found = _listed_values(
            crowded,
            lambda i: (
                f"2·{under3[i]:.0f} + {over3[i]:.0f} = {places[i]:.0f} places "
                f"for capacity {capacity[i]:.0f}"
            ),
        )
        problems += mask_problems(
            raw, crowded, "children_under3, children_over3", OVER_CAPACITY, found, "warning"
        )
    return problems
