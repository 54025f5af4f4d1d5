"""Where every assembled column came from, and from when its values were known.

``lineage.csv`` (written by ``bemanning assemble``) has one row per table, column and source file:
``table, column, source_file, fingerprint, every, published_after_months``. A tidy folder holding
it keeps its point-in-time rules: :func:`publication` gives, per column, the coarsest period and
the longest lag of the sources that filled it (the cautious reading when sources differ).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

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
