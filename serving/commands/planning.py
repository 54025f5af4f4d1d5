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
    state_value,
    user_errors,
)
from serving.plan_options import (
    BudgetOption,
    MonthsOption,
    PoolsOption,
    RiskOption,
    StartOption,
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
    months: MonthsOption = 12,
    risk: RiskOption = 0.9,
    equity_weight: Annotated[
        float,
        typer.Option(
            "--equity-weight",
            help="How much more an unmet FTE-month counts where "
            "many children are in low-income families or speak a minority language "
            "(0 = no equity weighting; 1 = up to 1.5× where every child is both, "
            "weight = 1 + 0.25 × knob × (low-income share + minority-language share)).",
            min=0.0,
        ),
    ] = 1.0,
    max_moves: Annotated[
        int,
        typer.Option(
            "--max-moves",
            help="Existing FTE may be moved out of at most this many "
            "kindergarten × resource lines (0 = only spread the pools).",
            min=0,
        ),
    ] = 0,
    scenarios: Annotated[
        int, typer.Option("--scenarios", help="Joint forecast scenarios to plan over.", min=10)
    ] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the scenarios.")] = 0,
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
) -> None:
    """Plan the extra staff, pedagogues and resource pedagogues for the months after the data,
    with the champion model's forecasts (run `bemanning train DATA` first)."""
    from data.errors import Problem, UserInputError
    from data.validate import read_district
    from serving.plan_options import collect_plan_options
    from serving.planning import PlanRequest, forecast_and_plan
    from serving.progress import staged_progress
    from training.registry import load_champion, load_model

    pools, budget_nok, start_month, problems = collect_plan_options(
        pools=pool, budget=budget, start=start, months=months, risk=risk
    )
    pool_problems = any(p.file == "--pool" for p in problems)
    if not pools and not pool_problems and budget_nok is None and max_moves == 0:
        problems.append(
            Problem(
                "--pool",
                "give at least one --pool, a --budget or --max-moves: "
                "otherwise there is nothing to allocate",
            )
        )
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
        district = read_district(data, column_mapping=columns)
        step(1)
        uri = state_value("mlflow", tracking_uri, data)
        loaded = load_model(model, uri) if model else load_champion(uri)
        request = PlanRequest(
            pools=pools,
            budget_nok=budget_nok,
            start=start_month,
            months=months,
            risk=risk,
            equity_weight=equity_weight,
            max_moves=max_moves,
            n_scenarios=scenarios,
            seed=seed,
            time_limit_s=time_limit,
        )
        _, result = forecast_and_plan(district, loaded, request, step=step)
        step(4)
        written = write_plan(result, out)
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

    unmet = summary[[c for c in summary.columns if c.startswith("unmet_")]].sum(axis=1)
    parts = [f"plan {unmet[PLAN]:.1f}"]
    for name in TRADE_OFFS:
        if name in unmet.index:
            parts.append(f"{COMPARED_LABELS['en'][name]} {unmet[name]:.1f}")
    return "Trade-offs, unmet FTE-months in all: " + "; ".join(parts) + "."


def print_plan(result: PlanResult, written: dict[str, Path]) -> None:
    """The summary against the proportional key and no pool, the solver status and warnings."""
    from rich.table import Table

    from models.allocation.comparison import COMPARED_LABELS

    header = result.header
    if result.simulated:
        console.print(f"[bold yellow]{header.get('label', 'SIMULATED DATA')}[/]")
    table = Table(
        title=f"Plan {result.plan_id} for {header['period']}: expected over "
        f"{header['n_scenarios']} scenarios"
    )
    table.add_column("expected over the period")
    summary = result.summary.set_index("allocation")
    for allocation in summary.index:
        label = COMPARED_LABELS["en"].get(str(allocation), str(allocation))
        table.add_column(label, justify="right")
    shown = [
        ("unmet_staff_fte_months", "unmet staff FTE-months"),
        ("unmet_pedagogue_fte_months", "unmet pedagogue position-months"),
        ("unmet_resource_pedagogue_fte_months", "unmet § 31/§ 37 FTE-months"),
        ("breach_months_staffing", "kg-months below the staffing norm"),
        ("breach_months_pedagogue", "kg-months below the pedagogue norm"),
        ("breach_months_special_needs", "kg-months with § 31/§ 37 hours unmet"),
    ]
    for column, label in shown:
        table.add_row(label, *(f"{float(v):.1f}" for v in summary[column]))
    if "cost_nok" in summary.columns:
        table.add_row(
            "spend (NOK)", *(f"{float(v):,.0f}".replace(",", " ") for v in summary["cost_nok"])
        )
    console.print(table)
    console.print(_trade_off_line(summary), highlight=False)
    gap = header.get("mip_gap")
    gap_text = f"{float(gap):.3%}" if isinstance(gap, int | float) else "unknown"
    console.print(
        f"Solver: {header['solver_status']}, gap {gap_text}, "
        f"{header['solve_seconds']} s; model {header['model_version'] or '—'}; data "
        f"{header['data_fingerprint']}; scenarios: {header['scenario_source']}"
    )
    warnings = header.get("warnings")
    for warning in warnings if isinstance(warnings, list) else []:
        console.print(f"[yellow]warning: {warning}[/]", highlight=False)
    console.print(
        f"Plan written to {written['plan']} (header {written['header'].name}, "
        f"summary {written['summary'].name})"
    )
