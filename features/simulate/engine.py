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
    kg = layout.kindergartens
    n, n_months = len(kg), len(months)
    area_names = [a.name for a in layout.areas]
    area_pos = {name: j for j, name in enumerate(area_names)}
    area = kg["area"].map(area_pos).to_numpy()
    area_dis = np.array([a.disadvantage for a in layout.areas])
    area_district = np.array([a.district for a in layout.areas])
    dis = kg["living_conditions_index"].to_numpy()
    capacity = kg["capacity"].to_numpy().astype(float)
    place_share = kg["under3_place_share"].to_numpy()
    margin = kg["staffing_margin"].to_numpy()
    pressure_base = kg["demand_pressure_base"].to_numpy()
    popularity = kg["popularity"].to_numpy()
    propensity = kg["decision_propensity"].to_numpy()
    sick_effect = kg["sick_leave_effect"].to_numpy()
    surplus = kg["pedagogue_surplus"].to_numpy()
    every = np.arange(n)
    pedagogue_rule_2018 = months >= pd.Period("2018-08", freq="M")
    staffing_norm_2019 = months >= pd.Period("2019-08", freq="M")
    li_base = _logit(kg["low_income_base"].to_numpy())
    ml_base = _logit(kg["minority_language_base"].to_numpy())
    rec = {name: np.zeros((n_months, n), dtype=dtype) for name, dtype in RECORDED}
    active_all = np.zeros((n_months, n), dtype=bool)

    cohorts = np.zeros((n, 5), dtype=np.int64)
    v31 = np.zeros(n, dtype=np.int64)
    v37 = np.zeros(n, dtype=np.int64)
    staff = np.zeros(n)
    rp = np.zeros(n)
    sick_noise = rng.normal(0.0, s.sick_leave_innovation_sd / np.sqrt(1 - s.sick_leave_ar**2), n)
    short = np.zeros(n, dtype=bool)
    li_logit = li_base + rng.normal(0, 0.1, n)
    ml_logit = ml_base + rng.normal(0, 0.1, n)
    event_rate = s.refugee_event_rate * (0.3 + 1.4 * area_dis)
    shortage_depth = 1 + (rng.random(n) < 0.3 * dis)
    events: list[pd.DataFrame] = []

    for t, period in enumerate(months):
        m, year = period.month, period.year
        active = (open_index <= t) & (t <= close_index)
        admitting = active & (t <= close_index - 6)
        starting = (t == open_index) | ((t == 0) & active)
        pressure = pressure_base * pop15[t, area] / np.maximum(pop15[0, area], 1.0)
        occupancy = np.clip(pressure, 0.6, s.target_occupancy_max)
        mix = np.clip(place_share * young_ratio[t, area] / young_ratio[0, area], 0.15, 0.75)
        target_places = capacity * occupancy
        target_u3, target_o3 = mix * target_places / 2, (1 - mix) * target_places
        if starting.any():
            _start_kindergartens(rng, starting, open_index, cohorts, target_u3, target_o3)
        before = cohorts.sum(axis=1)

        aged = np.zeros(n, dtype=np.int64)
        leavers = np.zeros(n, dtype=np.int64)
        if m == 8:
            aged, leavers = ch.august_shift(cohorts)
        leavers += ch.school_leavers(rng, cohorts, m)
        move_rate = (s.move_out_rate + s.move_out_rate_disadvantage * dis) * ch.MOVE_SEASON[m - 1]
        left_u3, left_o3 = ch.moves_out(rng, cohorts, move_rate, s.over3_move_factor)

        event = (rng.random(len(area_names)) < event_rate).astype(float)
        room = np.floor(capacity * s.occupancy_cap) - ch.places(cohorts)
        arrivals = ch.refugee_arrivals(
            rng, cohorts, event, area, capacity * admitting, s.refugee_children_per_event, room
        )
        if event.any() and arrivals.any():
            placed = np.bincount(area, weights=arrivals, minlength=len(area_names))
            receiving = np.bincount(area, weights=arrivals > 0, minlength=len(area_names))
            hit = np.flatnonzero(placed > 0)
            events.append(
                pd.DataFrame(
                    {
                        "month": period,
                        "district": area_district[hit],
                        "area": np.array(area_names)[hit],
                        "children": placed[hit].astype(np.int64),
                        "kindergartens": receiving[hit].astype(np.int64),
                    }
                )
            )
        joined_u3, joined_o3 = ch.intake(rng, cohorts, target_u3, target_o3, m, admitting)
        cohorts[~active] = 0
        under3 = cohorts[:, ch.UNDER3].sum(axis=1)
        over3 = cohorts[:, ch.OVER3].sum(axis=1)
        kids = under3 + over3

        # decisions and shares
        leaving_share = np.divide(
            left_u3 + left_o3 + 1.5 * leavers, before, out=np.zeros(n), where=before > 0
        )
        li_logit = dc.drift_logit(rng, li_logit, li_base, 0.98, 0.03)
        ml_logit = dc.drift_logit(rng, ml_logit, ml_base, 0.98, 0.03)
        ml_logit += 2.0 * np.divide(arrivals, kids, out=np.zeros(n), where=kids > 0)
        li_expected = 1 / (1 + np.exp(-li_logit))
        years = year + (m - 0.5) / 12 - 2024.5
        p31 = dc.prevalence(
            s.vedtak31_prevalence_2024,
            s.vedtak31_growth,
            years,
            li_expected,
            s.vedtak31_low_income_effect,
            propensity,
        )
        p37 = dc.prevalence(
            s.vedtak37_prevalence_2024,
            s.vedtak37_growth,
            years,
            li_expected,
            s.vedtak37_low_income_effect,
            propensity,
        )
        if starting.any():
            v31[starting] = rng.poisson(p31[starting] * kids[starting])
            v37[starting] = rng.poisson(p37[starting] * kids[starting])
        v31 = dc.step_decisions(rng, v31, kids, leaving_share, p31, s.vedtak31_duration_months, m)
        v37 = dc.step_decisions(rng, v37, kids, leaving_share, p37, s.vedtak37_duration_months, m)

        # work environment and staffing
        need = wf.staffing_need_fte(under3, over3)
        norm_positions = wf.pedagogue_norm_positions(under3, over3, bool(pedagogue_rule_2018[t]))
        rec["staffing_need_fte"][t] = need
        rec["pedagogue_norm_positions"][t] = norm_positions
        margin_now = margin - (0.0 if staffing_norm_2019[t] else 0.04)
        if starting.any():
            # a new kindergarten hires for its first year's planned children, not its first month
            planned_need = np.maximum(need, 0.6 * target_places / wf.STAFF_NORM_DIVISOR)
            staff[starting] = np.round(planned_need[starting] * (1 + margin_now[starting]), 1)
        load = wf.overload(under3, over3, staff)
        expected_sick = wf.expected_sick_leave(
            s.sick_leave_mean,
            m,
            sick_effect,
            load,
            s.sick_leave_workload_effect,
            dis,
            s.sick_leave_disadvantage_effect,
        )
        sick_noise = s.sick_leave_ar * sick_noise + rng.normal(0, s.sick_leave_innovation_sd, n)
        sick = np.clip(expected_sick + sick_noise, 0.0, 0.6)
        quits = wf.staff_leavers(
            rng,
            staff,
            s.fte_per_person,
            s.turnover_monthly_hazard,
            m,
            sick,
            s.sick_leave_mean,
            s.turnover_sick_effect,
            dis,
            s.turnover_disadvantage_effect,
        )
        lag = np.maximum(t - s.staffing_lag_months, np.maximum(open_index, 0))
        lagged_need = rec["staffing_need_fte"][lag, every]
        staff = wf.adjust_staff(
            rng,
            staff,
            quits * s.fte_per_person,
            lagged_need * (1 + margin_now),
            s.staffing_adjust_speed * (1 - 0.4 * dis),
            0.3,
        )
        short = wf.step_shortage(
            rng,
            short,
            s.pedagogue_shortage_entry + s.pedagogue_shortage_entry_disadvantage * dis**2,
            s.pedagogue_shortage_exit * (1 - 0.5 * dis),
        )
        # pedagogue positions are planned for the kindergarten's target of children (places
        # ≈ 2·U3 + O3), or for last months' actual children when more; a vacancy leaves one
        # (in poor areas sometimes two) positions empty for months
        planned = np.maximum(
            wf.pedagogue_positions_for_places(target_places, bool(pedagogue_rule_2018[t])),
            rec["pedagogue_norm_positions"][lag, every],
        )
        ped = np.minimum(np.maximum(planned + surplus - short * shortage_depth, 0.0), staff)
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
            update = starting | (m in (1, 8))
            rp = np.where(update, fresh, rp)

        for name, value in (
            ("children_under3", under3),
            ("children_over3", over3),
            ("waiting_list", ch.waiting_list(rng, capacity, pressure, popularity, m)),
            ("vedtak_31", v31),
            ("vedtak_37", v37),
            ("minority_language_share", dc.observed_share(rng, ml_logit, kids)),
            ("low_income_share", dc.observed_share(rng, li_logit, kids)),
            ("staff_fte", staff),
            ("pedagogue_fte", ped),
            ("resource_pedagogue_fte", rp),
            ("sick_leave_rate", sick),
            ("staff_leavers", quits),
            ("expected_sick_leave_rate", expected_sick),
            ("older_under3_cohort", cohorts[:, 1]),
            ("aged_into_over3", aged),
            ("joined_under3", joined_u3),
            ("joined_over3", joined_o3),
            ("left_under3", left_u3),
            ("left_over3", left_o3),
            ("school_leavers", leavers),
            ("refugee_arrivals", arrivals),
            ("demand_pressure", pressure),
            ("pedagogue_shortage", short),
            ("vedtak31_expected_share", p31),
            ("low_income_expected_share", li_expected),
        ):
            rec[name][t] = np.where(active, value, 0)
        active_all[t] = active
        if progress is not None:
            progress(t + 1, n_months)
    return Run(months, active_all, rec, events)


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
