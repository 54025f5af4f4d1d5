"""``simulate_capacity``: the capacity family's layout, month loop and tables (SIMULATED data).

The loop keeps the whole state, so ``run_capacity(..., snapshot_months=...)`` hands back a copy
of it at the end of any month, and ``continue_capacity`` runs many futures on from such a copy
(the full-state noise floor in ``benchmarks/noise_floor.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data.contract import KINDERGARTEN_ID, MONTH, District
from simulate.capacity.process import (
    CONTRACT_VALUES,
    TRUTH_VALUES,
    CapacityFixed,
    CapacityState,
    initial_state,
    step,
    tile,
)
from simulate.capacity.settings import (
    CAPACITY_AREAS,
    CAPACITY_DISTRICT,
    CAPACITY_DISTRICT_NUMBER,
    CapacitySettings,
)
from simulate.population import load_oslo_population, project_district_population
from simulate.presets import CAPACITY_MAX_PLACES, CAPACITY_MIN_PLACES, sample_headcount
from simulate.simulation import DEFAULT_END, DEFAULT_START, Simulation

PROCESS_NAME = "capacity"
#: Contract columns rounded as the cohort family rounds them.
ROUNDING = {"minority_language_share": 3, "low_income_share": 3}


@dataclass
class CapacityRun:
    """The loop's output: months (burn-in included), active mask and values (n_months × n),
    the kindergartens table and the state at the end of each snapshot month (by month)."""

    months: pd.PeriodIndex
    active: np.ndarray
    values: dict[str, np.ndarray]
    kindergartens: pd.DataFrame
    fixed: CapacityFixed
    births_index: np.ndarray
    burn_in: int
    snapshots: dict[pd.Period, CapacityState] = field(default_factory=dict)


def _births_index(months: pd.PeriodIndex) -> tuple[np.ndarray, pd.DataFrame]:
    """Demand follows the district's one-year-olds (real to 2024, projected after), relative to
    the first year, for the kindergarten year each month belongs to; and the population table."""
    real = load_oslo_population()
    real = real[real["district"] == CAPACITY_DISTRICT]
    population = project_district_population(real, max(int(months[-1].year) + 2, 2025))
    by_year = population.set_index("year")["population_1"].astype(float)
    intake_year = np.where(months.month >= 8, months.year, months.year - 1).clip(
        by_year.index.min(), by_year.index.max()
    )
    values = by_year.loc[intake_year].to_numpy()
    return values / values[0], population


def _layout(
    rng: np.random.Generator, n: int, s: CapacitySettings, months: pd.PeriodIndex, burn_in: int
) -> tuple[pd.DataFrame, CapacityFixed]:
    headcount = sample_headcount(rng, n)
    under3_share = rng.uniform(0.35, 0.65, n)
    # a child under 3 uses two places: headcount → places at the department mix
    capacity = np.clip(
        np.rint(headcount * (1 + under3_share / (2 - under3_share))),
        CAPACITY_MIN_PLACES,
        CAPACITY_MAX_PLACES,
    ).astype(np.int64)
    area = rng.integers(0, len(CAPACITY_AREAS), n)
    open_index = np.full(n, -1)
    augusts = np.flatnonzero((months.month == 8) & (np.arange(len(months)) >= burn_in + 6))
    augusts = augusts[augusts <= len(months) - 7]
    if len(augusts) and s.opening_count:
        openers = rng.choice(n, min(s.opening_count, n), replace=False)
        open_index[openers] = rng.choice(augusts, len(openers))
    fixed = CapacityFixed(
        capacity=capacity,
        under3_share=under3_share,
        popularity=rng.lognormal(0.0, s.popularity_sd, n),
        sick_level=s.sick_leave_mean + rng.normal(0, s.sick_leave_kindergarten_sd, n),
        staffing_margin=rng.normal(s.staffing_margin_mean, s.staffing_margin_sd, n),
        propensity31=rng.lognormal(-0.08, 0.4, n),
        propensity37=rng.lognormal(-0.08, 0.4, n),
        open_index=open_index,
        copy=np.zeros(n, dtype=np.int64),
    )
    first_year = rng.integers(1975, int(months[0].year), n)
    opened = [
        months[i] if i >= 0 else pd.Period(f"{y}-08", freq="M")
        for i, y in zip(open_index, first_year, strict=True)
    ]
    ids = [f"B{CAPACITY_DISTRICT_NUMBER:02d}-C{k + 1:03d}" for k in range(n)]
    counters: dict[int, int] = {}
    names = []
    for a in area:
        counters[a] = counters.get(a, 0) + 1
        names.append(f"{CAPACITY_AREAS[a]} barnehage {counters[a]} (simulated)")
    kindergartens = pd.DataFrame(
        {
            KINDERGARTEN_ID: ids,
            "name": names,
            "district": CAPACITY_DISTRICT,
            "area": [CAPACITY_AREAS[a] for a in area],
            "capacity": capacity,
            "opened": pd.PeriodIndex(opened, freq="M"),
            "closed": pd.PeriodIndex([pd.NaT] * n, freq="M"),
            "simulated": True,
        }
    )
    return kindergartens, fixed


def run_capacity(
    *,
    seed: int,
    start: pd.Period | None = None,
    end: pd.Period | None = None,
    n_kindergartens: int | None = None,
    snapshot_months: Collection[pd.Period] = (),
    progress: Callable[[int, int], None] | None = None,
    settings: CapacitySettings | None = None,
) -> tuple[np.random.Generator, CapacityRun, pd.DataFrame]:
    """Layout and month loop; returns the generator (the tables draw from it next), the run and
    the population table. Snapshots copy the state only, so they change no draw."""
    s = settings or CapacitySettings()
    start = pd.Period(start, freq="M") if start is not None else DEFAULT_START
    end = pd.Period(end, freq="M") if end is not None else DEFAULT_END
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    n = s.n_kindergartens if n_kindergartens is None else int(n_kindergartens)
    if n < 1:
        raise ValueError("n_kindergartens must be at least 1")
    wanted = {pd.Period(m, freq="M") for m in snapshot_months}
    outside = sorted(str(m) for m in wanted if not start <= m <= end)
    if outside:
        raise ValueError(f"snapshot months {', '.join(outside)} are outside {start} … {end}")
    rng = np.random.default_rng(seed)
    months = pd.period_range(start - s.burn_in_months, end, freq="M")
    births, population = _births_index(months)
    kindergartens, fixed = _layout(rng, n, s, months, s.burn_in_months)
    state = initial_state(rng, fixed, s)
    values = {name: np.zeros((len(months), n)) for name in (*CONTRACT_VALUES, *TRUTH_VALUES)}
    active = np.zeros((len(months), n), dtype=bool)
    snapshots: dict[pd.Period, CapacityState] = {}
    for t, month in enumerate(months):
        out = step(rng, fixed, state, t, month.month, (month.year - start.year), births[t], s)
        for name, v in out.items():
            values[name][t] = v
        active[t] = fixed.open_index <= t
        if month in wanted:
            snapshots[month] = copy.deepcopy(state)
        if progress is not None:
            progress(t + 1, len(months))
    run = CapacityRun(
        months, active, values, kindergartens, fixed, births, s.burn_in_months, snapshots
    )
    return rng, run, population


def continue_capacity(
    run: CapacityRun,
    origin: pd.Period,
    horizon: int,
    paths: int,
    rng: np.random.Generator,
    settings: CapacitySettings | None = None,
) -> dict[str, np.ndarray]:
    """``paths`` futures of the ``horizon`` months after ``origin`` from the run's whole state at
    the end of ``origin``: values (horizon, paths, n) per recorded column."""
    s = settings or CapacitySettings()
    if origin not in run.snapshots:
        raise ValueError(f"the run has no snapshot at {origin}")
    t0 = run.months.get_loc(origin)
    assert isinstance(t0, int)
    horizon = min(horizon, len(run.months) - 1 - t0)
    fixed, state = tile(run.fixed, copy.deepcopy(run.snapshots[origin]), paths)
    n = len(run.fixed.capacity)
    start_year = run.months[run.burn_in].year
    out = {name: np.zeros((horizon, paths, n)) for name in (*CONTRACT_VALUES, *TRUTH_VALUES)}
    for h in range(horizon):
        t = t0 + 1 + h
        month = run.months[t]
        values = step(
            rng, fixed, state, t, month.month, month.year - start_year, run.births_index[t], s
        )
        for name, v in values.items():
            out[name][h] = v.reshape(paths, n)
    return out


def simulate_capacity(
    *,
    seed: int = 0,
    start: pd.Period | None = None,
    end: pd.Period | None = None,
    n_kindergartens: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Simulation:
    """The capacity family (48 kindergartens in Bydel Grünerløkka by default, 2017-01 … 2026-10):
    the August intake fills the places the age shift and school leavers free, up to approved
    capacity as far as the waiting list allows, plus a rolling intake through the year.
    Deterministic by ``seed``; SIMULATED and labelled so."""
    s = CapacitySettings()
    rng, run, population = run_capacity(
        seed=seed, start=start, end=end, n_kindergartens=n_kindergartens, progress=progress
    )
    shown = slice(run.burn_in, None)
    active = run.active[shown].T
    k_idx, t_idx = np.nonzero(active)
    ids = run.kindergartens[KINDERGARTEN_ID].to_numpy()
    frame = pd.DataFrame({KINDERGARTEN_ID: ids[k_idx], MONTH: run.months[shown][t_idx]})
    for name in (*CONTRACT_VALUES, *TRUTH_VALUES):
        column = run.values[name][shown].T[k_idx, t_idx]
        frame[name] = np.round(column, ROUNDING[name]) if name in ROUNDING else column
    for name in CONTRACT_VALUES:
        if name in (
            "children_under3",
            "children_over3",
            "waiting_list",
            "vedtak_31",
            "vedtak_37",
            "staff_leavers",
        ):
            frame[name] = frame[name].astype(np.int64)
    in_data = rng.random(len(frame)) >= s.missing_row_share
    monthly = frame.loc[in_data, [KINDERGARTEN_ID, MONTH, *CONTRACT_VALUES]].reset_index(drop=True)
    monthly["simulated"] = True
    truth_monthly = frame[[KINDERGARTEN_ID, MONTH, *TRUTH_VALUES]].copy()
    truth_monthly.insert(2, "in_data", in_data)
    fx = run.fixed
    truth_kg = run.kindergartens[[KINDERGARTEN_ID, "capacity"]].assign(
        under3_place_share=fx.under3_share,
        popularity=fx.popularity,
        sick_leave_level=fx.sick_level,
        staffing_margin=fx.staffing_margin,
        vedtak31_propensity=fx.propensity31,
        vedtak37_propensity=fx.propensity37,
    )
    population = population[population["year"] <= run.months[-1].year + 2].assign(
        area=None, simulated=False
    )
    population = population[
        [
            "district",
            "area",
            "year",
            "population_1_5",
            *[f"population_{a}" for a in range(6)],
            "projection",
            "simulated",
        ]
    ].reset_index(drop=True)
    district = District(
        kindergartens=run.kindergartens.copy(),
        monthly=monthly,
        population=population,
        simulated=True,
        source=f"simulated:{PROCESS_NAME}:seed={seed}",
    )
    truth = {"kindergartens": truth_kg, "monthly": truth_monthly}
    return Simulation(district=district, truth=truth, preset=PROCESS_NAME, seed=seed)
