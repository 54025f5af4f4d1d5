"""How often the overview flags a legal breach where contracted staffing meets both norms now:
the old rule (any shortfall, 20 %) against the overview's rule (a hiring step of basic staff or
any pedagogue shortfall, 50 %), on the demo district with its champion's forecasts and on fresh
districts of both simulator families with the seasonal-naive and last-value baselines.

    PYTHONPATH=$PWD nice -n 10 .venv/bin/python -m benchmarks.legal_flag [DEMO_FOLDER]

DEMO_FOLDER (default /tmp/app_demo) is what ``scripts/demo.sh`` wrote: ``data/`` and
``forecasts.csv``. Everything here is SIMULATED data.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from data.contract import District
from models.needs import simulate_needs
from models.norm_compliance import breach_probabilities, legal_now
from serving.app.views import LEGAL_FLAG_PROBABILITY, LEGAL_FLAG_STAFF_STEP_FTE

RULES = {
    "old (any shortfall, 20 %)": (0.0, 0.2),
    "new (a hiring step, 50 %)": (LEGAL_FLAG_STAFF_STEP_FTE, LEGAL_FLAG_PROBABILITY),
}


def flagged(district: District, forecasts: pd.DataFrame, label: str) -> None:
    monthly = district.monthly
    last = monthly.sort_values("month").groupby("kindergarten_id").tail(1)
    last = last.set_index("kindergarten_id")
    latest = forecasts[forecasts["origin"] == forecasts["origin"].max()]
    ids = tuple(sorted(set(latest["kindergarten_id"]) & set(last.index)))
    last = last.loc[list(ids)]
    months = pd.PeriodIndex(sorted(latest["month"].unique()), freq="M")
    current = last[["staff_fte", "pedagogue_fte", "resource_pedagogue_fte"]].to_numpy(float)
    needs = simulate_needs(
        latest, kindergarten_ids=ids, months=months, current_fte=current, n_scenarios=200, seed=0
    )
    ok = legal_now(last)["legal_ok_now"].to_numpy(dtype=bool)
    for rule, (step, threshold) in RULES.items():
        shares = breach_probabilities(needs, staff_step_fte=step)
        worst = shares.groupby("kindergarten_id", sort=True)["legal"].max().to_numpy()
        flag = ~ok | (worst >= threshold)
        print(
            f"{label}, {rule}: flagged {int(flag.sum())}/{len(flag)}; "
            f"among those meeting both norms now {int((flag & ok).sum())}/{int(ok.sum())}",
            flush=True,
        )


def main(argv: list[str]) -> None:
    from data.validate import read_district
    from models.forecast.baselines import LastValue, SeasonalNaive
    from simulate import simulate_district
    from simulate.capacity import simulate_capacity

    demo = Path(argv[0] if argv else "/tmp/app_demo")
    if (demo / "forecasts.csv").exists():
        forecasts = pd.read_csv(demo / "forecasts.csv")
        for column in ("month", "origin"):
            forecasts[column] = pd.PeriodIndex(forecasts[column], freq="M")
        flagged(read_district(demo / "data"), forecasts, "demo (champion)")
    for seed in (101, 102, 103):
        for family in ("cohort", "capacity"):
            sim = simulate_capacity(seed=seed) if family == "capacity" else None
            district = (sim or simulate_district("district", seed=seed)).district
            for name, baseline in (
                ("seasonal naive", SeasonalNaive()),
                ("last value", LastValue()),
            ):
                predicted = baseline.fit(district).predict(district, horizon=12)
                flagged(district, predicted, f"seed {seed} {family} ({name})")


if __name__ == "__main__":
    main(sys.argv[1:])
