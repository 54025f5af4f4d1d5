"""The month loop: runs the generating process (PROCESS.md) over all kindergartens at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.simulate import children as ch
from features.simulate import decisions as dc
from features.simulate.layout import Layout
from features.simulate.presets import ProcessSettings
from features.simulate.state import Month, State, fixed_parameters
from features.simulate.steps import children_month, decisions_month, workforce_month

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
    ("staffing_need_fte", np.float64),
    ("pedagogue_norm_positions", np.int64),
    ("pedagogue_shortage", np.bool_),
    ("vedtak31_expected_share", np.float64),
    ("low_income_expected_share", np.float64),
)


@dataclass
class Run:
    """Everything the loop produced: (n_months, n_kindergartens) arrays plus events."""

    months: pd.PeriodIndex
    active: np.ndarray
    values: dict[str, np.ndarray]
    events: list[pd.DataFrame] = field(default_factory=list)


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
) -> Run:
    """Simulate every month in ``months`` for every kindergarten; ``open_index``/``close_index``
    are the first/last month index each kindergarten runs (−1 / len(months) when always)."""
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
    rec = {name: np.zeros((n_months, n), dtype=dtype) for name, dtype in RECORDED}
    active_all = np.zeros((n_months, n), dtype=bool)
    events: list[pd.DataFrame] = []
    rule_2018 = months >= pd.Period("2018-08", freq="M")
    norm_2019 = months >= pd.Period("2019-08", freq="M")

    for t, period in enumerate(months):
        active = (open_index <= t) & (t <= close_index)
        month = Month(
            t=t,
            period=period,
            active=active,
            # A kindergarten stops admitting in its last six months before closing; one that
            # never closes (close_index == n_months) admits to the end of the simulation.
            admitting=active & ((close_index >= n_months) | (t <= close_index - 6)),
            starting=(t == open_index) | ((t == 0) & active),
            pedagogue_rule_2018=bool(rule_2018[t]),
            staffing_norm_2019=bool(norm_2019[t]),
        )
        pressure = fx.pressure_base * pop15[t, fx.area] / np.maximum(pop15[0, fx.area], 1.0)
        mix = np.clip(
            fx.place_share * young_ratio[t, fx.area] / young_ratio[0, fx.area], 0.15, 0.75
        )
        target_places = fx.capacity * np.clip(pressure, 0.6, s.target_occupancy_max)
        values = children_month(rng, fx, st, month, s, mix, target_places, open_index, events)
        values.update(decisions_month(rng, fx, st, month, s, values))
        values.update(
            workforce_month(rng, fx, st, month, s, values, target_places, open_index, rec)
        )
        values["waiting_list"] = ch.waiting_list(rng, fx.capacity, pressure, fx.popularity, month.m)
        kids = values["children_under3"] + values["children_over3"]
        values["minority_language_share"] = dc.observed_share(rng, st.minority_logit, kids)
        values["low_income_share"] = dc.observed_share(rng, st.low_income_logit, kids)
        values["demand_pressure"] = pressure
        for name, _ in RECORDED:
            rec[name][t] = np.where(active, values[name], 0)
        active_all[t] = active
        if progress is not None:
            progress(t + 1, n_months)
    return Run(months, active_all, rec, events)
