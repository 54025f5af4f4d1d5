"""``bemanning plan``: forecast with the champion model and write an optimised, explained plan.

It trains nothing. The plan (CONTRACT.md's format, then the explanation columns) goes to
``--out``; its header (pools, budget, risk, model version, data fingerprint, solver status) is
written beside it as ``<out>.header.json`` and the comparison with the plan re-solved at equity
weight 0 and risk-neutral, the proportional key and no pool (each with its spend) as
``<out>.summary.csv``, and printed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from serving.commands.common import (
    ColumnsOption,
    DataArgument,
    TrackingOption,
    console,
    freeze_long_lived,
    state_value,
    user_errors,
)
from serving.commands.district_options import (
    AsOneOption,
    DistrictOption,
    DistrictPoolOption,
    PoolsFileOption,
    ProcessesOption,
    collect_district_pools,
    print_district_plans,
    summary_table,
    write_district_plans,
)
from serving.plan_options import (
    OPTIONS,
    BudgetOption,
    EquityOption,
    MaxMovesOption,
    MonthsOption,
    PoolsOption,
    RiskOption,
    ScenariosOption,
    StartOption,
    StepPedagogueOption,
    StepResourcePedagogueOption,
    StepStaffOption,
)

if TYPE_CHECKING:
    from serving.planning import PlanResult


def register(app: typer.Typer) -> None:
    app.command()(plan)


@user_errors
def plan(
    data: DataArgument,
    pool: PoolsOption = None,
    budget: BudgetOption = None,
    start: StartOption = None,
    months: MonthsOption = OPTIONS["months"].default,
    risk: RiskOption = OPTIONS["risk"].default,
    equity_weight: EquityOption = OPTIONS["equity_weight"].default,
    max_moves: MaxMovesOption = OPTIONS["max_moves"].default,
    scenarios: ScenariosOption = OPTIONS["scenarios"].default,
    step_staff: StepStaffOption = OPTIONS["step_staff"].default,
    step_pedagogue: StepPedagogueOption = OPTIONS["step_pedagogue"].default,
    step_resource_pedagogue: StepResourcePedagogueOption = OPTIONS[
        "step_resource_pedagogue"
    ].default,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the scenarios.")] = 0,
    time_limit: Annotated[
        float,
        typer.Option(
            "--time-limit",
            help="Seconds the optimiser may use; at the limit the best "
            "plan found is written with its gap.",
            min=1.0,
        ),
    ] = 60.0,
    out: Annotated[Path, typer.Option("--out", help="CSV file to write the plan to.")] = Path(
        "plan.csv"
    ),
    columns: ColumnsOption = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Model URI to plan with instead of the champion, e.g. models:/bemanning-needs/3.",
        ),
    ] = None,
    tracking_uri: TrackingOption = None,
    district: DistrictOption = None,
    pools_file: PoolsFileOption = None,
    district_pool: DistrictPoolOption = None,
    as_one: AsOneOption = False,
    processes: ProcessesOption = None,
) -> None:
    """Plan the extra staff, pedagogues and resource pedagogues for the months after the data,
    with the champion model's forecasts (run `bemanning train DATA` first).

    Data with several districts get one plan per district, each with its own pools (from
    --pools-file or --district-pool; --pool for a district named in neither), planned in
    parallel processes, and a city summary; --district plans only the districts named."""
    from data.errors import Problem, UserInputError
    from data.validate import read_district
    from serving.district_plans import chosen_districts, forecast_and_plan_districts
    from serving.plan_from_model import forecast_and_plan
    from serving.plan_options import collect_plan_options, nothing_to_allocate, range_problems
    from serving.planning import PlanRequest
    from serving.progress import staged_progress
    from training.registry import load_champion, load_model

    freeze_long_lived()  # the modules just imported
    pools, budget_nok, start_month, problems = collect_plan_options(
        pools=pool, budget=budget, start=start, months=months, risk=risk
    )
    problems += range_problems(
        {
            "equity_weight": equity_weight,
            "max_moves": max_moves,
            "scenarios": scenarios,
            "step_staff": step_staff,
            "step_pedagogue": step_pedagogue,
            "step_resource_pedagogue": step_resource_pedagogue,
        }
    )
    per_district, district_problems = collect_district_pools(pools_file, district_pool)
    problems += district_problems
    pool_problems = any(p.file in ("--pool", "--district-pool") for p in problems)
    empty = nothing_to_allocate(pools, budget_nok, max_moves)
    if empty is not None and not per_district and not pool_problems:
        problems.append(empty)
    if out.suffix.lower() != ".csv":
        problems.append(Problem("--out", "must be a .csv file", value=str(out)))
    if problems:
        raise UserInputError(f"{len(problems)} problem(s) with the plan options", problems)

    steps = (
        "Reading and checking the data",
        "Loading the model",
        "Forecasting",
        "Drawing scenarios and optimising",
        "Writing the plan",
    )
    with staged_progress(steps, console) as step:
        data_set = read_district(data, column_mapping=columns)
        names = chosen_districts(data_set, district, as_one, per_district)
        step(1)
        uri = state_value("mlflow", tracking_uri, data)
        loaded = load_model(model, uri) if model else load_champion(uri)
        freeze_long_lived()  # the data, the model and MLflow's store: kept to the end
        request = PlanRequest(
            pools=pools,
            budget_nok=budget_nok,
            start=start_month,
            months=months,
            risk=risk,
            equity_weight=equity_weight,
            max_moves=max_moves,
            n_scenarios=scenarios,
            step_fte={
                "staff": step_staff,
                "pedagogue": step_pedagogue,
                "resource_pedagogue": step_resource_pedagogue,
            },
            seed=seed,
            time_limit_s=time_limit,
        )
        if names is not None:
            request, _, plans = forecast_and_plan_districts(
                data_set, loaded, request, names, pools=per_district, processes=processes, step=step
            )
            step(4)
            written = write_district_plans(plans, out)
        else:
            _, result = forecast_and_plan(data_set, loaded, request, step=step)
            step(4)
            written = write_plan(result, out)
    if names is not None:
        print_district_plans(plans, written)
    else:
        print_plan(result, written)


def _json_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "item"):
        return _json_value(value.item())
    return str(value)


def write_plan(result: PlanResult, out: Path) -> dict[str, Path]:
    """The plan CSV, its header as JSON and its summary CSV, side by side."""
    out.parent.mkdir(parents=True, exist_ok=True)
    header_path = out.with_suffix(".header.json")
    summary_path = out.with_suffix(".summary.csv")
    result.lines.to_csv(out, index=False)
    header_path.write_text(
        json.dumps(_json_value(result.header), indent=2, ensure_ascii=False), encoding="utf-8"
    )
    result.summary.to_csv(summary_path, index=False)
    return {"plan": out, "header": header_path, "summary": summary_path}


def _trade_off_line(summary: Any) -> str:
    """What the equity and tail weights cost in unmet FTE-months, from the trade-off rows."""
    from models.allocation.comparison import COMPARED_LABELS, PLAN, TRADE_OFFS
    from serving.report.numbers import SummaryLayout, total_unmet

    # one definition of "unmet FTE-months in all", the report's
    unmet = total_unmet(summary, SummaryLayout.of(summary))
    parts = [f"plan {unmet[PLAN]:.1f}"]
    for name in TRADE_OFFS:
        if name in unmet.index:
            parts.append(f"{COMPARED_LABELS['en'][name]} {unmet[name]:.1f}")
    return "Trade-offs, unmet FTE-months in all: " + "; ".join(parts) + "."


def print_plan(result: PlanResult, written: dict[str, Path]) -> None:
    """The summary against the proportional key and no pool, the solver status and warnings."""
    header = result.header
    if result.simulated:
        console.print(f"[bold yellow]{header.get('label', 'SIMULATED DATA')}[/]")
    table = summary_table(
        result.summary,
        f"Plan {result.plan_id} for {header['period']}: expected over "
        f"{header['n_scenarios']} scenarios",
    )
    console.print(table)
    console.print(_trade_off_line(result.summary.set_index("allocation")), highlight=False)
    gap = header.get("mip_gap")
    gap_text = f"{float(gap):.3%}" if isinstance(gap, int | float) else "unknown"
    console.print(
        f"Solver: {header['solver_status']}, gap {gap_text}, "
        f"{header['solve_seconds']} s; model {header['model_version'] or '—'}; data "
        f"{header['data_fingerprint']}; scenarios: {header['scenario_source']}"
    )
    tuned = header.get("tuned_defaults")
    if isinstance(tuned, dict):
        from serving.commands.decisions import tuned_defaults_text

        console.print(tuned_defaults_text(tuned), highlight=False)
    warnings = header.get("warnings")
    for warning in warnings if isinstance(warnings, list) else []:
        console.print(f"[yellow]warning: {warning}[/]", highlight=False)
    console.print(
        f"Plan written to {written['plan']} (header {written['header'].name}, "
        f"summary {written['summary'].name})"
    )
