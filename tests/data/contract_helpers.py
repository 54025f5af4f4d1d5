"""A tiny hand-built data set for the data-contract tests, and helpers to break it on purpose.

Three kindergartens, three months each (June–August 2023, so the August shift is inside), one
population table; every value is small enough to check by eye. Not simulated by the engine: built
here so each test controls exactly one broken cell.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.contract import District
from data.errors import DataContractError, Problem
from data.validate import read_district, validate_district
from data.writers import write_district

MONTHS = ("2023-06", "2023-07", "2023-08")


def tiny_district(n_kindergartens: int = 3) -> District:
    """A valid district: names with æøå, one empty optional area, an empty optional column."""
    ids = [f"K{i:02d}" for i in range(n_kindergartens)]
    kindergartens = pd.DataFrame(
        {
            "kindergarten_id": ids,
            "name": [
                f"Tøyen barnehage {i}" if i % 2 else f"Kampen Ærlig {i}" for i in range(len(ids))
            ],
            "district": "Bydel Gamle Oslo",
            "area": [None if i == 1 else "Grønland" for i in range(len(ids))],
            "capacity": [72 + 6 * i for i in range(len(ids))],
            "opened": pd.PeriodIndex(["2010-08"] + [None] * (len(ids) - 1), freq="M"),
            "closed": pd.PeriodIndex([None] * len(ids), freq="M"),
        }
    )
    rows = []
    for i, kindergarten in enumerate(ids):
        for j, month in enumerate(MONTHS):
            rows.append(
                {
                    "kindergarten_id": kindergarten,
                    "month": pd.Period(month, freq="M"),
                    "children_under3": 12 + i - (4 if j == 2 else 0),
                    "children_over3": 30 + i + (4 if j == 2 else 0),
                    "waiting_list": pd.NA if j == 0 else 2,
                    "vedtak_31": 1 + (i % 2),
                    "vedtak_37": 0,
                    "minority_language_share": 0.25 + 0.05 * (i % 10),
                    "low_income_share": 0.125,
                    "staff_fte": 10.5 + i,
                    "pedagogue_fte": 4.0,
                    "resource_pedagogue_fte": np.nan,
                    "sick_leave_rate": round(0.083 + 0.01 * j, 4),
                    "staff_leavers": 1 if j == 1 else 0,
                }
            )
    population = pd.DataFrame(
        {
            "district": "Bydel Gamle Oslo",
            "area": [None, None, "Grønland"],
            "year": [2023, 2024, 2023],
            "population_1_5": [3210, 3150, 1020],
            "population_0": [650, 640, 200],
        }
    )
    return validate_district(District(kindergartens, pd.DataFrame(rows), population))


def write_tiny(folder: Path, fmt: str = "csv", district: District | None = None) -> Path:
    """Write the tiny district (or ``district``) and return what ``read_district`` takes."""
    written = write_district(district or tiny_district(), folder, fmt)  # type: ignore[arg-type]
    return written[0] if fmt == "duckdb" else folder


def edit_csv(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell of a CSV as text; ``row`` as the user counts it (header = row 1)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row - 2, column] = value
    frame.to_csv(path, index=False)


def problems_of(path: Path, **kwargs: object) -> list[Problem]:
    """Every problem ``read_district`` raises for ``path`` (fails the test if none is raised)."""
    with pytest.raises(DataContractError) as caught:
        read_district(path, **kwargs)  # type: ignore[arg-type]
    return caught.value.problems


def only(problems: list[Problem], rule: str) -> Problem:
    """The single problem with exactly this rule message."""
    matching = [p for p in problems if p.rule == rule]
    assert len(matching) == 1, f"expected one {rule!r}, got {problems}"
    return matching[0]
