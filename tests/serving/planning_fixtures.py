"""A small simulated district with its hidden last year, and forecasts built around the truth
(quantiles of a normal around the real future value), until the forecasters are used here."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from data.contract import QUANTILE_COLUMNS, QUANTILES, District

TARGETS = ("children_under3", "children_over3", "vedtak_31", "vedtak_37", "sick_leave_rate")


def split_district(seed: int = 1, n_kindergartens: int = 8, hide_from: str = "2024-01"):
    """(district up to the month before ``hide_from``, the hidden monthly rows)."""
    from simulate import simulate_district

    sim = simulate_district(
        "district",
        seed=seed,
        n_kindergartens=n_kindergartens,
        start=pd.Period("2020-01"),
        end=pd.Period("2024-12"),
    )
    full = sim.district
    cut = pd.Period(hide_from, "M")
    seen = full.monthly[full.monthly["month"] < cut].reset_index(drop=True)
    hidden = full.monthly[full.monthly["month"] >= cut].reset_index(drop=True)
    district = District(
        kindergartens=full.kindergartens,
        monthly=seen,
        population=full.population,
        simulated=True,
        source=full.source,
    )
    return district, hidden


def forecasts_around(
    hidden: pd.DataFrame,
    origin: pd.Period,
    *,
    relative_sd: float = 0.08,
    seed: int = 0,
    bias: float = 0.0,
) -> pd.DataFrame:
    """Contract forecasts whose median is the truth times (1 + bias) plus noise, with a normal
    spread of ``relative_sd`` of the value (at least one child / decision, 1.5 points of sick
    leave)."""
    rng = np.random.default_rng(seed)
    rows = []
    z = norm.ppf(QUANTILES)
    for target in TARGETS:
        value = hidden[target].astype(float).fillna(0.0).to_numpy()
        if target == "sick_leave_rate":
            sd = np.full(len(value), 0.015)
        else:
            sd = np.maximum(relative_sd * value, 1.0)
        centre = value * (1 + bias) + rng.normal(0, 0.5, len(value)) * sd
        q = centre[:, None] + sd[:, None] * z[None, :]
        q = np.clip(q, 0.0, 1.0 if target == "sick_leave_rate" else None)
        frame = pd.DataFrame(q, columns=list(QUANTILE_COLUMNS))
        frame.insert(0, "target", target)
        frame.insert(0, "horizon", [(m - origin).n for m in hidden["month"]])
        frame.insert(0, "month", hidden["month"].astype(str).to_numpy())
        frame.insert(0, "origin", str(origin))
        frame.insert(0, "kindergarten_id", hidden["kindergarten_id"].to_numpy())
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)
