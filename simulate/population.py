"""Population by area and year: the real SSB figures for Oslo's districts, projected ahead with a
cohort-component trend, split into simulated areas, and scaled into simulated municipalities.

All counts are residents on 1 January by single-year age (CONTRACT.md's population table).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

AGES = tuple(f"population_{a}" for a in range(6))
DATA_FILE = (
    Path(__file__).resolve().parent.parent / "data" / "real" / "oslo_population_0_5_by_district.csv"
)
#: Years of the log-linear birth trend and of the cohort ratios used for projection.
TREND_YEARS = 6


def load_oslo_population(path: Path = DATA_FILE) -> pd.DataFrame:
    """The real table (SSB 10826): district, year, population_1_5, population_0 … population_5."""
    return _read_population(path).copy()


@functools.lru_cache(maxsize=4)
def _read_population(path: Path) -> pd.DataFrame:
    # read once per process: tests and notebooks simulate many small districts
    return pd.read_csv(path)


def project_district_population(real: pd.DataFrame, last_year: int) -> pd.DataFrame:
    """Extend each district's single-year ages to ``last_year`` (cohort-component projection).

    Births (age 0) follow a log-linear trend fitted to the last ``TREND_YEARS`` real years, its
    slope clipped to ±5 % a year; each older age is last year's cohort one year younger times the
    mean survival-and-migration ratio of that step over the same years. Adds ``projection`` (bool).
    """
    out = []
    for district, frame in real.groupby("district", sort=False):
        frame = frame.sort_values("year")
        years = frame["year"].to_numpy()
        values = frame[list(AGES)].to_numpy(dtype=float)
        last = int(years[-1])
        recent = values[-TREND_YEARS:]
        slope = np.polyfit(years[-TREND_YEARS:], np.log(recent[:, 0]), 1)[0]
        slope = float(np.clip(slope, -0.05, 0.05))
        # ratio of age a in year y to age a−1 in year y−1, averaged over the recent years
        ratios = (recent[1:, 1:] / recent[:-1, :-1]).mean(axis=0)
        extra = max(last_year - last, 0)
        projected = np.empty((extra, 6))
        previous = values[-1]
        for i in range(extra):
            previous = np.concatenate(
                [[values[-1, 0] * np.exp(slope * (i + 1))], previous[:-1] * ratios]
            )
            projected[i] = previous
        table = pd.DataFrame(
            np.rint(np.vstack([values, projected])).astype(np.int64), columns=list(AGES)
        )
        table.insert(0, "year", np.concatenate([years, np.arange(last + 1, last + 1 + extra)]))
        table.insert(0, "district", district)
        table["projection"] = table["year"] > last
        out.append(table)
    result = pd.concat(out, ignore_index=True)
    result.insert(2, "population_1_5", result[list(AGES[1:])].sum(axis=1))
    return result


def scale_municipalities(
    rng: np.random.Generator, oslo: pd.DataFrame, names: list[str], scales: np.ndarray
) -> pd.DataFrame:
    """Simulated municipalities: each a copy of a random Oslo district's (projected) population,
    multiplied by its scale and by a gentle own trend (±1.5 % a year), so their births still move
    with real Norwegian birth cycles. ``projection`` is kept; all such rows are simulated."""
    districts, years, cube, projection = population_cube(oslo)
    base = rng.integers(len(districts), size=len(names))
    trend = np.exp(rng.normal(0.0, 0.015, len(names))[:, None] * (years[None, :] - 2014))
    counts = np.rint(cube[base] * (scales[:, None] * trend)[:, :, None]).astype(np.int64)
    return cube_frame(names, None, years, counts, projection)


def population_cube(
    table: pd.DataFrame,
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(districts, years, counts[district, year, age], projection[year]) of a district table in
    which every district has the same years."""
    table = table.sort_values(["district", "year"], kind="stable")
    districts = list(dict.fromkeys(table["district"]))
    years = np.sort(table["year"].unique())
    cube = table[list(AGES)].to_numpy().reshape(len(districts), len(years), len(AGES))
    projection = table.groupby("year")["projection"].first().reindex(years).to_numpy()
    return districts, years, cube, projection


def cube_frame(
    districts: list[str],
    areas: list[str] | None,
    years: np.ndarray,
    counts: np.ndarray,
    projection: np.ndarray,
) -> pd.DataFrame:
    """The long table of counts[unit, year, age] (one row per unit and year)."""
    n_units, n_years = counts.shape[:2]
    frame = pd.DataFrame({"district": np.repeat(districts, n_years)})
    if areas is not None:
        frame["area"] = np.repeat(areas, n_years)
    frame["year"] = np.tile(years, n_units)
    flat = counts.reshape(n_units * n_years, len(AGES))
    frame["population_1_5"] = flat[:, 1:].sum(axis=1)
    for j, col in enumerate(AGES):
        frame[col] = flat[:, j]
    frame["projection"] = np.tile(projection, n_units)
    return frame


@dataclass(frozen=True)
class AreaSpec:
    """One simulated area (delbydel): its district, its share of the district's children in
    ``base_year``, its disadvantage index (0 best … 1 poorest) and the yearly relative growth of
    its share (new housing grows, crowded inner-city areas lose families)."""

    name: str
    district: str
    share: float
    disadvantage: float
    share_growth: float


def split_into_areas(
    district_pop: pd.DataFrame, areas: list[AreaSpec], base_year: int
) -> pd.DataFrame:
    """Area rows: each district's count per age and year split between its areas by their drifting
    shares, rounded by largest remainder so the areas add up exactly to the district."""
    districts, years, cube, projection = population_cube(district_pop)
    pos = {name: i for i, name in enumerate(districts)}
    owner = np.array([pos[a.district] for a in areas])
    # shares per (area, year), renormalised within the district each year
    weights = np.array([a.share for a in areas])[:, None] * np.exp(
        np.array([a.share_growth for a in areas])[:, None] * (years[None, :] - base_year)
    )
    totals = np.zeros((len(districts), len(years)))
    np.add.at(totals, owner, weights)
    weights /= totals[owner]
    exact = cube[owner] * weights[:, :, None]  # (area, year, age)
    floor = np.floor(exact).astype(np.int64)
    placed = np.zeros_like(cube)
    np.add.at(placed, owner, floor)
    short = (cube - placed)[owner]  # units each area's district still has to hand out
    # rank areas within their district by remainder (largest first): sort by district, then by
    # descending remainder, and count the position from the district's first area
    key = owner[:, None, None] * 2.0 + (1.0 - (exact - floor))
    order = np.argsort(key, axis=0, kind="stable")
    first_of_district = np.searchsorted(np.sort(owner), owner)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(len(areas))[:, None, None], axis=0)
    rank -= first_of_district[:, None, None]
    counts = floor + (rank < short)
    return cube_frame(
        [a.district for a in areas], [a.name for a in areas], years, counts, projection
    )


def monthly_area_series(
    area_pop: pd.DataFrame, area_names: list[str], months: pd.PeriodIndex
) -> tuple[np.ndarray, np.ndarray]:
    """Per month and area: residents aged 1–5 and the ratio of 1–2-year-olds to 3–5-year-olds,
    interpolated linearly between 1 January figures. Shapes (n_months, n_areas)."""
    years = np.arange(months.year.min(), months.year.max() + 2)
    pop15 = np.zeros((len(years), len(area_names)))
    young = np.zeros_like(pop15)
    older = np.zeros_like(pop15)
    table = area_pop.set_index(["area", "year"]).sort_index()
    available = table.index.get_level_values("year")
    lo, hi = int(available.min()), int(available.max())
    idx = pd.MultiIndex.from_product([area_names, np.clip(years, lo, hi)], names=["area", "year"])
    picked = table.reindex(idx)
    shape = (len(area_names), len(years))
    pop15[:] = picked["population_1_5"].to_numpy().reshape(shape).T
    young[:] = (picked["population_1"] + picked["population_2"]).to_numpy().reshape(shape).T
    older[:] = (
        picked[["population_3", "population_4", "population_5"]]
        .sum(axis=1)
        .to_numpy()
        .reshape(shape)
        .T
    )
    frac = (months.month.to_numpy() - 1) / 12.0
    row = months.year.to_numpy() - years[0]

    def interp(arr: np.ndarray) -> np.ndarray:
        return arr[row] * (1 - frac[:, None]) + arr[row + 1] * frac[:, None]

    return interp(pop15), interp(young) / np.maximum(interp(older), 1.0)
