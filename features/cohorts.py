"""Population of each kindergarten's area: the trend, and the share of under-3s that cross the
age-3 line at the next August.

The population table (CONTRACT.md) counts residents by single-year age on 1 January, with future
years as projections; it is published and projected ahead, so everything here is *known-future*
(prefix ``known_``) and can be looked up for any month. Years after the table's last year carry
the last year; years before its first are missing. A kindergarten is matched to its area's rows
when the table has that (district, area), else to its district (district-level rows, or the sum
of the district's area rows).

The crossing estimate. The contract has no age split of ``children_under3``. A child counts as
over 3 from August of the calendar year it turns 3, so in the kindergarten year that ends at
August Y the under-3 group holds two birth cohorts: born Y − 3 (who cross at August Y) and born
Y − 2 (who stay under 3 another year). On 1 January of year Y those cohorts are aged 2 and 1, so

    share crossing at August Y = population_2[Y] / (population_1[Y] + population_2[Y]),

falling back to population_1[Y − 1] / (population_0[Y − 1] + population_1[Y − 1]) (the same
cohorts a year younger) when year Y lacks single ages, and to 0.5 when neither is known. It
assumes the two cohorts enrol at the same rate; one-year-olds enrol later and less (the under-3
group fills up through the autumn), so it runs a little low: on the simulated district preset the
estimate summed over kindergarten-months is 4–6 % below the simulator's realised crossing, and
its per-kindergarten means correlate 0.86–0.98 with it (three seeds). Multiplied by
``children_under3`` at t it gives the expected number of children who move from under 3 to over
3 at the next August.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.contract import AREA, DISTRICT, KINDERGARTEN_ID, KNOWN_FUTURE_PREFIX
from features.calendar import next_august_year

#: Share of under-3s assumed to cross at the next August when the population table cannot say.
FALLBACK_CROSSING_SHARE = 0.5

_AGES = tuple(f"population_{age}" for age in range(6))


def _region_year_table(population: pd.DataFrame) -> pd.DataFrame:
    """Population summed per (region, year); region ``A|district|area`` or ``D|district``: the
    areas' rows, the districts' own rows, and for a district given only per area the sum of its
    areas (a sum is missing only where every row summed is). Blocks in that order, each sorted
    by region and year. Plain numpy over the few hundred rows of a population table: it runs
    in every fit, before any booster can start (three pandas group-bys took 12 ms of it)."""
    columns = [c for c in ("population_1_5", *_AGES) if c in population.columns]
    values = np.column_stack(
        [pd.to_numeric(population[c], errors="coerce").to_numpy(np.float64) for c in columns]
    ).reshape(len(population), len(columns))
    years = pd.to_numeric(population["year"]).to_numpy(np.int64)
    district = population[DISTRICT].astype("string").to_numpy(object)
    if AREA in population.columns:
        area = population[AREA].astype("string").str.strip().to_numpy(object)
        has_area = np.array([a is not pd.NA and a != "" for a in area], dtype=bool)
    else:
        area = np.full(len(population), None, dtype=object)
        has_area = np.zeros(len(population), dtype=bool)
    own = np.array(
        [f"A|{d}|{a}" if h else f"D|{d}" for d, a, h in zip(district, area, has_area, strict=True)],
        dtype=object,
    )
    of_areas = np.array([f"D|{d}" for d in district[has_area]], dtype=object)
    by_area = _sum_by_region_year(own[has_area], years[has_area], values[has_area])
    by_district = _sum_by_region_year(own[~has_area], years[~has_area], values[~has_area])
    summed = _sum_by_region_year(of_areas, years[has_area], values[has_area])
    # districts given only per area: their district figure is the sum of their areas
    keep = ~np.isin(summed[0], by_district[0])
    summed = (summed[0][keep], summed[1][keep], summed[2][keep])
    blocks = [by_area, by_district, summed]
    table = pd.DataFrame(
        {
            "region": np.concatenate([b[0] for b in blocks]),
            "year": np.concatenate([b[1] for b in blocks]),
        }
    )
    stacked = np.concatenate([b[2] for b in blocks]).reshape(-1, len(columns))
    for j, column in enumerate(columns):
        table[column] = stacked[:, j]
    return table


def _sum_by_region_year(
    regions: np.ndarray, years: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each (region, year)'s column sums, sorted by region then year; a sum is NaN where every
    value summed is (pandas' ``sum(min_count=1)``)."""
    if len(regions) == 0:
        return (np.zeros(0, object), np.zeros(0, np.int64), np.zeros((0, values.shape[1])))
    region_codes, region_names = pd.factorize(regions, sort=True)
    first_year = int(years.min())
    key = region_codes.astype(np.int64) * (int(years.max()) - first_year + 1) + (years - first_year)
    keys, group = np.unique(key, return_inverse=True)
    present = ~np.isnan(values)
    sums = np.zeros((len(keys), values.shape[1]))
    counts = np.zeros((len(keys), values.shape[1]), dtype=np.int64)
    np.add.at(sums, group, np.where(present, values, 0.0))
    np.add.at(counts, group, present)
    sums[counts == 0] = np.nan
    n_years = int(years.max()) - first_year + 1
    return (
        np.asarray(region_names, dtype=object)[keys // n_years],
        keys % n_years + first_year,
        sums,
    )


def _fill_forward(grid: np.ndarray) -> np.ndarray:
    """Each row's missing values carry the row's last value before them (leading ones stay
    missing): ``DataFrame.ffill(axis=1)`` without building a frame per call."""
    last = np.where(np.isnan(grid), 0, np.arange(grid.shape[1]))
    np.maximum.accumulate(last, axis=1, out=last)
    return grid[np.arange(grid.shape[0])[:, None], last]


def kindergarten_regions(kindergartens: pd.DataFrame, regions: pd.Index) -> pd.Series:
    """Population region of each kindergarten (area if the table has it, else district, else NA),
    indexed by kindergarten_id."""
    known = set(regions)
    districts = kindergartens[DISTRICT].astype("string").to_numpy(object)
    areas = (
        kindergartens[AREA].astype("string").str.strip().to_numpy(object)
        if AREA in kindergartens.columns
        else np.full(len(kindergartens), pd.NA, dtype=object)
    )
    region = np.full(len(kindergartens), pd.NA, dtype=object)
    for i, (district, area) in enumerate(zip(districts, areas, strict=True)):
        if district is pd.NA:
            continue
        if area is not pd.NA and f"A|{district}|{area}" in known:
            region[i] = f"A|{district}|{area}"
        elif f"D|{district}" in known:
            region[i] = f"D|{district}"
    return pd.Series(region, index=kindergartens[KINDERGARTEN_ID].astype(str).to_numpy())


def population_features(
    kindergartens: pd.DataFrame,
    population: pd.DataFrame | None,
    kindergarten_ids: pd.Series,
    ordinals: np.ndarray,
) -> pd.DataFrame:
    """Known-future population features for each (kindergarten, month index) pair.

    Columns: ``known_population_1_5`` (residents aged 1–5 in the month's year),
    ``known_population_1_5_growth`` (change on the year before, as a share),
    ``known_population_0`` and ``known_population_1`` (the cohorts that reach kindergarten age
    next; only when the table has them) and ``known_u3_crossing_share`` (see module docstring).
    """
    p = KNOWN_FUTURE_PREFIX
    n = len(ordinals)
    year = ordinals // 12 + 1970
    august_year = next_august_year(ordinals)
    if population is None or len(population) == 0:
        return pd.DataFrame(
            {f"{p}u3_crossing_share": np.full(n, FALLBACK_CROSSING_SHARE, dtype=np.float32)}
        )

    table = _region_year_table(population)
    region_codes, regions = pd.factorize(table["region"])
    first_year, last_year = int(table["year"].min()), int(table["year"].max())
    n_years = last_year - first_year + 1
    has_ages = {c: c in table.columns and table[c].notna().any() for c in _AGES}

    def dense(column: str) -> np.ndarray:
        """(region, year) grid, missing years forward-filled, so later years carry the last."""
        grid = np.full((len(regions), n_years), np.nan)
        if column in table.columns:
            grid[region_codes, table["year"].to_numpy() - first_year] = table[column].to_numpy()
        return _fill_forward(grid)

    region_of = kindergarten_regions(kindergartens, pd.Index(regions))
    row_region = pd.Index(regions).get_indexer(
        kindergarten_ids.astype(str).map(region_of).astype(object)
    )
    matched = row_region >= 0

    def lookup(grid: np.ndarray, years: np.ndarray) -> np.ndarray:
        out = np.full(n, np.nan)
        ok = matched & (years >= first_year)
        column = np.minimum(years[ok], last_year) - first_year
        out[ok] = grid[row_region[ok], column]
        return out

    pop_1_5 = dense("population_1_5")
    growth = np.full_like(pop_1_5, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        growth[:, 1:] = pop_1_5[:, 1:] / pop_1_5[:, :-1] - 1.0
    out = {
        f"{p}population_1_5": lookup(pop_1_5, year),
        f"{p}population_1_5_growth": lookup(growth, year),
    }
    for age in ("population_0", "population_1"):
        if has_ages[age]:
            out[f"{p}{age}"] = lookup(dense(age), year)

    share = np.full(n, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        if has_ages["population_1"] and has_ages["population_2"]:
            age1, age2 = (
                lookup(dense("population_1"), august_year),
                lookup(dense("population_2"), august_year),
            )
            share = age2 / (age1 + age2)
        if has_ages["population_0"] and has_ages["population_1"]:
            age0_before = lookup(dense("population_0"), august_year - 1)
            age1_before = lookup(dense("population_1"), august_year - 1)
            share = np.where(np.isnan(share), age1_before / (age0_before + age1_before), share)
    share[~np.isfinite(share)] = FALLBACK_CROSSING_SHARE
    out[f"{p}u3_crossing_share"] = share
    return pd.DataFrame({k: v.astype(np.float32) for k, v in out.items()})
