"""Where the capacity family's decision regret comes from: the engine's plan beside plans made
on better knowledge of the same plan year, per resource (issue 19: resource pedagogues).

Run as ``python -m benchmarks.decision_floor [--seeds 1,2,3] [--paths 200] [--trees 100]``.
It prints figures and asserts nothing; use tuning seeds (the report seeds 101–103 are for
``bench_decisions`` only).

Per seed it simulates the capacity family's district (SIMULATED, :mod:`simulate.capacity`), and
at each of the last three kindergarten-year origins (end of July) fits the forecaster on the
data known then (``bench_decisions``' reduced size, copula scenarios) and plans the demo pools
at the equity weight given (``--equity``, default 0: the goal the family misses). Beside the
engine's plan, with the same pools, steps and the same proportional key and perfect-information
oracle as ``bench_decisions``:

* **process forecasts** — the engine's own plan path, but on forecasts that are the quantiles
  of ``--paths`` futures of the simulator run on from its whole state at the origin (every
  latent propensity, stock and level known; only the future's randomness drawn fresh): what a
  perfect forecaster of the process would give the engine;
* **process plan** — the optimiser on those very paths as scenarios, minimising unweighted
  expected unmet FTE-months (the Bayes-optimal plan for the measure, to Monte Carlo noise): the
  regret no forecaster of this process can beat on average;
* **perfect § 31/§ 37** — the engine's plan with the realised decisions as its § 31/§ 37
  forecast (everything else the model's): how much of the resource pedagogues' regret is the
  decisions forecast at all.

Regret = (x − oracle) / (key − oracle) in realised unmet FTE-months pooled over the origins,
per resource and in total.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.cli_args import whole_numbers
from data.contract import KINDERGARTEN_ID, MONTH, QUANTILE_COLUMNS, QUANTILES, RESOURCES
from models.needs import NEED_TARGETS, NeedScenarios

DECISION_TARGETS = ("vedtak_31", "vedtak_37")
METHODS = ("plan", "process forecasts", "process plan", "perfect § 31/§ 37")


def process_paths(seed: int, origins: list[pd.Period], months: int, paths: int, district):
    """Per origin the simulator's futures (target → (S, K, M)) for the data's kindergartens,
    from a replay of the run that made ``district`` (checked against its § 31 counts)."""
    from simulate.capacity import continue_capacity, run_capacity

    shown = district.monthly[MONTH]
    _, run, _ = run_capacity(seed=seed, start=shown.min(), end=shown.max(), snapshot_months=origins)
    ids = run.kindergartens[KINDERGARTEN_ID].astype(str).tolist()
    column = pd.Series(range(len(ids)), index=ids)
    cols = column.loc[district.monthly[KINDERGARTEN_ID].astype(str)].to_numpy()
    rows = run.months.get_indexer(pd.PeriodIndex(shown, freq="M"))
    if (run.values["vedtak_31"][rows, cols] != district.monthly["vedtak_31"].to_numpy()).any():
        raise RuntimeError("the replay differs from the data: not made by simulate_capacity")
    rng = np.random.default_rng(0)
    out = {}
    for origin in origins:
        ahead = continue_capacity(run, origin, months, paths, rng)  # (M, S, n)
        out[origin] = (ids, {t: np.transpose(ahead[t], (1, 2, 0)) for t in NEED_TARGETS})
    return out


def as_forecasts(
    arrays: dict[str, np.ndarray], kindergarten_ids: tuple[str, ...], origin: pd.Period
) -> pd.DataFrame:
    """Contract forecasts: the paths' quantiles per kindergarten, month and target."""
    frames = []
    months = arrays[NEED_TARGETS[0]].shape[2]
    plan_months = pd.period_range(origin + 1, periods=months, freq="M")
    for target, values in arrays.items():
        q = np.quantile(values, QUANTILES, axis=0)  # (7, K, M)
        for k, kid in enumerate(kindergarten_ids):
            frame = pd.DataFrame(q[:, k, :].T, columns=list(QUANTILE_COLUMNS))
            frame.insert(0, "target", target)
            frame.insert(0, "horizon", np.arange(1, months + 1))
            frame.insert(0, MONTH, plan_months)
            frame.insert(0, "origin", pd.PeriodIndex([origin] * months, freq="M"))
            frame.insert(0, KINDERGARTEN_ID, kid)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def with_realised(forecasts: pd.DataFrame, realised: pd.DataFrame, targets) -> pd.DataFrame:
    """``forecasts`` with every quantile of ``targets`` set to the realised value (where known)."""
    out = forecasts.copy()
    truth = realised.set_index([KINDERGARTEN_ID, MONTH])
    for target in targets:
        rows = out["target"] == target
        index = pd.MultiIndex.from_arrays(
            [
                out.loc[rows, KINDERGARTEN_ID].astype(str),
                pd.PeriodIndex(out.loc[rows, MONTH].astype(str), freq="M"),
            ]
        )
        values = truth[target].reindex(index).to_numpy(float)
        known = ~np.isnan(values)
        for q in QUANTILE_COLUMNS:
            column = out.loc[rows, q].to_numpy(float)
            column[known] = values[known]
            out.loc[rows, q] = column
    return out


def run_seed(seed: int, *, paths: int, trees: int, equity: float) -> pd.DataFrame:
    """Unmet FTE-months per origin, method and resource (with the key and the oracle)."""
    from benchmarks.bench_decisions import DEMO_POOLS, pipeline_factory, simulate_family
    from models.allocation import AllocationSettings, optimise
    from serving.plan_defaults import engine_planner
    from training.decision_scoring import realised_outcome
    from training.decisions import (
        KEY,
        ORACLE,
        UNWEIGHTED,
        DecisionPolicy,
        PlanSettings,
        case_baselines,
        decision_origins,
        prepare_case,
    )

    district = simulate_family("capacity", seed, None)
    origins = decision_origins(district, 3, 12)
    futures = process_paths(seed, origins, 12, paths, district)
    policy = DecisionPolicy(pools=DEMO_POOLS, equity_weight=equity)
    settings = PlanSettings()
    rows: list[dict[str, Any]] = []
    for origin in origins:
        case = prepare_case(district, origin, pipeline_factory(trees), scenario_origins=0)
        planned = engine_planner(case.known, case.forecasts, None, policy, settings)
        base = case_baselines(case, planned)
        ids, drawn = futures[origin]
        col = [ids.index(k) for k in planned.kindergarten_ids]
        arrays = {t: drawn[t][:, col, :].astype(float) for t in NEED_TARGETS}
        process = as_forecasts(arrays, planned.kindergarten_ids, origin)
        scenarios = NeedScenarios(
            kindergarten_ids=planned.kindergarten_ids,
            months=case.months,
            current_fte=planned.current_fte,
            source="process paths",
            **arrays,
        )
        _, bayes = optimise(
            scenarios,
            pools_fte=planned.pools_fte,
            cost_per_fte_nok=planned.cost_per_fte_nok,
            equity=np.ones(len(col)),
            settings=AllocationSettings(risk=0.0, weights=UNWEIGHTED),
        )
        decisions = with_realised(case.forecasts, case.realised, DECISION_TARGETS)
        changes = {
            "plan": planned.change_fte,
            "process forecasts": engine_planner(
                case.known, process, None, policy, settings
            ).change_fte,
            "process plan": bayes.change_fte,
            "perfect § 31/§ 37": engine_planner(
                case.known, decisions, None, policy, settings
            ).change_fte,
        }
        outcomes = {"key": base.outcomes[KEY], "oracle": base.outcomes[ORACLE]}
        outcomes.update({n: realised_outcome(base.truth, c) for n, c in changes.items()})
        for name, values in outcomes.items():
            rows.append(
                {
                    "seed": seed,
                    "origin": str(origin),
                    "method": name,
                    **{r: values[f"unmet_{r}"] for r in (*RESOURCES, "total")},
                }
            )
    return pd.DataFrame(rows)


def regrets(frame: pd.DataFrame) -> pd.DataFrame:
    """Per seed, method and resource: regret pooled over the origins."""
    from training.decision_scoring import regret

    sums = frame.groupby(["seed", "method"])[[*RESOURCES, "total"]].sum()
    out = []
    for seed in sorted(frame["seed"].unique()):
        for method in METHODS:
            record: dict[str, Any] = {"seed": seed, "method": method}
            for r in (*RESOURCES, "total"):
                record[r] = regret(
                    float(sums.at[(seed, method), r]),
                    float(sums.at[(seed, "key"), r]),
                    float(sums.at[(seed, "oracle"), r]),
                )
            out.append(record)
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=whole_numbers, default="1,2,3")
    parser.add_argument("--paths", type=int, default=200)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--equity", type=float, default=0.0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    frames = []
    for seed in args.seeds:
        frames.append(run_seed(seed, paths=args.paths, trees=args.trees, equity=args.equity))
        print(f"  seed {seed} done ({time.perf_counter() - started:.0f} s)", flush=True)
    table = regrets(pd.concat(frames, ignore_index=True))
    print(
        f"\ncapacity family — SIMULATED — equity weight {args.equity:g}: regret pooled over the "
        f"origins (key 1, oracle 0), {args.paths} process paths"
    )
    print(f"{'seed':>5} {'method':<20} {'staff':>7} {'ped.':>7} {'res.':>7} {'total':>7}")
    for r in table.itertuples():
        print(
            f"{r.seed:>5} {r.method:<20} {r.staff:>7.3f} {r.pedagogue:>7.3f} "
            f"{r.resource_pedagogue:>7.3f} {r.total:>7.3f}"
        )
    means = table.groupby("method", sort=False)[[*RESOURCES, "total"]].mean()
    for method, r in means.iterrows():
        print(
            f"{'mean':>5} {method:<20} {r['staff']:>7.3f} {r['pedagogue']:>7.3f} "
            f"{r['resource_pedagogue']:>7.3f} {r['total']:>7.3f}"
        )
    print(f"\nTotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
