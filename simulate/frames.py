"""Turn the loop's arrays into the contract's tables (District) and the ground-truth tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.contract import KINDERGARTEN_ID, MONTH
from simulate.engine import RECORDED, Run
from simulate.layout import Layout
from simulate.population import AGES

#: Monthly columns of the contract the simulator fills (all of them), with their rounding.
CONTRACT_MONTHLY = {
    "children_under3": None,
    "children_over3": None,
    "waiting_list": None,
    "vedtak_31": None,
    "vedtak_37": None,
    "minority_language_share": 3,
    "low_income_share": 3,
    "staff_fte": 1,
    "pedagogue_fte": 1,
    "resource_pedagogue_fte": 1,
    "sick_leave_rate": 4,
    "staff_leavers": None,
}
TRUTH_MONTHLY = tuple(name for name, _ in RECORDED if name not in CONTRACT_MONTHLY)
KINDERGARTEN_LATENT = (
    "living_conditions_index",
    "under3_place_share",
    "demand_pressure_base",
    "popularity",
    "sick_leave_effect",
    "decision_propensity",
    "staffing_margin",
    "pedagogue_surplus",
    "low_income_base",
    "minority_language_base",
)


def long_frame(run: Run, ids: np.ndarray, names: tuple[str, ...], first: int) -> pd.DataFrame:
    """Rows for each kindergarten's active months from index ``first`` on, kindergarten-major."""
    active = run.active[first:].T
    k_idx, t_idx = np.nonzero(active)
    frame = pd.DataFrame(
        {
            KINDERGARTEN_ID: ids[k_idx],
            MONTH: run.months[first:][t_idx],
        }
    )
    for name in names:
        frame[name] = run.values[name][first:].T[k_idx, t_idx]
    return frame


def realised_crossing(run: Run) -> np.ndarray:
    """Per month and kindergarten: the children who actually crossed into over 3 at the next
    August (NaN when that August is beyond the simulated months)."""
    months = run.months.month.to_numpy()
    n = len(months)
    next_aug = np.full(n, n)
    upcoming = n
    for t in range(n - 1, -1, -1):
        next_aug[t] = upcoming
        if months[t] == 8:
            upcoming = t
    aged = np.vstack(
        [run.values["aged_into_over3"].astype(float), np.full((1, run.active.shape[1]), np.nan)]
    )
    return aged[next_aug]


def build_frames(
    rng: np.random.Generator,
    run: Run,
    layout: Layout,
    first: int,
    opened: pd.Series,
    closed: pd.Series,
    missing_share: float,
    last_population_year: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]:
    """(kindergartens, monthly, population, truth) from a finished run; ``first`` is the index of
    the first month shown (after burn-in)."""
    kg = layout.kindergartens
    order = np.argsort(kg[KINDERGARTEN_ID].to_numpy(), kind="stable")
    ids = kg[KINDERGARTEN_ID].to_numpy()
    run.values["crossing_next_august"] = realised_crossing(run)
    names = (*CONTRACT_MONTHLY, *TRUTH_MONTHLY, "crossing_next_august")
    sub = Run(run.months, run.active[:, order], {k: v[:, order] for k, v in run.values.items()})
    frame = long_frame(sub, ids[order], names, first)
    for name, digits in CONTRACT_MONTHLY.items():
        if digits is not None:
            frame[name] = frame[name].round(digits)
    in_data = rng.random(len(frame)) >= missing_share
    monthly = frame.loc[in_data, [KINDERGARTEN_ID, MONTH, *CONTRACT_MONTHLY]].reset_index(drop=True)
    monthly["simulated"] = True
    truth_monthly = frame[[KINDERGARTEN_ID, MONTH, *TRUTH_MONTHLY, "crossing_next_august"]].copy()
    truth_monthly.insert(2, "in_data", in_data)

    kindergartens = (
        pd.DataFrame(
            {
                KINDERGARTEN_ID: ids,
                "name": kg["name"],
                "district": kg["district"],
                "area": kg["area"],
                "capacity": kg["capacity"].astype(np.int64),
                "opened": opened.to_numpy(),
                "closed": closed.to_numpy(),
                "simulated": True,
            }
        )
        .iloc[order]
        .reset_index(drop=True)
    )
    truth_kg = kg[[KINDERGARTEN_ID, "district", "area", "capacity", *KINDERGARTEN_LATENT]]
    truth_kg = truth_kg.iloc[order].reset_index(drop=True)
    events = (
        pd.concat(run.events, ignore_index=True)
        if run.events
        else pd.DataFrame(
            {
                "month": pd.PeriodIndex([], freq="M"),
                "district": [],
                "area": [],
                "children": np.array([], dtype=np.int64),
                "kindergartens": np.array([], dtype=np.int64),
            }
        )
    )
    events = events[events["month"] >= run.months[first]].reset_index(drop=True)
    areas = pd.DataFrame([a.__dict__ for a in layout.areas]).rename(
        columns={
            "name": "area",
            "share": "share_of_district_children_base_year",
            "disadvantage": "living_conditions_index",
            "share_growth": "share_growth_per_year",
        }
    )
    truth = {"kindergartens": truth_kg, "monthly": truth_monthly, "events": events, "areas": areas}
    population = population_table(layout, last_population_year)
    return kindergartens, monthly, population, truth


def population_table(layout: Layout, last_year: int) -> pd.DataFrame:
    """District rows (real SSB figures, or projection / simulated municipality) and the simulated
    area rows, every year up to ``last_year``; ``projection`` marks years after the real data."""
    cols = ["district", "area", "year", "population_1_5", *AGES, "projection", "simulated"]
    district = layout.district_population.assign(area=None)
    area = layout.area_population.assign(simulated=True)
    table = pd.concat([district[cols], area[cols]], ignore_index=True)
    table = table[table["year"] <= last_year]
    return table.sort_values(
        ["district", "area", "year"], na_position="first", kind="stable"
    ).reset_index(drop=True)
