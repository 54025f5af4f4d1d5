"""A small simulated district and simple forecasts for the report tests: each kindergarten's
last observed value as the median with a normal spread, for every month of the plan period, so
a real plan can be built in a second without training a model."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from data.contract import KINDERGARTEN_ID, MONTH, QUANTILE_COLUMNS, QUANTILES, District

NEED_TARGETS = ("children_under3", "children_over3", "vedtak_31", "vedtak_37", "sick_leave_rate")


def small_district(seed: int = 3, n_kindergartens: int = 10) -> District:
    from simulate import simulate_district

    return simulate_district(
        "district",
        seed=seed,
        n_kindergartens=n_kindergartens,
        start=pd.Period("2021-01", "M"),
        end=pd.Period("2024-12", "M"),
    ).district


def last_value_forecasts(
    district: District,
    *,
    horizon: int = 12,
    relative_sd: float = 0.15,
    growth_per_month: float = 0.01,
) -> pd.DataFrame:
    """Contract forecasts from the last month: median = last value × (1 + growth)^h, spread
    ``relative_sd`` of it (at least one child or decision; 2 points of sick leave)."""
    monthly = district.monthly.sort_values([KINDERGARTEN_ID, MONTH])
    last = monthly.groupby(KINDERGARTEN_ID).tail(1).set_index(KINDERGARTEN_ID)
    origin = district.last_month
    z = norm.ppf(QUANTILES)
    parts = []
    for target in NEED_TARGETS:
        base = last[target].astype(float).fillna(0.0)
        for h in range(1, horizon + 1):
            if target == "sick_leave_rate":
                centre, sd = base.to_numpy(), np.full(len(base), 0.02)
            else:
                centre = base.to_numpy() * (1 + growth_per_month) ** h
                sd = np.maximum(relative_sd * centre, 1.0)
            q = np.clip(
                centre[:, None] + sd[:, None] * z[None, :],
                0.0,
                1.0 if target == "sick_leave_rate" else None,
            )
            frame = pd.DataFrame(q, columns=list(QUANTILE_COLUMNS))
            frame.insert(0, "target", target)
            frame.insert(0, "horizon", h)
            frame.insert(0, MONTH, origin + h)
            frame.insert(0, "origin", origin)
            frame.insert(0, KINDERGARTEN_ID, base.index.to_numpy())
            parts.append(frame)
    return pd.concat(parts, ignore_index=True)
