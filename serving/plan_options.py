"""The plan options ``bemanning plan`` and ``bemanning report`` share: the same names, help
texts and parsing, so a report is always about the plan the same options would make.

``--pool RESOURCE=FTE`` (repeatable), ``--budget NOK``, ``--start YYYY-MM``, ``--months N`` and
``--risk P``. Bad values are collected as :class:`~data.errors.Problem` rows and raised
together as one :class:`~data.errors.UserInputError` (exit code 2 through ``@user_errors``).
"""

from __future__ import annotations

import math
from typing import Annotated

import pandas as pd
import typer

from data.contract import RESOURCES, parse_month
from data.errors import Problem, UserInputError

PoolsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--pool",
        help="Extra FTE to spread, as RESOURCE=FTE; repeat per resource "
        f"({', '.join(RESOURCES)}). Omitted resources get no pool.",
    ),
]
BudgetOption = Annotated[
    float | None,
    typer.Option("--budget", help="Budget for the pools in NOK for the period (default: no cap)."),
]
StartOption = Annotated[
    str | None,
    typer.Option(
        "--start", help="First planned month, YYYY-MM (default: the month after the data)."
    ),
]
MonthsOption = Annotated[
    int, typer.Option("--months", help="Number of months planned (1–24).", min=1, max=24)
]
RiskOption = Annotated[
    float,
    typer.Option(
        "--risk",
        help="Risk level of the plan's tail measure, 0.5–0.99: 0.9 weighs the mean of the worst "
        "10 % of forecast scenarios beside the expected unmet need.",
    ),
]


def parse_pools(values: list[str] | None) -> dict[str, float]:
    """``["staff=8", "pedagogue=4"]`` → ``{"staff": 8.0, "pedagogue": 4.0}``.

    Every malformed item is reported at once: not RESOURCE=FTE, an unknown resource, a value
    that is not a non-negative finite number, or a resource given twice.
    """
    pools: dict[str, float] = {}
    problems: list[Problem] = []
    for position, item in enumerate(values or [], start=1):
        parsed = _parse_pool_item(item, position)
        if isinstance(parsed, Problem):
            problems.append(parsed)
        elif parsed[0] in pools:
            problems.append(_pool_problem("resource given more than once", item, position))
        else:
            pools[parsed[0]] = parsed[1]
    if problems:
        raise UserInputError(f"{len(problems)} problem(s) with --pool", problems)
    return pools


def _pool_problem(rule: str, item: str, position: int) -> Problem:
    name = item.partition("=")[0].strip()
    return Problem(file="--pool", rule=rule, row=position, column=name or None, value=item)


def _parse_pool_item(item: str, position: int) -> tuple[str, float] | Problem:
    name, sep, amount = item.partition("=")
    name = name.strip()
    if not sep:
        return _pool_problem("must be RESOURCE=FTE, e.g. staff=8", item, position)
    if name not in RESOURCES:
        return _pool_problem(f"resource must be one of {', '.join(RESOURCES)}", item, position)
    try:
        fte = float(amount)
    except ValueError:
        return _pool_problem("FTE must be a number", item, position)
    if not math.isfinite(fte) or fte < 0:
        return _pool_problem("FTE must be a finite number ≥ 0", item, position)
    return name, fte


def parse_plan_options(
    *,
    budget: float | None = None,
    start: str | None = None,
    months: int = 12,
    risk: float = 0.9,
) -> tuple[float | None, pd.Period | None]:
    """Check the scalar plan options together; returns (budget NOK, start month)."""
    problems: list[Problem] = []
    start_month: pd.Period | None = None
    if budget is not None and (not math.isfinite(budget) or budget < 0):
        problems.append(
            Problem(file="--budget", rule="must be a finite amount ≥ 0 NOK", value=budget)
        )
    if start is not None:
        try:
            start_month = parse_month(start)
        except ValueError as exc:
            problems.append(Problem(file="--start", rule=str(exc), value=start))
    if not 1 <= months <= 24:
        problems.append(Problem(file="--months", rule="must be between 1 and 24", value=months))
    if not 0.5 <= risk <= 0.99:
        problems.append(Problem(file="--risk", rule="must be between 0.5 and 0.99", value=risk))
    if problems:
        raise UserInputError(f"{len(problems)} problem(s) with the plan options", problems)
    return budget, start_month


def collect_plan_options(
    *, pools: list[str] | None, budget: float | None, start: str | None, months: int, risk: float
) -> tuple[dict[str, float], float | None, pd.Period | None, list[Problem]]:
    """Parse ``--pool``, ``--budget``, ``--start``, ``--months`` and ``--risk`` together, for
    ``bemanning plan`` and ``bemanning report`` alike: returns (pools FTE, budget NOK, start
    month, problems), collecting every problem instead of stopping at the first, so a command
    can add its own and report them all at once."""
    problems: list[Problem] = []
    parsed_pools: dict[str, float] = {}
    budget_nok, start_month = None, None
    try:
        parsed_pools = parse_pools(pools)
    except UserInputError as exc:
        problems += exc.problems
    try:
        budget_nok, start_month = parse_plan_options(
            budget=budget, start=start, months=months, risk=risk
        )
    except UserInputError as exc:
        problems += exc.problems
    return parsed_pools, budget_nok, start_month, problems
