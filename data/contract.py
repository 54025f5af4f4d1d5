"""Names fixed by the data contract (docs/CONTRACT.md) and the container the rest of the
engine passes around.

Months are pandas ``Period[M]`` inside the engine and ``YYYY-MM`` strings in files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

KINDERGARTEN_ID = "kindergarten_id"
MONTH = "month"
DISTRICT = "district"
AREA = "area"

TABLES = ("kindergartens", "monthly", "population")
REQUIRED_TABLES = ("kindergartens", "monthly")

#: Forecast targets, in the order the contract lists them.
TARGETS = (
    "children_under3",
    "children_over3",
    "vedtak_31",
    "vedtak_37",
    "sick_leave_rate",
    "staff_leavers",
)
COUNT_TARGETS = ("children_under3", "children_over3", "vedtak_31", "vedtak_37", "staff_leavers")
SHARE_TARGETS = ("sick_leave_rate",)

QUANTILES = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)
QUANTILE_COLUMNS = ("p05", "p10", "p25", "p50", "p75", "p90", "p95")

FORECAST_COLUMNS = (
    "kindergarten_id",
    "origin",
    "month",
    "horizon",
    "target",
    *QUANTILE_COLUMNS,
)
#: The numbers of a plan line (FTE and the shortfall risk).
PLAN_NUMBER_COLUMNS = (
    "current_fte",
    "suggested_fte",
    "change_fte",
    "required_fte_p50",
    "required_fte_p90",
    "shortfall_risk",
)
PLAN_COLUMNS = (
    "plan_id",
    "kindergarten_id",
    "period",
    "resource",
    *PLAN_NUMBER_COLUMNS,
    "reason",
)
RESOURCES = ("staff", "pedagogue", "resource_pedagogue")

#: Feature-table columns whose values are known in advance for any month (calendar, the August
#: shift, population projections) carry this prefix; all other features use only data up to t.
KNOWN_FUTURE_PREFIX = "known_"

SIMULATED_LABEL = "SIMULATED DATA — not real kindergartens"
#: What a simulated kindergarten's or municipality's name ends with (pages say it in their
#: language: ``serving.words.place_name``).
SIMULATED_NAME_SUFFIX = " (simulated)"


@dataclass
class District:
    """The validated input tables of one data set (one or many districts).

    ``monthly`` is sorted by (kindergarten_id, month) with ``month`` as ``Period[M]``;
    ``kindergartens.opened``/``closed`` are ``Period[M]`` or NaT. ``simulated`` is true for data
    made by :mod:`simulate`, and everything that shows such data says so.
    """

    kindergartens: pd.DataFrame
    monthly: pd.DataFrame
    population: pd.DataFrame | None = None
    simulated: bool = False
    source: str = ""
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: Rules broken softly (e.g. children above capacity by more than 10 %): shown, not fatal.
    warnings: list = field(default_factory=list)
    #: Quality indicators, long (kindergarten_id, month, indicator, value); None when absent.
    quality: pd.DataFrame | None = None
    #: Where each column came from (``data.lineage``): source file, period, publication lag.
    #: None for a tidy data set without lineage.csv (every value known at the end of its month).
    lineage: pd.DataFrame | None = None

    def fingerprint(self) -> str:
        """A short, stable hash of the data, recorded with every model and plan."""
        return district_fingerprint(self)

    @property
    def last_month(self) -> pd.Period:
        return self.monthly[MONTH].max()

    @property
    def first_month(self) -> pd.Period:
        return self.monthly[MONTH].min()


def month_to_str(values: pd.Series) -> pd.Series:
    """``Period[M]`` (or NaT) → ``YYYY-MM`` strings (or empty), for writing files."""
    return values.dt.strftime("%Y-%m").where(values.notna(), None)


def parse_month(text: str) -> pd.Period:
    """One ``YYYY-MM`` string from a user (command line) → ``Period[M]``; raises ValueError."""
    import re

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text.strip()):
        raise ValueError(f"month {text!r} is not YYYY-MM")
    return pd.Period(text.strip(), freq="M")


def data_paths(folder: Path, table: str) -> list[Path]:
    """Files in ``folder`` that could hold ``table`` (any supported format)."""
    return [p for ext in (".csv", ".parquet", ".xlsx") if (p := folder / f"{table}{ext}").exists()]


def district_fingerprint(district: District) -> str:
    """sha256 over the contract's tables (values, column names, row order), 16 hex digits.

    Hashes each column's values directly (months by their ordinal) rather than formatting every
    cell as text, so a nation-sized panel fingerprints in well under a second.
    """
    import hashlib

    digest = hashlib.sha256()
    frames = [district.kindergartens, district.monthly, district.population]
    if district.quality is not None:  # data sets without quality keep their fingerprint
        frames.append(district.quality)
    for frame in frames:
        if frame is None:
            digest.update(b"none")
            continue
        digest.update(",".join(map(str, frame.columns)).encode())
        for name in frame.columns:
            column = frame[name]
            if isinstance(column.dtype, pd.PeriodDtype):
                column = pd.Series(column.array.asi8, index=column.index).where(column.notna(), -1)
            elif column.dtype == object:
                column = column.astype("string")
            hashed = pd.util.hash_pandas_object(column, index=False)
            digest.update(hashed.to_numpy().tobytes())
    return digest.hexdigest()[:16]
