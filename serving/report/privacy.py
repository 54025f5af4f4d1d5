"""Small-number suppression for what leaves the protected zone.

DOMAIN.md: any count below 5 of § 31 / § 37 decisions shown in an export or a report marked
*internal* is shown as "<5", because a small count of decisions can identify a child.
"""

from __future__ import annotations

import math

import pandas as pd

#: Counts strictly below this are suppressed.
SUPPRESSION_THRESHOLD = 5
SUPPRESSED = "<5"
#: Columns holding counts of decisions that identify children when small.
DECISION_COUNT_COLUMNS = ("vedtak_31", "vedtak_37")


def suppress_count(value: float | int | None, *, threshold: int = SUPPRESSION_THRESHOLD) -> str:
    """One decision count as shown outside the protected zone: "<5" below the threshold,
    "–" when unknown, else the whole number."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if value < 0:
        raise ValueError(f"a count cannot be negative (found {value})")
    if value < threshold:
        return SUPPRESSED
    return f"{round(value):d}"


def suppress_decision_counts(
    frame: pd.DataFrame,
    columns: tuple[str, ...] = DECISION_COUNT_COLUMNS,
    *,
    threshold: int = SUPPRESSION_THRESHOLD,
) -> pd.DataFrame:
    """A copy of ``frame`` whose decision-count columns are strings with counts under
    ``threshold`` replaced by "<5" (other columns untouched; absent columns ignored)."""
    out = frame.copy()
    for column in columns:
        if column in out.columns:
            out[column] = [suppress_count(v, threshold=threshold) for v in out[column]]
    return out
