"""The month loop: runs the generating process (PROCESS.md) over all kindergartens at once.

``run_months`` runs it from the first month; with ``snapshot_months`` it also keeps a
``Snapshot`` of the loop at the end of those months, and ``continue_months`` runs on from a
snapshot with any Generator: the run's own (``Snapshot.generator()``) reproduces the run exactly,
a fresh one draws another future, and ``Snapshot.tiled(paths)`` draws ``paths`` futures at once
(the kindergartens repeated, each copy with its own areas, so refugee events are drawn per copy).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from simulate import children as ch
from simulate import decisions as dc
from simulate.layout import Layout
from simulate.presets import ProcessSettings
from simulate.state import Fixed, Month, State, fixed_parameters
from simulate.steps import children_month, decisions_month, workforce_month

#: Monthly columns the loop records, (name, dtype).
RECORDED = (
    ("children_under3", np.int64),
    ("children_over3", np.int64),
    ("waiting_list", np.int64),
    ("vedtak_31", np.int64),
    ("vedtak_37", np.int64),
    ("minority_language_share", np.float64),
    ("low_income_share", np.float64),
    ("staff_fte", np.float64),
    ("pedagogue_fte", np.float64),
    ("resource_pedagogue_fte", np.float64),
    ("sick_leave_rate", np.float64),
    ("staff_leavers", np.int64),
    # ground truth
    ("expected_sick_leave_rate", np.float64),
    ("older_under3_cohort", np.int64),
    ("aged_into_over3", np.int64),
    ("joined_under3", np.int64),
    ("joined_over3", np.int64),
    ("left_under3", np.int64),
    ("left_over3", np.int64),
    ("school_leavers", np.int64),
    ("refugee_arrivals", np.int64),
    ("demand_pressure", np.float64),
    ("target_under3", np.float64),
    ("staffing_need_fte", np.float64),
    ("pedagogue_norm_positions", np.int64),
    ("pedagogue_shortage", np.bool_),
    ("vedtak31_expected_share", np.float64),
    ("low_income_expected_share", np.float64),
)
#: Months of recorded history a snapshot keeps (the snapshot's month and those before it):
#: ``workforce_month`` reads the recorded month three before the one it steps (the resource key)
#: and ``staffing_lag_months`` before it (staff and pedagogue lags).
HISTORY_MONTHS = 3


@dataclass
class Run:
    """Everything the loop produced: (n_months, n_kindergartens) arrays plus events, and the
    snapshots asked for (by month index)."""

    months: pd.PeriodIndex
    active: np.ndarray
    values: dict[str, np.ndarray]
    events: list[pd.DataFrame] = field(default_factory=list)
    snapshots: dict[int, Snapshot] = field(default_factory=dict)


@dataclass
class Loop:
    """The loop between two months. Row ``i`` of ``months``, ``pop15``, ``young_ratio``,
    ``recorded`` and ``active`` is month index ``first + i`` of the whole run, and
    ``open_index``/``close_index`` count from ``first`` too (a full run has ``first`` = 0).
    ``closes`` says which kindergartens close within the run; the population bases are the first
    month's (demand pressure and the under-3 mix are relative to them)."""

    settings: ProcessSettings
    fixed: Fixed
    state: State
    first: int
    months: pd.PeriodIndex
    open_index: np.ndarray
    close_index: np.ndarray
    closes: np.ndarray
    pop15: np.ndarray
    young_ratio: np.ndarray
    pop15_base: np.ndarray
    young_ratio_base: np.ndarray
    recorded: dict[str, np.ndarray]
    active: np.ndarray
    events: list[pd.DataFrame]


@dataclass
class Snapshot:
    """The loop at the end of month index ``t`` of a run, with its last ``HISTORY_MONTHS``
    recorded months, the monthly inputs to the end of the run, and the run's Generator state."""

    t: int
    loop: Loop
    generator_state: dict[str, Any]

    @property
    def n_kindergartens(self) -> int:
        return len(self.loop.open_index)

    @property
    def months_left(self) -> int:
        """Months of the run after ``t`` (a continuation can go no further: the inputs end)."""
        return len(self.loop.months) - HISTORY_MONTHS

    def generator(self) -> np.random.Generator:
        """A Generator in the state the run's was in after month ``t``."""
        bit_generator = getattr(np.random, self.generator_state["bit_generator"])()
        bit_generator.state = copy.deepcopy(self.generator_state)
        return np.random.Generator(bit_generator)

    def tiled(self, paths: int) -> Snapshot:
        """``paths`` copies of every kindergarten, copy-major (kindergarten k of copy p is
        column p·n + k); each copy gets its own areas, so its refugee events are its own."""
        if paths < 1:
            raise ValueError(f"paths must be at least 1, got {paths}")
        lp = self.loop
        n_areas = lp.pop15.shape[1]

        def rows(a: np.ndarray) -> np.ndarray:
            return np.tile(a, (paths,) + (1,) * (a.ndim - 1))

        def columns(a: np.ndarray) -> np.ndarray:
            return np.tile(a, (1, paths))

        fx = lp.fixed
        fixed = replace(
            fx,
            **{f.name: rows(getattr(fx, f.name)) for f in fields(fx) if f.name != "area"},
            area=np.concatenate([fx.area + p * n_areas for p in range(paths)]),
        )
        state = replace(
            lp.state, **{f.name: rows(getattr(lp.state, f.name)) for f in fields(lp.state)}
        )
        loop = replace(
            lp,
            fixed=fixed,
            state=state,
            open_index=rows(lp.open_index),
            close_index=rows(lp.close_index),
            closes=rows(lp.closes),
            pop15=columns(lp.pop15),
            young_ratio=columns(lp.young_ratio),
            pop15_base=rows(lp.pop15_base),
            young_ratio_base=rows(lp.young_ratio_base),
            recorded={k: columns(v) for k, v in lp.recorded.items()},
            active=columns(lp.active),
            events=[],
        )
        return Snapshot(self.t, loop, self.generator_state)


def run_months(
    rng: np.random.Generator,
    layout: Layout,
    months: pd.PeriodIndex,
    open_index: np.ndarray,
    close_index: np.ndarray,
    pop15: np.ndarray,
    young_ratio: np.ndarray,
    settings: ProcessSettings,
    progress: Callable[[int, int], None] | None = None,
    snapshot_months: Collection[int] = (),
) -> Run:
    """Simulate every month in ``months`` for every kindergarten; ``open_index``/``close_index``
    are the first/last month index each kindergarten runs (−1 / len(months) when always).
    ``snapshot_months`` (month indices) only copies the loop; it draws nothing, so the run is the
    same with or without it."""
    s = settings
    n, n_months = len(layout.kindergartens), len(months)
    fx = fixed_parameters(layout, s)
    st = State(
        cohorts=np.zeros((n, 5), dtype=np.int64),
        vedtak31=np.zeros(n, dtype=np.int64),
        vedtak37=np.zeros(n, dtype=np.int64),
        staff=np.zeros(n),
        resource=np.zeros(n),
        sick_noise=rng.normal(0.0, s.sick_leave_innovation_sd / np.sqrt(1 - s.sick_leave_ar**2), n),
        short=np.zeros(n, dtype=bool),
        low_income_logit=fx.low_income_base + rng.normal(0, 0.1, n),
        minority_logit=fx.minority_base + rng.normal(0, 0.1, n),
    )
    fx.shortage_depth = 1 + (rng.random(n) < 0.3 * fx.disadvantage)
    loop = Loop(
        settings=s,
        fixed=fx,
        state=st,
        first=0,
        months=months,
        open_index=np.asarray(open_index),
        close_index=np.asarray(close_index),
        closes=np.asarray(close_index) < n_months,
        pop15=pop15,
        young_ratio=young_ratio,
        pop15_base=pop15[0],
        young_ratio_base=young_ratio[0],
        recorded={name: np.zeros((n_months, n), dtype=dtype) for name, dtype in RECORDED},
        active=np.zeros((n_months, n), dtype=bool),
        events=[],
    )
    snapshots: dict[int, Snapshot] = {}
    for t in range(n_months):
        step_month(rng, loop, t)
        if t in snapshot_months:
            snapshots[t] = _snapshot(loop, t, rng)
        if progress is not None:
            progress(t + 1, n_months)
    return Run(months, loop.active, loop.recorded, loop.events, snapshots)


def continue_months(
    rng: np.random.Generator,
    snapshot: Snapshot,
    n_months: int,
    progress: Callable[[int, int], None] | None = None,
) -> Run:
    """Run the ``n_months`` months after the snapshot's, drawing from ``rng`` (the snapshot is
    not changed). The Run holds those months only."""
    if not 0 <= n_months <= snapshot.months_left:
        raise ValueError(
            f"can continue 0 … {snapshot.months_left} months after {snapshot.loop.months[-1]}"
            f" ends the run's inputs, asked for {n_months}"
        )
    history = HISTORY_MONTHS
    loop = copy.deepcopy(snapshot.loop)
    width = len(loop.open_index)
    loop.recorded = {
        name: np.concatenate([v, np.zeros((n_months, width), dtype=v.dtype)])
        for name, v in loop.recorded.items()
    }
    loop.active = np.concatenate([loop.active, np.zeros((n_months, width), dtype=bool)])
    loop.events = []
    for i in range(n_months):
        step_month(rng, loop, history + i)
        if progress is not None:
            progress(i + 1, n_months)
    ahead = slice(history, history + n_months)
    return Run(
        loop.months[ahead],
        loop.active[ahead],
        {name: v[ahead] for name, v in loop.recorded.items()},
        loop.events,
    )


def step_month(rng: np.random.Generator, loop: Loop, t: int) -> None:
    """Month ``t`` (a row of the loop): children, then decisions, then workforce, recorded."""
    s, fx, st, rec = loop.settings, loop.fixed, loop.state, loop.recorded
    period = loop.months[t]
    active = (loop.open_index <= t) & (t <= loop.close_index)
    month = Month(
        t=t,
        period=period,
        active=active,
        # A kindergarten stops admitting in its last six months before closing; one that
        # never closes admits to the end of the simulation.
        admitting=active & (~loop.closes | (t <= loop.close_index - 6)),
        starting=(t == loop.open_index) | ((loop.first + t == 0) & active),
        pedagogue_rule_2018=bool(period >= pd.Period("2018-08", freq="M")),
        staffing_norm_2019=bool(period >= pd.Period("2019-08", freq="M")),
    )
    pressure = fx.pressure_base * loop.pop15[t, fx.area] / np.maximum(loop.pop15_base[fx.area], 1.0)
    mix = np.clip(
        fx.place_share * loop.young_ratio[t, fx.area] / loop.young_ratio_base[fx.area], 0.15, 0.75
    )
    target_places = fx.capacity * np.clip(pressure, 0.6, s.target_occupancy_max)
    values = children_month(rng, fx, st, month, s, mix, target_places, loop.open_index, loop.events)
    values.update(decisions_month(rng, fx, st, month, s, values))
    values.update(
        workforce_month(rng, fx, st, month, s, values, target_places, loop.open_index, rec)
    )
    values["waiting_list"] = ch.waiting_list(rng, fx.capacity, pressure, fx.popularity, month.m)
    kids = values["children_under3"] + values["children_over3"]
    values["minority_language_share"] = dc.observed_share(rng, st.minority_logit, kids)
    values["low_income_share"] = dc.observed_share(rng, st.low_income_logit, kids)
    values["demand_pressure"] = pressure
    # the under-3 count intake fills towards (children_month's target_u3), kept as ground truth
    values["target_under3"] = mix * target_places / 2
    for name, _ in RECORDED:
        rec[name][t] = np.where(active, values[name], 0)
    loop.active[t] = active


def _snapshot(loop: Loop, t: int, rng: np.random.Generator) -> Snapshot:
    """A deep copy of the loop after month ``t`` (full-run row), keeping HISTORY_MONTHS rows of
    recorded history and the inputs to the end of the run, re-based to start at t − HISTORY + 1."""
    if loop.settings.staffing_lag_months > HISTORY_MONTHS:
        raise ValueError(
            f"staffing_lag_months {loop.settings.staffing_lag_months} needs more than "
            f"HISTORY_MONTHS = {HISTORY_MONTHS} months of snapshot history"
        )
    start = t - HISTORY_MONTHS + 1
    if start < 0:
        raise ValueError(f"a snapshot needs {HISTORY_MONTHS} months of history; month {t} has not")
    history = slice(start, t + 1)
    window = replace(
        loop,
        fixed=copy.deepcopy(loop.fixed),
        state=copy.deepcopy(loop.state),
        first=loop.first + start,
        months=loop.months[start:],
        open_index=loop.open_index - start,
        close_index=loop.close_index - start,
        closes=loop.closes.copy(),
        pop15=loop.pop15[start:].copy(),
        young_ratio=loop.young_ratio[start:].copy(),
        pop15_base=loop.pop15_base.copy(),
        young_ratio_base=loop.young_ratio_base.copy(),
        recorded={name: v[history].copy() for name, v in loop.recorded.items()},
        active=loop.active[history].copy(),
        events=[],
    )
    return Snapshot(loop.first + t, window, copy.deepcopy(dict(rng.bit_generator.state)))
