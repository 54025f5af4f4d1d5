"""The month loop: runs the generating process (PROCESS.md) over all kindergartens at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.simulate import children as ch
from features.simulate import decisions as dc
from features.simulate import workforce as wf
from features.simulate.layout import Layout
from features.simulate.presets import ProcessSettings

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


@dataclass
class Fixed:
    """What does not change from month to month: per-kindergarten parameters (arrays of length
    n_kindergartens) and per-area ones."""

    area: np.ndarray
    disadvantage: np.ndarray
    capacity: np.ndarray
    place_share: np.ndarray
    margin: np.ndarray
    pressure_base: np.ndarray
    popularity: np.ndarray
    propensity: np.ndarray
    sick_effect: np.ndarray
    surplus: np.ndarray
    low_income_base: np.ndarray
    minority_base: np.ndarray
    shortage_depth: np.ndarray
    area_names: np.ndarray
    area_district: np.ndarray
    event_rate: np.ndarray


@dataclass
class State:
    """What carries over from one month to the next."""

    cohorts: np.ndarray
    vedtak31: np.ndarray
    vedtak37: np.ndarray
    staff: np.ndarray
    resource: np.ndarray
    sick_noise: np.ndarray
    short: np.ndarray
    low_income_logit: np.ndarray
    minority_logit: np.ndarray


@dataclass
class Month:
    """The calendar and who runs this month."""

    t: int
    period: pd.Period
    active: np.ndarray
    admitting: np.ndarray
    starting: np.ndarray
    pedagogue_rule_2018: bool
    staffing_norm_2019: bool

    @property
    def m(self) -> int:
        return int(self.period.month)


def _fixed(layout: Layout, s: ProcessSettings) -> Fixed:
    kg = layout.kindergartens
    area_pos = {a.name: j for j, a in enumerate(layout.areas)}
    dis = kg["living_conditions_index"].to_numpy()
    area_dis = np.array([a.disadvantage for a in layout.areas])
    return Fixed(
        area=kg["area"].map(area_pos).to_numpy(),
        disadvantage=dis,
        capacity=kg["capacity"].to_numpy().astype(float),
        place_share=kg["under3_place_share"].to_numpy(),
        margin=kg["staffing_margin"].to_numpy(),
        pressure_base=kg["demand_pressure_base"].to_numpy(),
        popularity=kg["popularity"].to_numpy(),
        propensity=kg["decision_propensity"].to_numpy(),
        sick_effect=kg["sick_leave_effect"].to_numpy(),
        surplus=kg["pedagogue_surplus"].to_numpy(),
        low_income_base=_logit(kg["low_income_base"].to_numpy()),
        minority_base=_logit(kg["minority_language_base"].to_numpy()),
        shortage_depth=np.zeros(len(kg)),  # drawn after the initial state, see run_months
        area_names=np.array([a.name for a in layout.areas]),
        area_district=np.array([a.district for a in layout.areas]),
        event_rate=s.refugee_event_rate * (0.3 + 1.4 * area_dis),
    )


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
    fx = _fixed(layout, s)
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
            admitting=active & (t <= close_index - 6),
            starting=(t == open_index) | ((t == 0) & active),
            pedagogue_rule_2018=bool(rule_2018[t]),
            staffing_norm_2019=bool(norm_2019[t]),
        )
        pressure = fx.pressure_base * pop15[t, fx.area] / np.maximum(pop15[0, fx.area], 1.0)
        mix = np.clip(
            fx.place_share * young_ratio[t, fx.area] / young_ratio[0, fx.area], 0.15, 0.75
        )
        target_places = fx.capacity * np.clip(pressure, 0.6, s.target_occupancy_max)
        values = _children_month(rng, fx, st, month, s, mix, target_places, open_index, events)
        values.update(_decisions_month(rng, fx, st, month, s, values))
        values.update(
            _workforce_month(rng, fx, st, month, s, values, target_places, open_index, rec)
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


def _children_month(
    rng: np.random.Generator,
    fx: Fixed,
    st: State,
    month: Month,
    s: ProcessSettings,
    mix: np.ndarray,
    target_places: np.ndarray,
    open_index: np.ndarray,
    events: list[pd.DataFrame],
) -> dict[str, np.ndarray]:
    """August shift, school leavers, moves, refugee arrivals and intake (children.py), in place."""
    n, m = len(fx.area), month.m
    cohorts = st.cohorts
    target_u3, target_o3 = mix * target_places / 2, (1 - mix) * target_places
    if month.starting.any():
        _start_kindergartens(rng, month.starting, open_index, cohorts, target_u3, target_o3)
    before = cohorts.sum(axis=1)
    aged = np.zeros(n, dtype=np.int64)
    leavers = np.zeros(n, dtype=np.int64)
    if m == 8:
        aged, leavers = ch.august_shift(cohorts)
    leavers += ch.school_leavers(rng, cohorts, m)
    move_rate = (s.move_out_rate + s.move_out_rate_disadvantage * fx.disadvantage) * (
        ch.MOVE_SEASON[m - 1]
    )
    left_u3, left_o3 = ch.moves_out(rng, cohorts, move_rate, s.over3_move_factor)
    event = (rng.random(len(fx.area_names)) < fx.event_rate).astype(float)
    room = np.floor(fx.capacity * s.occupancy_cap) - ch.places(cohorts)
    arrivals = ch.refugee_arrivals(
        rng,
        cohorts,
        event,
        fx.area,
        fx.capacity * month.admitting,
        s.refugee_children_per_event,
        room,
    )
    if event.any() and arrivals.any():
        events.append(_event_rows(fx, month.period, arrivals))
    joined_u3, joined_o3 = ch.intake(rng, cohorts, target_u3, target_o3, m, month.admitting)
    cohorts[~month.active] = 0
    return {
        "children_under3": cohorts[:, ch.UNDER3].sum(axis=1),
        "children_over3": cohorts[:, ch.OVER3].sum(axis=1),
        "children_before": before,
        "older_under3_cohort": cohorts[:, 1].copy(),
        "aged_into_over3": aged,
        "joined_under3": joined_u3,
        "joined_over3": joined_o3,
        "left_under3": left_u3,
        "left_over3": left_o3,
        "school_leavers": leavers,
        "refugee_arrivals": arrivals,
    }


def _event_rows(fx: Fixed, period: pd.Period, arrivals: np.ndarray) -> pd.DataFrame:
    """One row per area that received refugee children this month."""
    n_areas = len(fx.area_names)
    placed = np.bincount(fx.area, weights=arrivals, minlength=n_areas)
    receiving = np.bincount(fx.area, weights=arrivals > 0, minlength=n_areas)
    hit = np.flatnonzero(placed > 0)
    return pd.DataFrame(
        {
            "month": period,
            "district": fx.area_district[hit],
            "area": fx.area_names[hit],
            "children": placed[hit].astype(np.int64),
            "kindergartens": receiving[hit].astype(np.int64),
        }
    )


def _decisions_month(
    rng: np.random.Generator,
    fx: Fixed,
    st: State,
    month: Month,
    s: ProcessSettings,
    children: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Latent shares drift; § 31 / § 37 stocks step (decisions.py)."""
    n = len(fx.area)
    kids = children["children_under3"] + children["children_over3"]
    before = children["children_before"]
    left = children["left_under3"] + children["left_over3"] + 1.5 * children["school_leavers"]
    leaving_share = np.divide(left, before, out=np.zeros(n), where=before > 0)
    st.low_income_logit = dc.drift_logit(rng, st.low_income_logit, fx.low_income_base, 0.98, 0.03)
    st.minority_logit = dc.drift_logit(rng, st.minority_logit, fx.minority_base, 0.98, 0.03)
    arrivals = children["refugee_arrivals"]
    st.minority_logit += 2.0 * np.divide(arrivals, kids, out=np.zeros(n), where=kids > 0)
    low_income = 1 / (1 + np.exp(-st.low_income_logit))
    years = month.period.year + (month.m - 0.5) / 12 - 2024.5
    p31 = dc.prevalence(
        s.vedtak31_prevalence_2024,
        s.vedtak31_growth,
        years,
        low_income,
        s.vedtak31_low_income_effect,
        fx.propensity,
    )
    p37 = dc.prevalence(
        s.vedtak37_prevalence_2024,
        s.vedtak37_growth,
        years,
        low_income,
        s.vedtak37_low_income_effect,
        fx.propensity,
    )
    starting = month.starting
    if starting.any():
        st.vedtak31[starting] = rng.poisson(p31[starting] * kids[starting])
        st.vedtak37[starting] = rng.poisson(p37[starting] * kids[starting])
    st.vedtak31 = dc.step_decisions(
        rng, st.vedtak31, kids, leaving_share, p31, s.vedtak31_duration_months, month.m
    )
    st.vedtak37 = dc.step_decisions(
        rng, st.vedtak37, kids, leaving_share, p37, s.vedtak37_duration_months, month.m
    )
    return {
        "vedtak_31": st.vedtak31,
        "vedtak_37": st.vedtak37,
        "vedtak31_expected_share": p31,
        "low_income_expected_share": low_income,
    }


def _workforce_month(
    rng: np.random.Generator,
    fx: Fixed,
    st: State,
    month: Month,
    s: ProcessSettings,
    values: dict[str, np.ndarray],
    target_places: np.ndarray,
    open_index: np.ndarray,
    rec: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Sick leave, leavers, lagged staffing, pedagogues and the resource key (workforce.py).
    ``rec`` holds earlier months (the lags read it)."""
    n, t, m = len(fx.area), month.t, month.m
    under3, over3 = values["children_under3"], values["children_over3"]
    need = wf.staffing_need_fte(under3, over3)
    rec["staffing_need_fte"][t] = need
    rec["pedagogue_norm_positions"][t] = wf.pedagogue_norm_positions(
        under3, over3, month.pedagogue_rule_2018
    )
    margin = fx.margin - (0.0 if month.staffing_norm_2019 else 0.04)
    starting = month.starting
    if starting.any():
        # a new kindergarten hires for its first year's planned children, not its first month
        planned_need = np.maximum(need, 0.6 * target_places / wf.STAFF_NORM_DIVISOR)
        st.staff[starting] = np.round(planned_need[starting] * (1 + margin[starting]), 1)
    expected_sick = wf.expected_sick_leave(
        s.sick_leave_mean,
        m,
        fx.sick_effect,
        wf.overload(under3, over3, st.staff),
        s.sick_leave_workload_effect,
        fx.disadvantage,
        s.sick_leave_disadvantage_effect,
    )
    st.sick_noise = s.sick_leave_ar * st.sick_noise + rng.normal(0, s.sick_leave_innovation_sd, n)
    sick = np.clip(expected_sick + st.sick_noise, 0.0, 0.6)
    quits = wf.staff_leavers(
        rng,
        st.staff,
        s.fte_per_person,
        s.turnover_monthly_hazard,
        m,
        sick,
        s.sick_leave_mean,
        s.turnover_sick_effect,
        fx.disadvantage,
        s.turnover_disadvantage_effect,
    )
    every = np.arange(n)
    lag = np.maximum(t - s.staffing_lag_months, np.maximum(open_index, 0))
    st.staff = wf.adjust_staff(
        rng,
        st.staff,
        quits * s.fte_per_person,
        rec["staffing_need_fte"][lag, every] * (1 + margin),
        s.staffing_adjust_speed * (1 - 0.4 * fx.disadvantage),
        0.3,
    )
    st.short = wf.step_shortage(
        rng,
        st.short,
        s.pedagogue_shortage_entry + s.pedagogue_shortage_entry_disadvantage * fx.disadvantage**2,
        s.pedagogue_shortage_exit * (1 - 0.5 * fx.disadvantage),
    )
    # pedagogue positions are planned for the kindergarten's target of children (places
    # ≈ 2·U3 + O3), or for last months' actual children when more; a vacancy leaves one
    # (in poor areas sometimes two) positions empty for months
    planned = np.maximum(
        wf.pedagogue_positions_for_places(target_places, month.pedagogue_rule_2018),
        rec["pedagogue_norm_positions"][lag, every],
    )
    pedagogues = np.minimum(
        np.maximum(planned + fx.surplus - st.short * fx.shortage_depth, 0.0), st.staff
    )
    if m in (1, 8) or starting.any():
        key_month = max(t - 3, 0)
        fresh = wf.resource_pedagogue_key(
            rec["vedtak_31"][key_month],
            rec["vedtak_37"][key_month],
            s.hours_per_vedtak31,
            s.hours_per_vedtak37,
            s.hours_per_fte,
            s.resource_key_coverage,
            rng.lognormal(0, 0.15, n),
        )
        st.resource = np.where(starting | (m in (1, 8)), fresh, st.resource)
    return {
        "staff_fte": st.staff,
        "pedagogue_fte": pedagogues,
        "resource_pedagogue_fte": st.resource,
        "sick_leave_rate": sick,
        "staff_leavers": quits,
        "expected_sick_leave_rate": expected_sick,
        "staffing_need_fte": need,
        "pedagogue_norm_positions": rec["pedagogue_norm_positions"][t],
        "pedagogue_shortage": st.short,
    }


def _start_kindergartens(
    rng: np.random.Generator,
    starting: np.ndarray,
    open_index: np.ndarray,
    cohorts: np.ndarray,
    target_u3: np.ndarray,
    target_o3: np.ndarray,
) -> None:
    """Kindergartens running from the first month start full (at their target mix, spread over the
    cohorts); those opening later start empty and fill through intake."""
    full = starting & (open_index < 0)
    if not full.any():
        return
    u3 = rng.poisson(target_u3[full])
    o3 = rng.poisson(target_o3[full])
    older = rng.binomial(u3, 0.5)
    cohorts[full, 0] = u3 - older
    cohorts[full, 1] = older
    cohorts[full, 2:] = rng.multinomial(o3, [1 / 3, 1 / 3, 1 / 3])


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))
