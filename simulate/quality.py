"""Quality indicators that move with the simulated process (SIMULATED, see PROCESS.md).

- the parent survey (yearly, December): scores fall where staffing falls short of the norm
  (staff FTE × (1 − sick leave) per (2·U3 + O3)/6 places) and rise with popularity;
- the 10-factor employee survey (yearly, December): scores fall with the kindergarten's latent
  sick-leave effect, the same latent that drives its sick leave and leavers the following year;
- health-and-safety incidents (monthly count): Poisson with a mean rising with sick leave;
- special-pedagogy costs (monthly NOK): about 42,000 per active § 31/§ 37 decision.

CLASS and TOPI are left out on purpose: the dashboard then shows which source would bring them.
Draws come from their own generator (seeded from the simulation's seed), so adding quality
indicators leaves every other simulated value unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.quality import PARENT_SURVEY, WORK_ENVIRONMENT

#: Salt of the quality generator's seed: ``default_rng([seed, QUALITY_SALT])``.
QUALITY_SALT = 18
COST_PER_DECISION_NOK = 42_000.0


def simulate_quality(monthly: pd.DataFrame, latent: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The long quality table (kindergarten_id, month, indicator, value) of a simulated district."""
    rng = np.random.default_rng([seed, QUALITY_SALT])
    frame = monthly[["kindergarten_id", "month"]].copy()
    places = 2 * monthly["children_under3"].astype(float) + monthly["children_over3"].astype(float)
    effective = monthly["staff_fte"].astype(float) * (1 - monthly["sick_leave_rate"].astype(float))
    frame["staffing"] = np.where(places > 0, effective / np.maximum(places / 6.0, 1e-9), np.nan)
    frame["year"] = monthly["month"].dt.year
    yearly = frame.groupby(["kindergarten_id", "year"], sort=True)["staffing"].mean().reset_index()
    last = monthly["month"].max()
    # a survey is run in December: no survey of a year whose December the data do not reach
    yearly = yearly[yearly["year"] < last.year + (last.month == 12)].reset_index(drop=True)
    latent = latent.set_index("kindergarten_id")
    popularity = yearly["kindergarten_id"].map(latent["popularity"]).to_numpy(dtype=float)
    sick_effect = yearly["kindergarten_id"].map(latent["sick_leave_effect"]).to_numpy(dtype=float)
    shortfall = np.clip(1.0 - yearly["staffing"].to_numpy(dtype=float), -0.3, 0.6)
    survey_month = pd.PeriodIndex(
        [pd.Period(year=int(y), month=12, freq="M") for y in yearly["year"]], freq="M"
    )
    rows = []
    base_parent = 4.3 - 2.2 * shortfall + 0.15 * np.nan_to_num(popularity)
    for offset, name in enumerate(PARENT_SURVEY):
        score = base_parent - 0.1 * offset + rng.normal(0, 0.12, len(yearly))
        rows.append(_rows(yearly["kindergarten_id"], survey_month, name, np.clip(score, 1, 5), 1))
    base_work = 4.1 - 2.5 * np.nan_to_num(sick_effect)
    for offset, name in enumerate(WORK_ENVIRONMENT):
        score = base_work - 0.05 * (offset % 4) + rng.normal(0, 0.1, len(yearly))
        rows.append(_rows(yearly["kindergarten_id"], survey_month, name, np.clip(score, 1, 5), 1))
    sick = monthly["sick_leave_rate"].astype(float).fillna(0.07).to_numpy()
    incidents = rng.poisson(0.2 + 6.0 * sick)
    rows.append(_rows(monthly["kindergarten_id"], monthly["month"], "hse_incidents", incidents, 0))
    decisions = (
        monthly["vedtak_31"].astype(float).fillna(0) + monthly["vedtak_37"].astype(float).fillna(0)
    ).to_numpy()
    cost = decisions * COST_PER_DECISION_NOK * rng.lognormal(0, 0.15, len(monthly))
    rows.append(
        _rows(monthly["kindergarten_id"], monthly["month"], "special_pedagogy_cost", cost, -2)
    )
    quality = pd.concat(rows, ignore_index=True)
    quality = quality[~np.isnan(quality["value"].to_numpy())]
    return quality.sort_values(
        ["kindergarten_id", "month", "indicator"], kind="stable"
    ).reset_index(drop=True)


def _rows(
    ids: pd.Series,
    months: pd.Series | pd.PeriodIndex,
    indicator: str,
    values: np.ndarray,
    digits: int,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kindergarten_id": np.asarray(ids, dtype=object),
            "month": pd.PeriodIndex(months, freq="M"),
            "indicator": indicator,
            "value": np.round(np.asarray(values, dtype=float), digits),
        }
    )
