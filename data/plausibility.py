"""Plausibility rules from the domain, on top of the contract's types and ranges.

A value can be a valid number and still impossible: one kindergarten with a million children or
1e300 FTE, or an observed month after the present. Those are errors (the engine would otherwise
forecast from them, or overflow). A value that is possible but unlikely — a kindergarten whose
children or staff double or halve from one month to the next — is a warning for the user to check.

The limits are generous on purpose: Norway's largest kindergartens have a few hundred children
and some tens of FTE, so anything beyond the limits below is a unit or typing error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from data.contract_checks import mask_problems, shown
from data.errors import Problem
from data.readers import RawTable


@dataclass(frozen=True)
class Limit:
    column: str
    largest: float
    what: str

    @property
    def rule(self) -> str:
        return (
            f"impossible magnitude: {self.what} above {self.largest:,.0f} "
            "(far beyond any kindergarten; a unit or typing error?)"
        ).replace(",", " ")


#: Largest plausible value per column and table; a value above it is an error.
LIMITS: dict[str, tuple[Limit, ...]] = {
    "kindergartens": (Limit("capacity", 1_000, "capacity in places"),),
    "monthly": (
        Limit("children_under3", 1_000, "children under 3 in one kindergarten"),
        Limit("children_over3", 1_000, "children 3 and over in one kindergarten"),
        Limit("waiting_list", 10_000, "applicants waiting for one kindergarten"),
        Limit("vedtak_31", 1_000, "§ 31 decisions in one kindergarten"),
        Limit("vedtak_37", 1_000, "§ 37 decisions in one kindergarten"),
        Limit("staff_fte", 300, "staff FTE in one kindergarten"),
        Limit("pedagogue_fte", 300, "pedagogue FTE in one kindergarten"),
        Limit("resource_pedagogue_fte", 300, "resource pedagogue FTE in one kindergarten"),
        Limit("staff_leavers", 300, "staff leaving one kindergarten in a month"),
    ),
    "population": tuple(
        Limit(column, 1_000_000, "children in one district or area (Norway has ~300 000)")
        for column in ("population_1_5", *(f"population_{age}" for age in range(6)))
    ),
}
#: Total children in one kindergarten beyond which the sum is impossible (each count may pass).
MOST_CHILDREN = 1_000
FUTURE_MONTH = "month is after the present ({present}): observed data cannot come from the future"
CHILDREN_JUMP = (
    "implausible jump: children more than doubled or fell by more than half (and by more than "
    "{least}) from the month before"
)
STAFF_JUMP = (
    "implausible jump: staff FTE more than doubled or fell by more than half (and by more than "
    "{least}) from the month before"
)
#: A month-to-month change is flagged when the value more than doubles or halves (August's
#: intake moves children by a third, never by half) and changes by more than this.
LEAST_CHILDREN_JUMP = 20
LEAST_STAFF_JUMP = 5.0


def current_month() -> pd.Period:
    return pd.Period(datetime.now(UTC).strftime("%Y-%m"), freq="M")


def plausibility_problems(
    tables: dict[str, RawTable],
    typed: dict[str, pd.DataFrame],
    *,
    present: pd.Period | None = None,
) -> list[Problem]:
    """Every plausibility problem of the parsed tables (errors and warnings)."""
    problems: list[Problem] = []
    for table, limits in LIMITS.items():
        if table in typed and table in tables:
            problems += _magnitudes(tables[table], typed[table], limits)
    if "monthly" in typed and "monthly" in tables:
        raw, monthly = tables["monthly"], typed["monthly"]
        problems += _too_many_children(raw, monthly)
        problems += _future_months(raw, monthly, present or current_month())
        problems += _jumps(raw, monthly)
    return problems


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].to_numpy(dtype=float, na_value=np.nan)


def _magnitudes(raw: RawTable, frame: pd.DataFrame, limits: tuple[Limit, ...]) -> list[Problem]:
    problems: list[Problem] = []
    for limit in limits:
        if limit.column not in frame.columns:
            continue
        values = _numbers(frame, limit.column)
        with np.errstate(invalid="ignore"):
            mask = values > limit.largest
        problems += mask_problems(raw, mask, limit.column, limit.rule, frame[limit.column])
    return problems


def _too_many_children(raw: RawTable, monthly: pd.DataFrame) -> list[Problem]:
    under3, over3 = _numbers(monthly, "children_under3"), _numbers(monthly, "children_over3")
    total = under3 + over3
    with np.errstate(invalid="ignore"):
        # each count within its own limit, but together impossible
        mask = (total > MOST_CHILDREN) & (under3 <= MOST_CHILDREN) & (over3 <= MOST_CHILDREN)
    rule = f"impossible magnitude: more than {MOST_CHILDREN} children in one kindergarten"
    return mask_problems(raw, mask, "children_under3, children_over3", rule, total)


def _future_months(raw: RawTable, monthly: pd.DataFrame, present: pd.Period) -> list[Problem]:
    months = monthly["month"]
    ordinals = months.array.asi8  # type: ignore[union-attr]
    nat = np.iinfo(np.int64).min
    mask = (ordinals != nat) & (ordinals > present.ordinal)
    return mask_problems(raw, mask, "month", FUTURE_MONTH.format(present=present), months)


def _jumps(raw: RawTable, monthly: pd.DataFrame) -> list[Problem]:
    """Warnings for a value that more than doubles or halves from one month to the next,
    between consecutive months only (a gap in the data is not a jump)."""
    ordinals = monthly["month"].array.asi8  # type: ignore[union-attr]
    order = np.lexsort((ordinals, monthly["kindergarten_id"].astype(str).to_numpy()))
    ids = monthly["kindergarten_id"].astype(str).to_numpy()[order]
    months = ordinals[order]
    follows = np.zeros(len(order), dtype=bool)
    follows[1:] = (ids[1:] == ids[:-1]) & (months[1:] - months[:-1] == 1)
    problems: list[Problem] = []
    children = _numbers(monthly, "children_under3") + _numbers(monthly, "children_over3")
    for values, least, rule, column in (
        (children, LEAST_CHILDREN_JUMP, CHILDREN_JUMP, "children_under3, children_over3"),
        (_numbers(monthly, "staff_fte"), LEAST_STAFF_JUMP, STAFF_JUMP, "staff_fte"),
    ):
        now = values[order]
        before = np.full(len(order), np.nan)
        before[1:] = now[:-1]
        change = np.abs(now - before)
        with np.errstate(invalid="ignore"):
            jump = follows & (change > least) & ((now > 2 * before) | (now < 0.5 * before))
        flagged = np.zeros(len(order), dtype=bool)
        flagged[order] = jump  # back to the table's own row order
        found = np.full(len(order), None, dtype=object)
        for i in np.flatnonzero(jump)[:50]:
            found[order[i]] = f"{shown(before[i])} → {shown(now[i])}"
        problems += mask_problems(
            raw, flagged, column, rule.format(least=least), found, severity="warning"
        )
    return problems
