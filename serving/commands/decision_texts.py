"""What ``backtest --plans``, ``tune --plans`` and ``plan`` print about decisions: the decision
backtest's tables (regret, VSS and EVPI per origin; the outcome measures per allocation) and plan
settings and policies in words (:mod:`serving.commands.decisions`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table

from data.contract import RESOURCES
from serving.commands.common import console

if TYPE_CHECKING:
    from training.decisions import DecisionBacktest


def pools_text(pools: Mapping[str, float]) -> str:
    """The pools in words: "staff 2 FTE, pedagogue 1 FTE", or "none"."""
    return ", ".join(f"{r.replace('_', ' ')} {v:g} FTE" for r, v in pools.items()) or "none"


def print_decision_backtest(result: DecisionBacktest, *, simulated: bool) -> None:
    """Per origin and overall: regret, VSS and EVPI, the realised unmet FTE-months of every
    allocation and what the equity and risk settings cost; then the time taken."""
    title = "Decision backtest: realised unmet FTE-months (key = regret 1, oracle = regret 0)"
    if simulated:
        title += " — SIMULATED data"
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    columns = (
        ("origin", "plan made"),
        ("regret", "regret"),
        ("vss", "VSS"),
        ("evpi", "EVPI"),
        ("unmet_plan", "plan"),
        ("unmet_key", "key"),
        ("unmet_no_pool", "no pool"),
        ("unmet_median_only", "median-only"),
        ("unmet_oracle", "oracle"),
        ("regret_plan_equity_0", "regret at equity 0"),
        ("regret_plan_risk_neutral", "regret risk-neutral"),
    )
    shown = [(c, h) for c, h in columns if c in result.summary.columns]
    for column, header in shown:
        table.add_column(header, justify="left" if column == "origin" else "right", no_wrap=True)
    for row in result.summary.to_dict("records"):
        cells = []
        for column, _ in shown:
            value = row[column]
            if column == "origin":
                cells.append("overall" if value == "overall" else f"{value}")
            elif column.startswith("regret"):
                cells.append(_number(value, 3))
            else:
                cells.append(_number(value, 1))
        table.add_row(*cells, style="bold" if row["origin"] == "overall" else None)
    console.print(table)
    console.print(
        "Regret = (plan − oracle) / (key − oracle); VSS = median-only − plan (what planning "
        "over scenarios bought); EVPI = plan − oracle (what perfect information would add). "
        f"Pools {pools_text(result.policy.pools)}"
        + (
            f", budget {result.policy.budget_nok:,.0f} NOK"
            if result.policy.budget_nok is not None
            else ""
        )
        + f", equity weight {result.policy.equity_weight:g}, {result.policy.months} months per "
        f"origin; plan settings {settings_text(result.settings.as_dict())}.",
        highlight=False,
    )
    console.print(measures_table(result))
    fits = ", ".join(f"{o} {s:.0f} s" for o, s in result.fit_seconds.items())
    console.print(
        f"Decision backtest over {len(result.origins)} origin(s) took {result.seconds:.0f} s "
        f"(refit and forecast per origin: {fits}).",
        highlight=False,
    )


#: the allocations of the measures table, in the order shown, with their names
MEASURED = (
    ("plan", "plan"),
    ("key", "key"),
    ("no_pool", "no pool"),
    ("median_only", "median-only"),
    ("oracle", "oracle"),
)


def measures_table(result: DecisionBacktest) -> Any:
    """All origins together, per allocation: unmet FTE-months per resource, kindergarten-months
    in breach of each norm, substitute hours and cost (the backtest's outcome measures)."""
    # imported here: the training stack takes seconds to import, which every command's start
    # would pay (the commands import this module to print)
    from training.decision_scoring import NORM_OF_RESOURCE

    sums = result.outcomes.groupby("allocation").sum(numeric_only=True)
    table = Table(
        title="All origins together: what happened under each allocation",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("measure", no_wrap=True)
    shown = [(name, label) for name, label in MEASURED if name in sums.index]
    for _, label in shown:
        table.add_column(label, justify="right", no_wrap=True)
    rows = [(f"unmet_{r}", f"unmet {r.replace('_', ' ')} FTE-months", 1) for r in RESOURCES]
    rows += [
        (f"breach_{NORM_OF_RESOURCE[r]}", f"kg-months below the {r.replace('_', ' ')} norm", 0)
        for r in RESOURCES
    ]
    rows += [("substitute_hours", "substitute hours", 0), ("substitute_cost_nok", "NOK", 0)]
    for column, label, digits in rows:
        if column in sums.columns:
            by = sums[column].astype(float).to_dict()
            values = [f"{by[n]:,.{digits}f}" for n, _ in shown]
            table.add_row(label, *values)
    return table


def _number(value: Any, digits: int) -> str:
    number = float(value)
    return "undefined" if number != number else f"{number:.{digits}f}"


def settings_text(settings: Mapping[str, Any]) -> str:
    """Plan settings in words: risk, tail weight, scenario spread and steps."""
    steps = settings.get("step_fte", {})
    step_text = (
        " / ".join(f"{r.replace('_', ' ')} {float(v):g}" for r, v in steps.items())
        if isinstance(steps, Mapping)
        else str(steps)
    )
    return (
        f"risk level {float(settings['risk']):.2f}, tail weight "
        f"{float(settings['tail_weight']):.2f}, scenario spread "
        f"{float(settings['scenario_spread']):.2f}, steps {step_text} FTE"
    )


def tuned_defaults_text(note: Mapping[str, Any]) -> str:
    """The line a plan prints about the plan settings tuned on decisions it took as defaults
    (``header["tuned_defaults"]``, :func:`serving.plan_defaults.tuned_defaults_note`)."""
    regret, default = note.get("regret"), note.get("default_regret")
    text = f"Plan defaults tuned on decisions: {settings_text(note['settings'])}"
    if isinstance(regret, int | float):
        text += f"; backtested regret {regret:.3f}"
        if isinstance(default, int | float):
            text += f" (built-in defaults {default:.3f})"
    if "equity_weight" in note:
        text += f" at equity weight {float(note['equity_weight']):g}"
    origins = note.get("origins")
    if isinstance(origins, list) and origins:
        text += f", origins {', '.join(map(str, origins))}"
    return text + " (options you give win over them)."
