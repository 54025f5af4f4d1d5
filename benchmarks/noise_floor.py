"""Noise floors for the forecasting benchmark: the WAPE a perfect-information forecaster reaches on
SIMULATED data, so the benchmark can say which goals the data allow.

Two oracles, both forecasting the median of Monte Carlo paths (the Bayes-optimal p50 for absolute
error, up to Monte Carlo noise):

- ``vedtak31_oracle_wape``: the § 31 decision process alone, run forward from the true stock and
  told the true future children, leavers and prevalence;
- ``full_state_oracle``: the whole simulator, run forward from its full state at the end of each
  origin month (the five birth cohorts per kindergarten, decision stocks, staff, latent shares and
  every latent parameter), told what the process fixes in advance (population path, opening and
  closing months, capacity) and drawing everything else fresh: moves, fills, refugee events, the
  school-leaver split, decisions, sick leave. It forecasts children under and over 3, § 31
  decisions and the sick-leave rate. For the capacity family (``simulate --process capacity``)
  the same is done with that family's own state and month step (age groups, waiting lists,
  demand, closures, decision stocks, staffing targets and vacancies, the sick-leave AR term):
  :func:`capacity_full_state_oracle`.

The full-state oracle replays the run that made the data (same process, seed and months) to take
its snapshots, and refuses to go on if the replay does not reproduce the data exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from data.contract import KINDERGARTEN_ID, MONTH
from simulate.frames import CONTRACT_MONTHLY

if TYPE_CHECKING:
    from simulate import Simulation
    from simulate.engine import Run

#: Targets the full-state oracle forecasts.
ORACLE_TARGETS = ("children_under3", "children_over3", "vedtak_31", "sick_leave_rate")
#: Targets the replay is checked on, cell by cell (counts: exact in the data).
REPLAY_CHECKED = ("children_under3", "children_over3", "vedtak_31")
#: The capacity family's process name (``Simulation.preset`` of its simulations).
CAPACITY_PROCESS = "capacity"
#: Kindergarten copies stepped at once (memory: about 28 recorded columns × 8 bytes × 16 months
#: per copy, so ≈ 140 MB at this width).
CHUNK_COLUMNS = 40_000


def replay_run(
    simulation: Simulation, snapshot_months: Sequence[pd.Period]
) -> tuple[Run, list[str]]:
    """The month loop that made ``simulation``, run again with snapshots at the end of
    ``snapshot_months``; returns the run and the kindergarten id of each of its columns.

    Runs ``simulate_district``'s own layout and month loop (``run_process``: the same draws in
    the same order) and checks the replayed children and § 31 decisions against the data, cell
    by cell.
    """
    from simulate.simulation import run_process

    shown = simulation.truth["monthly"][MONTH]
    _, process = run_process(
        simulation.preset,
        seed=simulation.seed,
        start=shown.min(),
        end=shown.max(),
        n_kindergartens=len(simulation.district.kindergartens),
        snapshot_months=snapshot_months,
    )
    run, layout = process.run, process.layout
    ids = layout.kindergartens[KINDERGARTEN_ID].astype(str).tolist()
    _check_replay(simulation, run, ids)
    return run, ids


def _month_index(months: pd.PeriodIndex, month: pd.Period) -> int:
    where = months.get_loc(month)
    if not isinstance(where, int):
        raise ValueError(f"month {month} is not a single month of the run")
    return where


def _check_replay(simulation: Simulation, run: Run, ids: list[str]) -> None:
    _check_values(
        simulation,
        run.months,
        run.values,
        ids,
        "simulate_district with its preset, seed, months and kindergarten count",
    )


def _check_values(
    simulation: Simulation,
    months: pd.PeriodIndex,
    values: dict[str, np.ndarray],
    ids: list[str],
    maker: str,
) -> None:
    """Raise unless the replayed ``values`` (months × kindergartens) equal the data's counts."""
    monthly = simulation.district.monthly
    column = pd.Series(range(len(ids)), index=ids)
    cols = column.loc[monthly[KINDERGARTEN_ID].astype(str)].to_numpy()
    rows = months.get_indexer(pd.PeriodIndex(monthly[MONTH], freq="M"))
    for target in REPLAY_CHECKED:
        differ = int((values[target][rows, cols] != monthly[target].to_numpy()).sum())
        if differ:
            raise RuntimeError(
                f"the replay of {simulation.district.source} differs from its data in {differ} "
                f"{target} values: the simulation was not made by {maker}"
            )


def full_state_oracle(
    simulation: Simulation,
    origins: Sequence[pd.Period],
    *,
    paths: int = 2001,
    seed: int = 0,
    horizons: int = 12,
    bootstrap: int = 20,
    continue_run: bool = False,
    progress: Callable[[pd.Period], None] | None = None,
) -> pd.DataFrame:
    """Forecasts of the full-state oracle: per origin, kindergarten running in the month, month
    1 … ``horizons`` ahead (up to the last simulated month) and target of ``ORACLE_TARGETS``,
    the median of ``paths`` simulated futures (``p50``), and the median of each of ``bootstrap``
    resamples of the paths (``p50_mc_0`` …; whole paths are resampled, so the dependence between
    kindergartens and months stays) for a Monte Carlo noise estimate.

    ``continue_run`` draws from the run's own Generator at each origin instead of a fresh one
    seeded by ``seed``; with ``paths=1`` that reproduces the data exactly.
    """
    from simulate.engine import continue_months

    if paths < 1:
        raise ValueError(f"paths must be at least 1, got {paths}")
    if simulation.preset == CAPACITY_PROCESS:
        if continue_run:
            raise ValueError("continue_run is not available for the capacity family")
        return capacity_full_state_oracle(
            simulation,
            origins,
            paths=paths,
            seed=seed,
            horizons=horizons,
            bootstrap=bootstrap,
            progress=progress,
        )
    run, ids = replay_run(simulation, origins)
    n = len(ids)
    rng = np.random.default_rng(seed)
    actuals = _actuals(simulation)
    resamples = bootstrap if paths > 1 else 0
    parts = []
    for origin in origins:
        snapshot = run.snapshots[_month_index(run.months, origin)]
        steps = min(horizons, snapshot.months_left)
        if steps < 1:
            continue
        own = snapshot.generator() if continue_run else rng
        drawn: dict[str, np.ndarray] = {
            t: np.empty((steps, paths, n), dtype=_dtype(t)) for t in ORACLE_TARGETS
        }
        per_chunk = max(1, CHUNK_COLUMNS // n)
        done = 0
        while done < paths:
            width = min(per_chunk, paths - done)
            ahead = continue_months(own, snapshot.tiled(width), steps)
            for target in ORACLE_TARGETS:
                values = ahead.values[target].reshape(steps, width, n)
                digits = CONTRACT_MONTHLY.get(target)
                if digits is not None:  # as the data show it
                    values = np.round(values, digits)
                drawn[target][:, done : done + width] = values
            done += width
        month_idx, kg_idx = np.nonzero(ahead.active[:, :n])
        parts += _path_medians(
            drawn, month_idx, kg_idx, ids, origin, ahead.months[month_idx], rng, resamples, actuals
        )
        if progress is not None:
            progress(origin)
    return pd.concat(parts, ignore_index=True)


def _actuals(simulation: Simulation) -> pd.DataFrame:
    """The data's values of :data:`ORACLE_TARGETS`, indexed by kindergarten and month: what the
    oracle's paths are placed against for :func:`floor_coverage`."""
    monthly = simulation.district.monthly
    index: list[Any] = [
        monthly[KINDERGARTEN_ID].astype(str),
        pd.PeriodIndex(monthly[MONTH], freq="M"),
    ]
    return monthly[list(ORACLE_TARGETS)].set_axis(pd.MultiIndex.from_arrays(index), axis=0)


def _dtype(target: str) -> type:
    return np.float64 if target == "sick_leave_rate" else np.int32


def _path_medians(
    drawn: dict[str, np.ndarray],
    month_idx: np.ndarray,
    kg_idx: np.ndarray,
    ids: Sequence[str],
    origin: pd.Period,
    months: Any,
    rng: np.random.Generator,
    resamples: int,
    actuals: pd.DataFrame,
) -> list[pd.DataFrame]:
    """Per target, the median over paths of ``drawn[target]`` (steps, paths, n) at the cells
    (month_idx, kg_idx), and of ``resamples`` bootstrap resamples of whole paths; and where the
    data have the cell (``actuals``: the monthly table indexed by kindergarten and month), the
    paths' share below the actual (``below``, F(y−)) and at or below it (``at_or_below``, F(y))
    for :func:`floor_coverage`."""
    paths = next(iter(drawn.values())).shape[1]
    cell_keys: list[Any] = [np.asarray(ids)[kg_idx], pd.PeriodIndex(months, freq="M")]
    cells = pd.MultiIndex.from_arrays(cell_keys)
    resampled = [rng.integers(0, paths, paths) for _ in range(resamples)]
    parts = []
    for target, values in drawn.items():
        chosen = values[month_idx, :, kg_idx]  # (cells, paths)
        frame = pd.DataFrame(
            {
                KINDERGARTEN_ID: np.asarray(ids)[kg_idx],
                "origin": origin,
                "month": months,
                "horizon": month_idx + 1,
                "target": target,
                "p50": np.median(chosen, axis=1),
            }
        )
        for b, which in enumerate(resampled):
            frame[f"p50_mc_{b}"] = np.median(chosen[:, which], axis=1)
        actual = actuals[target].reindex(cells).to_numpy(np.float64)[:, None]
        known = ~np.isnan(actual[:, 0])
        frame["below"] = np.where(known, (chosen < actual).mean(axis=1), np.nan)
        frame["at_or_below"] = np.where(known, (chosen <= actual).mean(axis=1), np.nan)
        parts.append(frame)
    return parts


def capacity_full_state_oracle(
    simulation: Simulation,
    origins: Sequence[pd.Period],
    *,
    paths: int = 2001,
    seed: int = 0,
    horizons: int = 12,
    bootstrap: int = 20,
    progress: Callable[[pd.Period], None] | None = None,
) -> pd.DataFrame:
    """:func:`full_state_oracle` for the capacity family: the run that made ``simulation`` is
    replayed with snapshots at ``origins`` (checked against the data cell by cell), and at each
    origin ``paths`` futures run on from the whole state with fresh randomness
    (``simulate.capacity.continue_capacity``); the same columns as :func:`full_state_oracle`."""
    from simulate.capacity import continue_capacity, run_capacity

    shown = simulation.truth["monthly"][MONTH]
    kindergartens = simulation.district.kindergartens
    _, run, _ = run_capacity(
        seed=simulation.seed,
        start=shown.min(),
        end=shown.max(),
        n_kindergartens=len(kindergartens),
        snapshot_months=origins,
    )
    ids = run.kindergartens[KINDERGARTEN_ID].astype(str).tolist()
    _check_values(
        simulation, run.months, run.values, ids, "simulate_capacity with its seed and months"
    )
    n = len(ids)
    rng = np.random.default_rng(seed)
    actuals = _actuals(simulation)
    resamples = bootstrap if paths > 1 else 0
    parts = []
    for origin in origins:
        t0 = _month_index(run.months, origin)
        steps = min(horizons, len(run.months) - 1 - t0)
        if steps < 1:
            continue
        drawn: dict[str, np.ndarray] = {
            t: np.empty((steps, paths, n), dtype=_dtype(t)) for t in ORACLE_TARGETS
        }
        per_chunk = max(1, CHUNK_COLUMNS // n)
        done = 0
        while done < paths:
            width = min(per_chunk, paths - done)
            ahead = continue_capacity(run, origin, steps, width, rng)
            for target in ORACLE_TARGETS:
                drawn[target][:, done : done + width] = ahead[target]
            done += width
        months = run.months[t0 + 1 : t0 + 1 + steps]
        active = run.fixed.open_index[None, :] <= np.arange(t0 + 1, t0 + 1 + steps)[:, None]
        month_idx, kg_idx = np.nonzero(active)
        parts += _path_medians(
            drawn, month_idx, kg_idx, ids, origin, months[month_idx], rng, resamples, actuals
        )
        if progress is not None:
            progress(origin)
    return pd.concat(parts, ignore_index=True)


def floor_wape(forecasts: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """Per target: the oracle's WAPE, sum |actual − p50| / sum |actual|, on ``rows``
    (kindergarten_id, origin, month, target, actual: the rows the models were scored on), with
    ``mc_noise``, the standard deviation of the WAPE over the bootstrap medians (NaN without
    them), ``n`` rows scored and ``missing`` rows the oracle has no forecast for."""
    keys = [KINDERGARTEN_ID, "origin", "month", "target"]
    merged = rows[[*keys, "actual"]].merge(forecasts, on=keys, how="inner")
    resampled = [c for c in forecasts.columns if c.startswith("p50_mc_")]
    out = []
    for target in sorted(set(rows["target"]) & set(forecasts["target"])):
        g = merged[merged["target"] == target]
        total = float(g["actual"].abs().sum())
        errors = {c: float((g["actual"] - g[c]).abs().sum()) for c in ["p50", *resampled]}
        noise = np.std([errors[c] for c in resampled], ddof=1) if len(resampled) > 1 else np.nan
        out.append(
            {
                "target": target,
                "wape": errors["p50"] / total if total else np.nan,
                "mc_noise": noise / total if total else np.nan,
                "n": len(g),
                "missing": int((rows["target"] == target).sum()) - len(g),
            }
        )
    return pd.DataFrame(out).set_index("target")


def expected_coverage(below: np.ndarray, at_or_below: np.ndarray, level: float = 0.8) -> np.ndarray:
    """Per cell, the chance that an exactly calibrated central ``level`` interval of the paths'
    distribution covers the actual: the randomised PIT, uniform on [F(y−), F(y)], inside
    [(1 − level) / 2, (1 + level) / 2]. For a count the paths often tie with the actual, where a
    closed interval of path quantiles would over-cover; this is the coverage a forecaster holding
    the whole state and calibrated to the digit would score in expectation, cell by cell."""
    lo, hi = (1 - level) / 2, (1 + level) / 2
    width = at_or_below - below
    overlap = np.clip(np.minimum(at_or_below, hi) - np.maximum(below, lo), 0.0, None)
    point = ((below >= lo) & (below <= hi)).astype(np.float64)
    return np.where(width > 0, overlap / np.where(width > 0, width, 1.0), point)


def floor_coverage(forecasts: pd.DataFrame, rows: pd.DataFrame, level: float = 0.8) -> pd.Series:
    """Per target, the full-state oracle's expected ``level`` coverage (:func:`expected_coverage`)
    pooled over ``rows`` (the rows the models were scored on): how far from ``level`` an honest
    forecaster's pooled coverage lands on these very kindergartens and months by chance alone —
    the years' common shocks move every kindergarten's outcome together."""
    keys = [KINDERGARTEN_ID, "origin", "month", "target"]
    merged = rows[keys].merge(forecasts[[*keys, "below", "at_or_below"]], on=keys, how="inner")
    merged = merged.dropna(subset=["below", "at_or_below"])
    merged["covered"] = expected_coverage(
        merged["below"].to_numpy(), merged["at_or_below"].to_numpy(), level
    )
    return merged.groupby("target")["covered"].mean()


def vedtak31_oracle_wape(
    simulation: Any, origins: Sequence[pd.Period], paths: int = 1000, seed: int = 0
) -> float:
    """WAPE of a perfect-information forecaster of § 31 decisions: at each origin it runs the
    simulator's own birth–death process (``simulate.decisions``) forward from the true
    stock, told the true future children, leaving shares and expected prevalence, and forecasts
    the median of ``paths`` Monte Carlo paths — the Bayes-optimal p50 for absolute error up to
    Monte Carlo noise. What is left is the process's own randomness, which no model can beat.
    Scored on every kindergarten-month with an actual.
    """
    from simulate.decisions import NEW_DECISION_SEASON
    from simulate.presets import ProcessSettings

    duration = ProcessSettings().vedtak31_duration_months
    frame = simulation.district.monthly.merge(
        simulation.truth["monthly"], on=[KINDERGARTEN_ID, MONTH], how="left"
    ).sort_values([KINDERGARTEN_ID, MONTH])
    frame["children"] = frame["children_under3"] + frame["children_over3"]
    before = frame.groupby(KINDERGARTEN_ID)["children"].shift(1)
    left = frame["left_under3"] + frame["left_over3"] + 1.5 * frame["school_leavers"]
    frame["leaving"] = (left / before).clip(0, 1).fillna(0.0)
    wide = {
        c: frame.pivot(index=KINDERGARTEN_ID, columns=MONTH, values=c)
        for c in ("vedtak_31", "children", "leaving", "vedtak31_expected_share")
    }
    rng = np.random.default_rng(seed)
    last = frame[MONTH].max()
    error = total = 0.0
    for origin in origins:
        present = wide["vedtak_31"][origin].notna()
        stock = np.repeat(wide["vedtak_31"].loc[present, origin].to_numpy()[:, None], paths, 1)
        # a kindergarten's month missing from the data ends its path (its children are unknown)
        alive = np.ones(int(present.sum()), dtype=bool)
        for h in range(1, min(12, int((last - origin).n)) + 1):
            month = origin + h
            children = wide["children"].loc[present, month].to_numpy()
            leaving = wide["leaving"].loc[present, month].fillna(0).to_numpy()
            share = wide["vedtak31_expected_share"].loc[present, month].to_numpy()
            alive &= np.isfinite(children) & np.isfinite(share)
            children, share = np.nan_to_num(children), np.nan_to_num(share)
            stock = stock - rng.binomial(stock.astype(np.int64), 1.0 / duration)
            stock = stock - rng.binomial(stock.astype(np.int64), leaving[:, None])
            hazard = NEW_DECISION_SEASON[month.month - 1] / duration + leaving
            arrivals = rng.poisson((share * children * hazard)[:, None], stock.shape)
            stock = np.minimum(stock + arrivals, children[:, None])
            actual = wide["vedtak_31"].loc[present, month].to_numpy()
            scored = alive & np.isfinite(actual)
            median = np.median(stock, axis=1)
            error += float(np.abs(actual[scored] - median[scored]).sum())
            total += float(np.abs(actual[scored]).sum())
    return error / total if total else float("nan")
