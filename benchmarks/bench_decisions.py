"""Decision benchmark: the decision backtest (``bemanning backtest DATA --plans``) on simulated
districts of both simulator families, with seeds used for nothing else (101–103).

Run as ``python -m benchmarks.bench_decisions [--family cohort|capacity|both] [--seeds
101,102,103] [--origins 3] [--scenario-origins 0] [--kindergartens N] [--trees 0]
[--jobs N]``. It prints figures and asserts nothing.

For each family and seed it simulates a district (SIMULATED: the main "cohort" family's district
preset, ≈ 45 kindergartens in Bydel Gamle Oslo, or the capacity family of
:mod:`simulate.capacity`, ≈ 48 in Bydel Grünerløkka; 2017-01 … 2026-10), then runs
:func:`training.decisions.decision_backtest` with the engine's own plan path
(:func:`serving.plan_defaults.engine_planner`) at the last ``--origins`` kindergarten-year
origins (end of July; each plans August–July from the data known then, the forecaster refitted
on those data only) with the demo pools (staff 8, pedagogue 4, resource pedagogue 5 FTE) and the
built-in plan settings (the engine's hireable steps for the key and the oracle too). Regret =
(plan − oracle) / (key − oracle) in realised unmet FTE-months, pooled over the origins
(proportional key = 1, perfect-information oracle = 0), at the default equity weight (1) and at
equity weight 0 (the same backtest re-plans with the weight at 0). Goal: mean regret ≤ 0.25 at
equity 0 and ≤ 0.35 at the default, on each family. The plan's regret per resource (staff,
pedagogues, resource pedagogues; at the default) shows where the rest comes from.

The forecaster is the engine's own ``ForecastPipeline`` as ``bemanning train`` fits it
(``--trees 0``, the default since 2026-12-07: it runs both families' 101–103 in about two
minutes on two cores, and the benchmark measures the decisions the engine would make). ``--trees
N`` gives the quicker reduced forecaster used for the plan-settings sweeps: N LightGBM trees,
residual intervals, 4 calibration origins. Either way, by default, the Gaussian copula for the
scenarios' dependence (``--scenario-origins 0``; ``bemanning backtest --plans`` uses 3 rolling
origins). The printed header says which.

``--risk``, ``--tail-weight`` and ``--spread`` set the plan settings that are not policy
(default: the built-in ones), so settings tuned on other seeds can be reported here. ``--cache
DIR`` keeps each origin's refitted forecaster output (:class:`training.decisions.OriginCase`)
as a pickle, so a second run with other settings plans on the very same forecasts; the cache is
keyed by family, seed, origin, trees and scenario origins only — clear it after changing the
forecasting code.
"""

from __future__ import annotations

import argparse
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.cli_args import whole_numbers
from data.contract import RESOURCES, District

DEMO_POOLS = {"staff": 8.0, "pedagogue": 4.0, "resource_pedagogue": 5.0}
DEFAULT_SEEDS = (101, 102, 103)
FAMILIES = ("cohort", "capacity")
GOAL_EQUITY_0 = 0.25
GOAL_DEFAULT = 0.35


def simulate_family(family: str, seed: int, n_kindergartens: int | None) -> District:
    """A SIMULATED district of ``family`` (2017-01 … 2026-10, the simulators' defaults)."""
    if family == "cohort":
        from simulate import simulate_district

        return simulate_district("district", seed=seed, n_kindergartens=n_kindergartens).district
    if family == "capacity":
        from simulate.capacity import simulate_capacity

        return simulate_capacity(seed=seed, n_kindergartens=n_kindergartens).district
    raise ValueError(f"unknown simulator family {family!r}; one of {', '.join(FAMILIES)}")


def pipeline_factory(trees: int) -> Callable[[], Any]:
    """The engine's forecaster at the benchmark's reduced size (module doc); ``trees`` 0: at
    the size ``bemanning train`` fits (its defaults)."""
    from models.forecast.pipeline import ForecastPipeline

    def make() -> ForecastPipeline:
        if trees == 0:
            return ForecastPipeline()
        return ForecastPipeline(
            horizons=12,
            interval_method="residual",
            calibration_origins=4,
            lgbm_params={"n_estimators": trees, "n_jobs": 1},
            n_jobs=1,
        )

    return make


def origin_cases(
    district: District,
    *,
    family: str,
    seed: int,
    n_origins: int,
    scenario_origins: int,
    trees: int,
    n_jobs: int | None,
    cache: Path | None,
) -> list[Any]:
    """Per decision-backtest origin the forecaster refitted on the data known then
    (:func:`training.decisions.prepare_case`), from ``cache`` when there (module doc)."""
    from joblib import Parallel, delayed

    from training.decisions import decision_origins, default_jobs, prepare_case

    origins = decision_origins(district, n_origins, 12)

    def one(origin: pd.Period) -> Any:
        path = cache / f"{family}_{seed}_{origin}_{trees}_{scenario_origins}.pkl" if cache else None
        if path is not None and path.exists():
            return pickle.loads(path.read_bytes())
        case = prepare_case(
            district, origin, pipeline_factory(trees), scenario_origins=scenario_origins
        )
        if path is not None:
            path.write_bytes(pickle.dumps(case))
        return case

    jobs = n_jobs if n_jobs is not None else default_jobs(len(origins))
    if jobs <= 1:
        return [one(o) for o in origins]
    return list(Parallel(n_jobs=jobs)(delayed(one)(o) for o in origins))


def run_seed(
    family: str,
    seed: int,
    *,
    n_origins: int,
    scenario_origins: int,
    n_kindergartens: int | None,
    trees: int,
    n_jobs: int | None,
    settings: Any = None,
    cache: Path | None = None,
) -> dict[str, Any]:
    """One family × seed: the decision backtest's pooled figures (the pieces of
    :func:`training.decisions.decision_backtest`: refit per origin, then score every
    allocation at the default equity weight and at 0)."""
    from serving.plan_defaults import engine_planner
    from training.decisions import DecisionPolicy, PlanSettings, score_case, summarise

    started = time.perf_counter()
    district = simulate_family(family, seed, n_kindergartens)
    cases = origin_cases(
        district,
        family=family,
        seed=seed,
        n_origins=n_origins,
        scenario_origins=scenario_origins,
        trees=trees,
        n_jobs=n_jobs,
        cache=cache,
    )
    policy = DecisionPolicy(pools=DEMO_POOLS)
    outcomes = pd.concat(
        [score_case(case, engine_planner, policy, settings or PlanSettings()) for case in cases],
        ignore_index=True,
    )
    summary = summarise(outcomes)
    overall = summary.set_index("origin").loc["overall"]
    per_origin = summary[summary["origin"] != "overall"]
    return {
        **resource_regrets(outcomes),
        "family": family,
        "seed": seed,
        "kindergartens": int(district.kindergartens.shape[0]),
        "regret_equity_0": float(overall["regret_plan_equity_0"]),
        "regret_default": float(overall["regret"]),
        "regret_risk_neutral": float(overall["regret_plan_risk_neutral"]),
        "regret_median_only": float(overall["regret_median_only"]),
        "vss": float(overall["vss"]),
        "evpi": float(overall["evpi"]),
        "unmet_key": float(overall["unmet_key"]),
        "unmet_oracle": float(overall["unmet_oracle"]),
        "per_origin": ", ".join(
            f"{o} {r:.2f}" for o, r in zip(per_origin["origin"], per_origin["regret"], strict=True)
        ),
        "seconds": time.perf_counter() - started,
    }


def resource_regrets(outcomes: pd.DataFrame) -> dict[str, float]:
    """The plan's regret per resource, pooled over the origins (where the regret comes from)."""
    from training.decision_scoring import regret

    sums = outcomes.groupby("allocation")[[f"unmet_{r}" for r in RESOURCES]].sum()
    return {
        f"regret_{r}": regret(
            float(sums.at["plan", f"unmet_{r}"]),
            float(sums.at["key", f"unmet_{r}"]),
            float(sums.at["oracle", f"unmet_{r}"]),
        )
        for r in RESOURCES
    }


def print_family(rows: list[dict[str, Any]]) -> None:
    family = rows[0]["family"]
    print(f"\n{family} family — SIMULATED — regret pooled over the origins (key 1, oracle 0)")
    print(
        f"{'seed':>5} {'kgs':>4} {'equity 0':>9} {'default':>8} {'risk-neutral':>13} "
        f"{'median-only':>12} {'VSS':>7} {'EVPI':>7} {'key−oracle':>11} {'s':>6} "
        f"{'staff':>6} {'ped.':>6} {'res.':>6}  per origin"
    )
    for r in rows:
        print(
            f"{r['seed']:>5} {r['kindergartens']:>4} {r['regret_equity_0']:>9.3f} "
            f"{r['regret_default']:>8.3f} {r['regret_risk_neutral']:>13.3f} "
            f"{r['regret_median_only']:>12.3f} {r['vss']:>7.1f} {r['evpi']:>7.1f} "
            f"{r['unmet_key'] - r['unmet_oracle']:>11.1f} {r['seconds']:>6.0f} "
            f"{r['regret_staff']:>6.2f} {r['regret_pedagogue']:>6.2f} "
            f"{r['regret_resource_pedagogue']:>6.2f}  {r['per_origin']}"
        )
    e0 = float(np.mean([r["regret_equity_0"] for r in rows]))
    dflt = float(np.mean([r["regret_default"] for r in rows]))
    print(
        f"{'mean':>5} {'':>4} {e0:>9.3f} {dflt:>8.3f}   goal ≤ {GOAL_EQUITY_0} at equity 0: "
        f"{'met' if e0 <= GOAL_EQUITY_0 else 'MISSED'}; ≤ {GOAL_DEFAULT} at the default: "
        f"{'met' if dflt <= GOAL_DEFAULT else 'MISSED'}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=(*FAMILIES, "both"), default="both")
    parser.add_argument("--seeds", type=whole_numbers, default=",".join(map(str, DEFAULT_SEEDS)))
    parser.add_argument("--origins", type=int, default=3, help="kindergarten-year origins")
    parser.add_argument(
        "--scenario-origins",
        type=int,
        default=0,
        help="rolling origins inside each origin's data for the scenarios (0 = copula)",
    )
    parser.add_argument("--kindergartens", type=int, default=None)
    parser.add_argument(
        "--trees",
        type=int,
        default=0,
        help="0 (default): the engine's forecaster as train fits it; N: a reduced one of N trees",
    )
    parser.add_argument("--jobs", type=int, default=None, help="processes (default: cores)")
    parser.add_argument("--risk", type=float, default=None, help="plan setting (default built in)")
    parser.add_argument("--tail-weight", type=float, default=None, help="plan setting")
    parser.add_argument("--spread", type=float, default=None, help="plan setting: scenario spread")
    parser.add_argument("--cache", type=Path, default=None, help="keep the refitted cases here")
    args = parser.parse_args(argv)
    from training.decisions import PlanSettings

    built_in = PlanSettings()
    settings = PlanSettings(
        risk=built_in.risk if args.risk is None else args.risk,
        tail_weight=built_in.tail_weight if args.tail_weight is None else args.tail_weight,
        scenario_spread=built_in.scenario_spread if args.spread is None else args.spread,
    )
    if args.cache is not None:
        args.cache.mkdir(parents=True, exist_ok=True)
    seeds = args.seeds
    families = FAMILIES if args.family == "both" else (args.family,)
    print(
        f"Decision benchmark: families {', '.join(families)}, seeds {seeds}, {args.origins} "
        f"origins, pools {DEMO_POOLS}, forecaster "
        + (
            "at train's defaults (cqr intervals), "
            if args.trees == 0
            else f"{args.trees} trees, residual intervals, "
        )
        + f"scenario dependence from {args.scenario_origins or 'no'} rolling origins"
        f"{'' if args.scenario_origins else ' (copula)'}; plan settings: risk {settings.risk:g}, "
        f"tail weight {settings.tail_weight:g}, scenario spread {settings.scenario_spread:g}",
        flush=True,
    )
    started = time.perf_counter()
    for family in families:
        rows = []
        for seed in seeds:
            rows.append(
                run_seed(
                    family,
                    seed,
                    n_origins=args.origins,
                    scenario_origins=args.scenario_origins,
                    n_kindergartens=args.kindergartens,
                    trees=args.trees,
                    n_jobs=args.jobs,
                    settings=settings,
                    cache=args.cache,
                )
            )
            print(
                f"  {family} seed {seed}: equity 0 {rows[-1]['regret_equity_0']:.3f}, default "
                f"{rows[-1]['regret_default']:.3f} ({rows[-1]['seconds']:.0f} s)",
                flush=True,
            )
        print_family(rows)
    print(f"\nTotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
