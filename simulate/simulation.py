"""``simulate_district``: presets → layout → month loop → the contract's tables and the truth."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from data.contract import District
from simulate.engine import Run, run_months
from simulate.frames import build_frames
from simulate.layout import Layout, build_layout
from simulate.population import (
    load_oslo_population,
    monthly_area_series,
    project_district_population,
)
from simulate.presets import PRESETS, ProcessSettings
from simulate.quality import simulate_quality

DEFAULT_START = pd.Period("2017-01", freq="M")
#: The last complete month before the project's "today" (November 2026).
DEFAULT_END = pd.Period("2026-10", freq="M")
#: Share of kindergartens that open during the simulated period (in an August) and that close
#: (after a July), rounded to whole kindergartens; the rest run throughout.
OPENING_SHARE = 0.08
CLOSING_SHARE = 0.05
#: The ordinal pandas uses for a missing Period (NaT).
NAT_ORDINAL = np.iinfo(np.int64).min


@dataclass
class Simulation:
    """A simulated data set and the ground truth the process used to make it.

    ``truth`` holds ``kindergartens`` (latent parameters per kindergarten), ``monthly`` (latent
    values per kindergarten-month, including the months left out of the data as gaps), ``events``
    (refugee-settlement shocks: month, district, area, children, kindergartens) and ``areas``
    (living-conditions index and population trend per area).
    """

    district: District
    truth: dict[str, pd.DataFrame]
    preset: str
    seed: int


def simulate_district(
    preset: Literal["district", "city", "nation"] = "district",
    *,
    seed: int = 0,
    start: pd.Period | None = None,
    end: pd.Period | None = None,
    n_kindergartens: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Simulation:
    """Simulate ``preset`` (district ≈ 45 kindergartens in Bydel Gamle Oslo, city ≈ 700 over
    Oslo's 15 districts, nation ≈ 5,500) for the months ``start`` … ``end`` (default 2017-01 …
    2026-10). ``n_kindergartens`` overrides the preset's count. Deterministic by ``seed``;
    ``progress(done, total)`` is called after each simulated month (burn-in included)."""
    rng, process = run_process(
        preset, seed=seed, start=start, end=end, n_kindergartens=n_kindergartens, progress=progress
    )
    run, layout = process.run, process.layout
    kindergartens, monthly, population, truth = build_frames(
        rng,
        run,
        layout,
        process.burn_in,
        process.opened,
        process.closed,
        ProcessSettings().missing_row_share,
        process.last_population_year,
    )
    district = District(
        kindergartens=kindergartens,
        monthly=monthly,
        population=population,
        simulated=True,
        source=f"simulated:{preset}:seed={seed}",
        quality=simulate_quality(monthly, truth["kindergartens"], seed),
    )
    return Simulation(district=district, truth=truth, preset=preset, seed=seed)


@dataclass
class ProcessRun:
    """The month loop's output before it becomes tables: the run (burn-in included), the layout
    it ran on, each kindergarten's opened/closed month and the population table's last year."""

    run: Run
    layout: Layout
    opened: pd.Series
    closed: pd.Series
    burn_in: int
    last_population_year: int


def run_process(
    preset: str,
    *,
    seed: int,
    start: pd.Period | None = None,
    end: pd.Period | None = None,
    n_kindergartens: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    snapshot_months: Collection[pd.Period] = (),
) -> tuple[np.random.Generator, ProcessRun]:
    """Layout and month loop of :func:`simulate_district`, the same draws in the same order;
    returns the generator (the tables draw from it next) and the run, with the loop's state
    snapshotted at the end of each of ``snapshot_months`` (``Run.snapshots``, by month index
    of ``Run.months``) for forecasters that continue the process from there."""
    if preset not in PRESETS:
        raise ValueError(f"preset {preset!r} is not one of {', '.join(PRESETS)}")
    spec = PRESETS[preset]
    start = pd.Period(start, freq="M") if start is not None else DEFAULT_START
    end = pd.Period(end, freq="M") if end is not None else DEFAULT_END
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    n = spec.n_kindergartens if n_kindergartens is None else int(n_kindergartens)
    if n < 1:
        raise ValueError("n_kindergartens must be at least 1")
    settings = ProcessSettings()
    rng = np.random.default_rng(seed)

    burn_in = settings.burn_in_months
    months = pd.period_range(start - burn_in, end, freq="M")
    outside = [str(m) for m in snapshot_months if not start <= pd.Period(m, freq="M") <= end]
    if outside:
        raise ValueError(f"snapshot months {', '.join(outside)} are outside {start} … {end}")
    base_year = max(int(months[0].year), 2004)
    last_population_year = end.year + 2
    real = load_oslo_population()
    real = real[real["district"].isin(spec.oslo_districts)]
    oslo = project_district_population(real, max(last_population_year, 2024))
    layout = build_layout(rng, spec, n, oslo, base_year)
    area_names = [a.name for a in layout.areas]
    pop15, young_ratio = monthly_area_series(layout.area_population, area_names, months)

    open_index, close_index, opened, closed = _opening_and_closing(
        rng, len(layout.kindergartens), months, burn_in, start
    )
    run = run_months(
        rng,
        layout,
        months,
        open_index,
        close_index,
        pop15,
        young_ratio,
        settings,
        progress,
        snapshot_months=[int((pd.Period(m, freq="M") - months[0]).n) for m in snapshot_months],
    )
    return rng, ProcessRun(run, layout, opened, closed, burn_in, last_population_year)


def _opening_and_closing(
    rng: np.random.Generator, n: int, months: pd.PeriodIndex, burn_in: int, start: pd.Period
) -> tuple[np.ndarray, np.ndarray, pd.Series, pd.Series]:
    """Month indices each kindergarten runs from/to (−1 / len(months) when throughout), and its
    ``opened``/``closed`` months for the kindergartens table. Openings fall in an August at least
    six months into the shown period, closings at the end of a July at least a year in."""
    n_months = len(months)
    month_of_year = months.month.to_numpy()
    idx = np.arange(n_months)
    augusts = idx[(month_of_year == 8) & (idx >= burn_in + 6) & (idx <= n_months - 7)]
    julys = idx[(month_of_year == 7) & (idx >= burn_in + 12)]
    open_index = np.full(n, -1)
    close_index = np.full(n, n_months)
    shuffled = rng.permutation(n)
    n_open = round(OPENING_SHARE * n) if len(augusts) else 0
    n_close = round(CLOSING_SHARE * n) if len(julys) else 0
    openers, closers = shuffled[:n_open], shuffled[n_open : n_open + n_close]
    open_index[openers] = rng.choice(augusts, n_open) if n_open else open_index[openers]
    close_index[closers] = rng.choice(julys, n_close) if n_close else close_index[closers]
    first_year = rng.integers(1975, max(start.year, 1976), n)
    ordinals = months.asi8
    pre_existing = (first_year - 1970) * 12 + 7  # August of a year before the period
    opened_ordinal = np.where(open_index >= 0, ordinals[np.maximum(open_index, 0)], pre_existing)
    closed_ordinal = np.where(
        close_index < n_months, ordinals[np.minimum(close_index, n_months - 1)], NAT_ORDINAL
    )
    # PeriodIndex.from_ordinals is pandas ≥ 2.2; the installed pandas-stubs do not list it yet
    from_ordinals = pd.PeriodIndex.from_ordinals  # type: ignore[attr-defined]
    opened = pd.Series(from_ordinals(opened_ordinal, freq="M"))
    closed = pd.Series(from_ordinals(closed_ordinal, freq="M"))
    return open_index, close_index, opened, closed
