"""Allocation benchmark: the optimiser at city scale, and the plan's value on simulated truth.

Run as ``python -m benchmarks.bench_allocation [--part city|regret|all] [--seed N]
[--seeds 7,8,9] [--origins N]``. It prints figures and ratios and asserts nothing.

**city** — 700 kindergartens × 200 scenarios × 3 resources × 12 months, from synthetic
forecasts (SIMULATED: normal quantiles around random but realistic children and decision
counts). Times the scenario draw, the curves and the MILP, and prints HiGHS's status and gap
(relative to the whole expected weighted unmet need, and as a share of what the pools improve
on having no pool). Goal: optimal within 0.1 % in under 30 s on 2 cores. Peers on the same
curves: the proportional key and a greedy marginal-value allocation (one step at a time to the
line where it avoids most weighted unmet need).

**regret** — the district preset (SIMULATED, ≈ 45 kindergartens), once per ``--seeds`` seed:
hide the last 12 months, backtest the forecasting pipeline on what is left (``--origins``
rolling origins, default 12 as ``train`` does; 0 skips it and the engine falls back to its
Gaussian copula), fit it, forecast, and plan the demo pools (staff 8, pedagogue 4, resource
pedagogue 5 FTE). Then score, on the hidden truth, the realised unmet FTE-months (staffing
norm + pedagogue norm + § 31/§ 37 hours, unweighted) of

- the engine (``serving.planning.build_plan`` at its defaults),
- the proportional key on the same pools and the engine's hireable steps (the key the plan
  itself is compared with, ``models.allocation.comparison``),
- a plan optimised on the median forecast only (one scenario, the engine's weights),
- a perfect-information oracle (the same MILP on the true future, minimising that very sum),

and print regret = (engine − oracle) / (proportional − oracle); goal ≤ 0.3. A decomposition
follows: the MILP with the engine's weights on the TRUE future (what the weights alone cost:
legal/§ 31-37 weights, the quality buffer the metric does not count, the equity weights), then
on the scenarios adding one term at a time (unweighted and risk-neutral = what the scenario
distribution costs; + weights; + quality buffer; + CVaR; + equity = the engine). A last line
gives the regret in the engine's own weighted objective (its oracle minimises that objective on
the truth) — for reading, not the goal's measure. Per-seed and mean regrets close the part.
Supply is today's contracted FTE plus the plan for every method (the plan cannot change who
quits or is hired).
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmarks.cli_args import whole_numbers
from data.contract import QUANTILE_COLUMNS, QUANTILES, RESOURCES, District

CITY_POOLS = np.array([100.0, 50.0, 60.0])
DEMO_POOLS = {"staff": 8.0, "pedagogue": 4.0, "resource_pedagogue": 5.0}
COST_PER_FTE_YEAR = np.array([650_000.0, 780_000.0, 800_000.0])


# --- city scale ------------------------------------------------------------------------------


def synthetic_forecasts(
    rng: np.random.Generator, n_kindergartens: int, months: int
) -> tuple[pd.DataFrame, pd.PeriodIndex, np.ndarray, dict[str, np.ndarray]]:
    """SIMULATED forecasts for ``n_kindergartens`` (spread growing with the horizon), the plan
    months, today's FTE (K, 3) and each kindergarten's shares."""
    from scipy.stats import norm

    from models.needs import NEED_TARGETS

    k = n_kindergartens
    origin = pd.Period("2026-10", "M")
    plan_months = pd.period_range(origin + 1, periods=months, freq="M")
    centre = {
        "children_under3": rng.integers(8, 30, k).astype(float),
        "children_over3": rng.integers(15, 70, k).astype(float),
        "vedtak_31": rng.poisson(2.5, k).astype(float),
        "vedtak_37": rng.poisson(1.0, k).astype(float),
        "sick_leave_rate": rng.uniform(0.06, 0.14, k),
    }
    z = norm.ppf(QUANTILES)
    ids = np.array([f"K{i:04d}" for i in range(k)])
    frames = []
    for target in NEED_TARGETS:
        c = centre[target]
        for h, month in enumerate(plan_months, start=1):
            sd = (
                np.full(k, 0.02 * np.sqrt(h))
                if target == "sick_leave_rate"
                else np.maximum(0.025 * c * np.sqrt(h), 0.5)
            )
            q = np.clip(c[:, None] + sd[:, None] * z[None, :], 0, None)
            frame = pd.DataFrame(q, columns=list(QUANTILE_COLUMNS))
            frame.insert(0, "target", target)
            frame.insert(0, "horizon", h)
            frame.insert(0, "month", str(month))
            frame.insert(0, "origin", str(origin))
            frame.insert(0, "kindergarten_id", ids)
            frames.append(frame)
    equivalents = 2 * centre["children_under3"] + centre["children_over3"]
    current = np.stack(
        [
            np.round(equivalents / 6 * rng.uniform(0.95, 1.2, k), 1),
            np.ceil(equivalents / 14) - rng.integers(0, 2, k),
            np.round(rng.uniform(0, 1, k), 1),
        ],
        axis=1,
    )
    shares = {"low_income": rng.uniform(0, 0.4, k), "minority": rng.uniform(0, 0.6, k)}
    return pd.concat(frames, ignore_index=True), plan_months, current, shares


def city_scale(
    seed: int,
    n_kindergartens: int = 700,
    n_scenarios: int = 200,
    months: int = 12,
    time_limit_s: float = 60.0,
) -> dict[str, float]:
    from models.allocation import (
        AllocationSettings,
        SolverOptions,
        equity_weights,
        optimise,
        proportional_allocation,
    )
    from models.allocation.greedy import greedy_allocation
    from models.needs import simulate_needs

    rng = np.random.default_rng(seed)
    forecasts, plan_months, current, shares = synthetic_forecasts(rng, n_kindergartens, months)
    ids = tuple(sorted(forecasts["kindergarten_id"].unique()))
    started = time.perf_counter()
    needs = simulate_needs(
        forecasts,
        kindergarten_ids=ids,
        months=plan_months,
        current_fte=current,
        n_scenarios=n_scenarios,
        seed=seed,
    )
    scenario_s = time.perf_counter() - started
    equity = equity_weights(shares["low_income"], shares["minority"], 1.0)
    started, cpu_started = time.perf_counter(), time.process_time()
    problem, solution = optimise(
        needs,
        pools_fte=CITY_POOLS,
        cost_per_fte_nok=COST_PER_FTE_YEAR * months / 12,
        equity=equity,
        settings=AllocationSettings(),
        options=SolverOptions(time_limit_s=time_limit_s),
    )
    optimise_s = time.perf_counter() - started
    optimise_cpu_s = time.process_time() - cpu_started
    none_cost = problem.need_cost(np.zeros_like(solution.change_fte))
    bound = solution.objective * (1 - solution.mip_gap)
    improvement = none_cost - solution.need_cost
    started = time.perf_counter()
    children = needs.median["children_under3"][:, 0] + needs.median["children_over3"][:, 0]
    decisions = needs.median["vedtak_31"][:, 0] + needs.median["vedtak_37"][:, 0]
    proportional = proportional_allocation(
        children, decisions, CITY_POOLS, problem.step_fte, RESOURCES
    )
    proportional_s = time.perf_counter() - started
    started = time.perf_counter()
    greedy = greedy_allocation(problem, CITY_POOLS)
    greedy_s = time.perf_counter() - started
    rows = [
        ("engine MILP", optimise_s, solution.need_cost),
        ("proportional key", proportional_s, problem.need_cost(proportional)),
        ("greedy marginal", greedy_s, problem.need_cost(greedy)),
        ("no pool", 0.0, none_cost),
    ]
    print(
        f"City scale (SIMULATED): {n_kindergartens} kindergartens × {n_scenarios} scenarios × "
        f"{len(RESOURCES)} resources × {months} months; pools {CITY_POOLS.tolist()} FTE"
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"  scenarios drawn in {scenario_s:.2f} s; curves + MILP in {optimise_s:.2f} s wall, "
        f"{optimise_cpu_s:.2f} s CPU (MILP alone {solution.solve_seconds:.2f} s wall; HiGHS "
        f"on one thread), status {solution.status}; machine load average {load:.1f} on "
        f"{os.cpu_count()} cores (wall time inflates when others run)"
    )
    print(
        f"  MIP gap {solution.mip_gap:.4%} of the expected weighted unmet need "
        f"(goal ≤ 0.1 % in < 30 s); as a share of what the pools avoid: "
        f"{(solution.objective - bound) / max(improvement, 1e-9):.4%}"
    )
    print(f"  {'allocation':<18} {'seconds':>9} {'weighted unmet':>16} {'ratio to engine':>16}")
    for name, seconds, cost in rows:
        print(f"  {name:<18} {seconds:>9.3f} {cost:>16.1f} {cost / solution.need_cost:>16.4f}")
    return {
        "seconds": optimise_s,
        "cpu_seconds": optimise_cpu_s,
        "mip_seconds": solution.solve_seconds,
        "gap": solution.mip_gap,
        "scenario_seconds": scenario_s,
    }


# --- regret on simulated truth ---------------------------------------------------------------


def truth_needs(
    hidden: pd.DataFrame, ids: tuple[str, ...], months: pd.PeriodIndex, current: np.ndarray
):
    """The hidden year as one scenario (1, K, M); kindergarten-months without a row count as no
    need (a kindergarten closed, or a gap), the same for every method."""
    from models.needs import NEED_TARGETS, NeedScenarios

    frame = hidden.set_index(["kindergarten_id", "month"])
    full = pd.MultiIndex.from_product([list(ids), list(months)], names=["kindergarten_id", "month"])
    values = {}
    for target in NEED_TARGETS:
        column = frame[target] if target in frame else pd.Series(np.nan, index=frame.index)
        grid = column.astype(float).reindex(full).fillna(0.0).to_numpy()
        values[target] = grid.reshape(1, len(ids), len(months))
    return NeedScenarios(
        kindergarten_ids=ids,
        months=months,
        current_fte=current,
        source="truth",
        children_under3=values["children_under3"],
        children_over3=values["children_over3"],
        vedtak_31=values["vedtak_31"],
        vedtak_37=values["vedtak_37"],
        sick_leave_rate=values["sick_leave_rate"],
    )


def realised_unmet(truth, change: np.ndarray) -> dict[str, float]:
    from models.allocation import shortfalls

    short = shortfalls(truth, change)
    parts = {
        "staff": float(short["staffing"].sum()),
        "pedagogue": float(short["pedagogue"].sum()),
        "resource_pedagogue": float(short["special_needs"].sum()),
    }
    parts["total"] = sum(parts.values())
    return parts


@dataclass
class RegretCase:
    """One simulated district with its hidden year and the engine's forecasts for it."""

    seed: int
    seen: District  #: without the hidden months
    hidden: pd.DataFrame
    forecasts: pd.DataFrame
    pit_history: pd.DataFrame | None
    forecast_seconds: float


def regret_case(seed: int, origins: int) -> RegretCase:
    """Simulate the district preset, hide its last 12 months, backtest (``origins`` rolling
    origins over max(3 × origins, 12) months, as ``train`` does with 12), fit and forecast."""
    from models.forecast import ForecastPipeline
    from simulate import simulate_district
    from training.research import NOTEBOOK_PIPELINE_PARAMS, hide_last_months

    started = time.perf_counter()
    simulation = simulate_district("district", seed=seed)
    seen, hidden = hide_last_months(simulation.district, 12)

    def make_pipeline() -> ForecastPipeline:
        return ForecastPipeline(**NOTEBOOK_PIPELINE_PARAMS)

    pit_history = None
    if origins > 0:
        from training.backtest import rolling_origin_backtest

        backtest = rolling_origin_backtest(
            seen,
            make_pipeline,
            n_origins=origins,
            span_months=max(3 * origins, 12),
            baselines=False,
        )
        pit_history = backtest.predictions[backtest.predictions["model"] == "lightgbm"]
    forecasts = make_pipeline().fit(seen).predict(seen, horizon=12)
    return RegretCase(seed, seen, hidden, forecasts, pit_history, time.perf_counter() - started)


def _median_needs(forecasts: pd.DataFrame, ids, months, current):
    """One scenario: the forecast medians (counts rounded)."""
    from models.needs import NEED_TARGETS, NeedScenarios, simulate_needs

    scenarios = simulate_needs(
        forecasts, kindergarten_ids=ids, months=months, current_fte=current, n_scenarios=1
    )
    median = {t: np.maximum(scenarios.median[t], 0.0)[None] for t in NEED_TARGETS}
    for t in ("children_under3", "children_over3", "vedtak_31", "vedtak_37"):
        median[t] = np.round(median[t])
    return NeedScenarios(
        kindergarten_ids=ids,
        months=months,
        current_fte=current,
        source="median",
        **{t: median[t] for t in NEED_TARGETS},
    )


def score_case(case: RegretCase) -> dict[str, float]:
    """Print realised unmet FTE-months per allocation, the regret, its decomposition and the
    regret in the engine's own weighted objective; return the regrets by name."""
    from dataclasses import replace

    from models.allocation import (
        AllocationSettings,
        NeedWeights,
        SolverOptions,
        equity_cost_share,
        equity_weights,
        optimise,
    )
    from models.allocation.comparison import KEY
    from models.needs import simulate_needs
    from serving.planning import PlanRequest, build_plan, latest_state

    seen, forecasts, pit_history = case.seen, case.forecasts, case.pit_history
    request = PlanRequest(pools=DEMO_POOLS)
    engine = build_plan(seen, forecasts, request, pit_history=pit_history)
    current_lines = engine.lines.pivot(
        index="kindergarten_id", columns="resource", values="current_fte"
    )[list(RESOURCES)]
    ids = tuple(current_lines.index)
    current = current_lines.to_numpy(float)
    months = pd.period_range(seen.last_month + 1, periods=12, freq="M")
    truth = truth_needs(case.hidden, ids, months, current)
    pools = np.array([DEMO_POOLS[r] for r in RESOURCES])
    cost = COST_PER_FTE_YEAR
    engine_change = (
        engine.lines.pivot(index="kindergarten_id", columns="resource", values="change_fte")[
            list(RESOURCES)
        ]
        .loc[list(ids)]
        .to_numpy(float)
    )

    # the key as the plan compares itself with it (models.allocation.comparison), on the
    # engine's hireable steps like the plan and the oracle: a key on finer steps (it had 0.1 FTE
    # while plan and oracle moved to 0.5) spreads its pools more evenly than either may, which
    # shrinks the key–oracle gap the regret is measured on (seed 7: 0.445 against 0.254)
    assert engine.compared is not None and engine.scenarios is not None
    order = [engine.scenarios.kindergarten_ids.index(k) for k in ids]
    proportional = engine.compared.changes[KEY][order]
    # the same shares build_plan uses (latest non-empty), at the default knob
    state = latest_state(seen).loc[list(ids)]
    equity = equity_weights(
        state["low_income_share"].to_numpy(),
        state["minority_language_share"].to_numpy(),
        request.equity_weight,
    )
    flat = np.ones(len(ids))
    defaults = AllocationSettings(
        risk=request.risk, equity_cost_share=equity_cost_share(request.equity_weight)
    )
    w = defaults.weights
    unweighted = NeedWeights(legal=1.0, special_needs=1.0, quality=0.0, cvar_weight=0.0)

    def plan(needs, settings: AllocationSettings, eq: np.ndarray, exact: bool = False):
        options = SolverOptions(mip_rel_gap=0.0) if exact else None
        return optimise(
            needs,
            pools_fte=pools,
            cost_per_fte_nok=cost,
            equity=eq,
            settings=settings,
            options=options,
        )

    scenarios = simulate_needs(
        forecasts,
        kindergarten_ids=ids,
        months=months,
        current_fte=current,
        pit_history=pit_history,
        n_scenarios=request.n_scenarios,
        seed=request.seed,
    )
    median_needs = _median_needs(forecasts, ids, months, current)
    _, oracle = plan(truth, AllocationSettings(risk=0.0, weights=unweighted), flat, exact=True)

    def change(needs, weights: NeedWeights, eq: np.ndarray, risk: float = request.risk):
        return plan(needs, replace(defaults, risk=risk, weights=weights), eq)[1].change_fte

    no_quality = replace(w, quality=0.0, cvar_weight=0.0)
    changes = {
        "engine (defaults)": engine_change,
        "proportional key": proportional,
        "median-only plan": change(median_needs, w, equity),
        "oracle": oracle.change_fte,
        "no pool": np.zeros_like(proportional),
    }
    results = {name: realised_unmet(truth, c) for name, c in changes.items()}
    print(
        f"\nRegret on simulated truth (SIMULATED district preset, seed {case.seed}, "
        f"{len(ids)} kindergartens, plan {months[0]}–{months[-1]}, pools {DEMO_POOLS})"
    )
    print(
        f"  forecasting took {case.forecast_seconds:.0f} s; scenarios: "
        f"{engine.header['scenario_source']}; equity weights {equity.min():.2f}–"
        f"{equity.max():.2f}; CVaR weight {w.cvar_weight:g} at risk {request.risk:g}"
    )
    print(
        f"  {'allocation':<22} {'staff':>8} {'pedagogue':>10} {'§31/§37':>9} {'total':>9}"
        "   realised unmet FTE-months"
    )
    for name, parts in results.items():
        print(
            f"  {name:<22} {parts['staff']:>8.1f} {parts['pedagogue']:>10.1f} "
            f"{parts['resource_pedagogue']:>9.1f} {parts['total']:>9.1f}"
        )
    oracle_total = results["oracle"]["total"]
    denominator = results["proportional key"]["total"] - oracle_total

    def regret_of(c: np.ndarray) -> float:
        total = realised_unmet(truth, c)["total"]
        return (total - oracle_total) / denominator if denominator > 1e-9 else float("nan")

    out = {name: regret_of(changes[name]) for name in ("engine (defaults)", "median-only plan")}
    for name, value in out.items():
        print(
            f"  regret {name:<22} = (x − oracle) / (proportional − oracle) = {value:.3f}"
            + ("   (goal ≤ 0.3)" if name == "engine (defaults)" else "")
        )
    # where the engine's regret comes from: the same MILP with the engine's weights on the
    # TRUE future (what the weights alone cost), then on the scenarios, adding one term at a time
    ladder = [
        ("truth, legal 10 / § 31-37 3", change(truth, no_quality, flat)),
        ("truth, + quality buffer", change(truth, replace(w, cvar_weight=0.0), flat)),
        ("truth, + equity (weights)", change(truth, replace(w, cvar_weight=0.0), equity)),
        ("scenarios, unweighted", change(scenarios, unweighted, flat, risk=0.0)),
        ("scenarios, + legal/§ weights", change(scenarios, no_quality, flat)),
        ("scenarios, + quality buffer", change(scenarios, replace(w, cvar_weight=0.0), flat)),
        ("scenarios, + CVaR", change(scenarios, w, flat)),
        ("scenarios, + equity (=engine)", change(scenarios, w, equity)),
    ]
    print("  decomposition (regret as above; each row adds one term to the row before):")
    for name, c in ladder:
        value = regret_of(c)
        out[name] = value
        print(f"    {name:<32} {value:.3f}")
    # the engine's own objective: weighted unmet need on the truth, its oracle minimising it
    # (the tilt unbounded: the oracle of the tilted objective itself)
    weighted_problem, weighted_oracle = plan(
        truth, replace(defaults, equity_cost_share=None), equity, exact=True
    )
    low = weighted_oracle.need_cost
    spread = weighted_problem.need_cost(proportional) - low
    weighted = (weighted_problem.need_cost(engine_change) - low) / spread
    out["weighted objective"] = weighted
    print(
        f"  regret in the engine's own weighted objective (oracle minimising it on the truth; "
        f"not the goal's measure) = {weighted:.3f}"
    )
    return out


def regret(seeds: list[int], origins: int) -> dict[int, dict[str, float]]:
    """Score every seed, then print per-seed and mean regret of the key rows."""
    by_seed = {seed: score_case(regret_case(seed, origins)) for seed in seeds}
    names = list(next(iter(by_seed.values())))
    print(
        f"\nRegret over {len(seeds)} seed(s) {seeds} (SIMULATED district preset, "
        f"{origins} backtest origins); goal ≤ 0.3 at the defaults"
    )
    print(f"  {'':<34}" + "".join(f"{'seed ' + str(s):>9}" for s in seeds) + f"{'mean':>9}")
    for name in names:
        values = [by_seed[s][name] for s in seeds]
        cells = "".join(f"{v:>9.3f}" for v in values)
        print(f"  {name:<34}{cells}{float(np.mean(values)):>9.3f}")
    return by_seed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("city", "regret", "all"), default="all")
    parser.add_argument("--seed", type=int, default=7, help="seed of the city part")
    parser.add_argument(
        "--seeds",
        type=whole_numbers,
        default="7,8,9",
        help="comma-separated seeds of the regret part (each simulates its own district)",
    )
    parser.add_argument(
        "--origins",
        type=int,
        default=12,
        help="backtest origins for the engine's scenarios (12 = what `train` uses; 0 = copula)",
    )
    parser.add_argument("--kindergartens", type=int, default=700)
    args = parser.parse_args(argv)
    if args.part in ("city", "all"):
        city_scale(args.seed, n_kindergartens=args.kindergartens)
    if args.part in ("regret", "all"):
        regret(args.seeds, args.origins)


if __name__ == "__main__":
    main()
