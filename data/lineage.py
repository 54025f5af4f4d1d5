"""Where every assembled column came from, and from when its values were known.

``lineage.csv`` (written by ``bemanning assemble``) has one row per table, column and source file:
``table, column, source_file, fingerprint, every, published_after_months``. A tidy folder holding
it keeps its point-in-time rules: :func:`publication` gives, per column, the coarsest period and
the longest lag of the sources that filled it (the cautious reading when sources differ).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from data.contract import District
from data.periods import MONTHS_PER_PERIOD

LINEAGE_FILE = "lineage.csv"
LINEAGE_COLUMNS = (
    "table",
    "column",
    "source_file",
    "fingerprint",
    "every",
    "published_after_months",
)


@dataclass(frozen=True)
class Publication:
    """How a column's values arrive: one per ``every`` period, known ``lag`` months after it."""

    every: str
    lag: int

    @property
    def is_immediate(self) -> bool:
        """Monthly and known at the end of the month: nothing to hold back."""
        return self.every == "month" and self.lag == 0


IMMEDIATE = Publication("month", 0)


def file_fingerprint(path: Path) -> str:
    """sha256 of the file's bytes, 16 hex digits (which version of an export was used)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def lineage_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(LINEAGE_COLUMNS))


def publication(lineage: pd.DataFrame | None, table: str, column: str) -> Publication:
    """The coarsest period and longest lag of the sources of ``table.column``."""
    if lineage is None or len(lineage) == 0:
        return IMMEDIATE
    rows = lineage[(lineage["table"] == table) & (lineage["column"] == column)]
    if len(rows) == 0:
        return IMMEDIATE
    every = max(rows["every"].astype(str), key=lambda e: (MONTHS_PER_PERIOD.get(e, 1), e))
    lag = int(pd.to_numeric(rows["published_after_months"], errors="coerce").fillna(0).max())
    return Publication(every, lag)


def known_at(district: District, month: pd.Period) -> District:
    """The data set as a backtest origin at the end of ``month`` sees it: monthly rows after it
    dropped, and quality values not yet published then (their month + the source's lag) dropped.

    Monthly values of coarse or lagged sources are kept: the feature table reads each of them
    as known at its month (``features.availability``), and the forecasting pipeline needs a
    target's value at the origin to forecast its change from there."""
    monthly = district.monthly[district.monthly["month"] <= month].reset_index(drop=True)
    quality = district.quality
    if quality is not None:
        indicators = quality["indicator"].unique()
        lags = {i: publication(district.lineage, "quality", i).lag for i in indicators}
        months = quality["month"].array.asi8  # type: ignore[attr-defined]
        known = months + quality["indicator"].map(lags).to_numpy()
        quality = quality[known <= month.ordinal].reset_index(drop=True)
    return replace(district, monthly=monthly, quality=quality)


def read_lineage(folder: Path) -> pd.DataFrame | None:
    """``lineage.csv`` of a tidy folder, or None when it has none."""
    path = Path(folder) / LINEAGE_FILE
    if not path.exists():
        return None
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in LINEAGE_COLUMNS if c not in frame.columns]
    if missing:
        return None
    frame["published_after_months"] = (
        pd.to_numeric(frame["published_after_months"], errors="coerce").fillna(0).astype(int)
    )
    return frame[list(LINEAGE_COLUMNS)]
