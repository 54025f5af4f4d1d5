"""One definition of every plan option: its default, range, unit and help, in :data:`OPTIONS`.
The command line (``bemanning plan`` / ``bemanning report``: :func:`cli_option`), the JSON API
(``PlanCreate``: :func:`api_field`) and the web form (:func:`form_fields`, read back with
:func:`values_from_form`) are all derived from it, so they cannot disagree; a test checks them.

The words a planner needs to get right:

* pools are extra FTE per resource to spread; the budget is NOK **for the plan period**
  (cost per FTE-year × months / 12), empty = no budget cap;
* the risk level is the **CVaR level** of the plan's tail measure (0.9: the mean unmet need over
  the worst 10 % of forecast scenarios counts beside the expected unmet need) — not a quantile
  the plan must cover; its default lives in :data:`models.allocation.DEFAULT_RISK`;
* max moves: **0 moves no existing FTE** (only the pools are spread); empty = no cap;
* steps are what the district can hire per resource (:data:`models.allocation.DEFAULT_STEP_FTE`).

Bad values on the command line are collected as :class:`~data.errors.Problem` rows and raised
together as one :class:`~data.errors.UserInputError` (exit code 2 through ``@user_errors``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import pandas as pd
import typer
from pydantic import Field

from data.contract import RESOURCES, parse_month
from data.errors import Problem, UserInputError
from models.allocation import (
    DEFAULT_RISK,
    DEFAULT_STEP_FTE,
    EQUITY_COST_SHARE,
    EQUITY_TILT,
    RISK_RANGE,
)

RESOURCE_WORDS = {
    "staff": "staff",
    "pedagogue": "pedagogues",
    "resource_pedagogue": "resource pedagogues",
}
#: most FTE one pool may hold (a district of 100 kindergartens rarely spreads more than 50)
MAX_POOL_FTE = 500.0


@dataclass(frozen=True)
class PlanOption:
    """One plan option. ``name`` is the API and form field; ``flag`` the command-line option;
    ``empty`` says what leaving it empty means (None allowed), "" when a value is required."""

    name: str
    flag: str
    label: str
    unit: str
    help: str
    default: Any
    kind: type = float
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    empty: str = ""

    @property
    def optional(self) -> bool:
        return bool(self.empty)

    def range_text(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"{self.minimum:g}–{self.maximum:g}"
        if self.minimum is not None:
            return f"≥ {self.minimum:g}"
        return ""

    def full_help(self) -> str:
        """The help text with unit, range, default and what empty means, as the CLI shows it."""
        parts = [self.help]
        facts = [f for f in (self.unit, self.range_text()) if f]
        if self.default is not None:
            facts.append(f"default {self.default:g}" if self.kind is not str else "")
        if self.empty:
            facts.append(f"empty: {self.empty}")
        shown = "; ".join(f for f in facts if f)
        return f"{' '.join(parts)} ({shown})" if shown else " ".join(parts)


def _pool(resource: str) -> PlanOption:
    return PlanOption(
        name=f"pool_{resource}",
        flag="--pool",
        label=f"Pool: {RESOURCE_WORDS[resource]}",
        unit="FTE",
        help=f"Extra FTE of {RESOURCE_WORDS[resource]} to spread over the district.",
        default=None,
        minimum=0.0,
        maximum=MAX_POOL_FTE,
        step=0.5,
        empty="no pool: only the budget limits it (nothing without a budget)",
    )


def _step(resource: str, default: float) -> PlanOption:
    return PlanOption(
        name=f"step_{resource}",
        flag=f"--step-{resource.replace('_', '-')}",
        label=f"Hiring step: {RESOURCE_WORDS[resource]}",
        unit="FTE",
        help=f"The smallest piece of {RESOURCE_WORDS[resource]} the district can hire: every "
        "change is a whole number of these.",
        default=default,
        minimum=0.1,
        maximum=5.0,
        step=0.1,
    )


OPTIONS: dict[str, PlanOption] = {
    option.name: option
    for option in (
        *(_pool(r) for r in RESOURCES),
        PlanOption(
            name="budget_nok",
            flag="--budget",
            label="Budget for the plan period",
            unit="NOK",
            help="What the pools may cost over the whole plan period (cost per FTE-year × "
            "months / 12).",
            default=None,
            minimum=0.0,
            step=1000.0,
            empty="no budget cap (the pools limit)",
        ),
        PlanOption(
            name="start",
            flag="--start",
            label="First month",
            unit="YYYY-MM",
            help="The first planned month.",
            default=None,
            kind=str,
            empty="the month after the data",
        ),
        PlanOption(
            name="months",
            flag="--months",
            label="Months",
            unit="months",
            help="Length of the plan period.",
            default=12,
            kind=int,
            minimum=1,
            maximum=24,
            step=1,
        ),
        PlanOption(
            name="risk",
            flag="--risk",
            label="Risk level (CVaR)",
            unit="level",
            help="Level of the plan's tail measure: the mean unmet need over the worst "
            "(1 − level) of the forecast scenarios counts beside the expected unmet need; "
            "0.9 = the worst 10 %. Not a quantile the plan must cover.",
            default=DEFAULT_RISK,
            minimum=RISK_RANGE[0],
            maximum=RISK_RANGE[1],
            step=0.01,
        ),
        PlanOption(
            name="equity_weight",
            flag="--equity-weight",
            label="Equity weight",
            unit="weight",
            help="How much more an unmet FTE-month counts where many children are in "
            f"low-income families or speak a minority language: weight = 1 + {EQUITY_TILT:g} × "
            "this × (low-income share + minority-language share); 0 = no equity weighting. "
            "The weight decides between close needs: the plan gives up at most this × "
            f"{EQUITY_COST_SHARE:.1%} of what the pools buy (as the plan expects it) for it.",
            default=1.0,
            minimum=0.0,
            maximum=10.0,
            step=0.1,
        ),
        PlanOption(
            name="max_moves",
            flag="--max-moves",
            label="Most lines FTE may be moved out of",
            unit="kindergarten × resource lines",
            help="Existing FTE may be moved out of at most this many lines; 0 = none moved "
            "(only the pools are spread).",
            default=0,
            kind=int,
            minimum=0,
            maximum=10_000,
            step=1,
            empty="no cap",
        ),
        PlanOption(
            name="scenarios",
            flag="--scenarios",
            label="Forecast scenarios",
            unit="scenarios",
            help="Joint forecast scenarios the plan is optimised over.",
            default=200,
            kind=int,
            minimum=10,
            maximum=2000,
            step=10,
        ),
        *(_step(r, s) for r, s in zip(RESOURCES, DEFAULT_STEP_FTE, strict=True)),
    )
}
POOL_OPTIONS = tuple(OPTIONS[f"pool_{r}"] for r in RESOURCES)
STEP_OPTIONS = tuple(OPTIONS[f"step_{r}"] for r in RESOURCES)


def parse_moves(value: Any) -> int | None:
    """``--max-moves``: a whole number ≥ 0, or ``none`` (also empty, "no cap", "ingen") for no
    cap."""
    if value is None or isinstance(value, int):
        return value
    text = str(value).strip().lower()
    if text in ("", "none", "no cap", "ingen", "ingen grense"):
        return None
    try:
        number = int(text)
    except ValueError:
        raise typer.BadParameter("a whole number ≥ 0, or 'none' for no cap") from None
    if number < 0:
        raise typer.BadParameter("a whole number ≥ 0, or 'none' for no cap")
    return number


def cli_option(name: str) -> Any:
    """The ``typer.Option`` of a scalar option (its flag, help with unit, range and default).
    The range is checked by :func:`range_problems`, not by Typer, so a command reports every
    bad option at once."""
    option = OPTIONS[name]
    extra: dict[str, Any] = {}
    if name == "max_moves":
        extra = {"parser": parse_moves, "metavar": "N|none"}
    return typer.Option(option.flag, help=option.full_help(), **extra)


def range_rule(option: PlanOption) -> str:
    if option.minimum is not None and option.maximum is not None:
        return f"must be between {option.minimum:g} and {option.maximum:g}"
    return f"must be ≥ {option.minimum:g}" if option.minimum is not None else ""


def range_problems(values: Mapping[str, Any]) -> list[Problem]:
    """A problem for every option value outside its range (None is fine where empty is
    allowed), named by the option's command-line flag."""
    problems = []
    for name, value in values.items():
        option = OPTIONS[name]
        if value is None and option.optional:
            continue
        if value is None or _outside(name, float(value)):
            problems.append(Problem(file=option.flag, rule=range_rule(option), value=value))
    return problems


def api_field(name: str) -> Any:
    """The pydantic ``Field`` of an option: default, bounds, description with unit."""
    option = OPTIONS[name]
    bounds: dict[str, Any] = {}
    if option.kind is not str:
        bounds = {"ge": option.minimum, "le": option.maximum}
    else:
        bounds = {"pattern": r"^\d{4}-(0[1-9]|1[0-2])$"}
    return Field(
        default=option.default,
        description=option.full_help(),
        json_schema_extra={"unit": option.unit, "label": option.label},
        **bounds,
    )


def form_fields(values: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The web form's inputs in order: name, label, unit, help, type, min, max, step, value
    (the default unless ``values`` gives one; empty for an optional option left empty)."""
    given = values or {}
    fields = []
    for option in OPTIONS.values():
        value = given.get(option.name, option.default)
        fields.append(
            {
                "name": option.name,
                "label": option.label,
                "unit": option.unit,
                "help": option.full_help(),
                "type": "text" if option.kind is str else "number",
                "min": option.minimum,
                "max": option.maximum,
                "step": option.step,
                "value": "" if value is None else value,
                "placeholder": option.empty,
                "required": not option.optional,
            }
        )
    return fields


def values_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """The submitted form as ``PlanCreate`` input: per-resource pools folded into ``pools``,
    empty optional fields as None, empty required ones as their default (pydantic checks the
    rest, naming each field)."""
    values: dict[str, Any] = {"pools": {}}
    for option in OPTIONS.values():
        raw = form.get(option.name)
        text = "" if raw is None else str(raw).strip()
        value: Any = (None if option.optional else option.default) if text == "" else text
        if option.name.startswith("pool_"):
            if value is not None:
                values["pools"][option.name.removeprefix("pool_")] = value
        else:
            values[option.name] = value
    district = str(form.get("district") or "").strip()
    values["district"] = district or None
    return values


def nothing_to_allocate(
    pools: Mapping[str, Any], budget_nok: float | None, max_moves: int | None
) -> Problem | None:
    """The problem with a request that gives nothing and moves nothing (the command line, the
    API and the form refuse it alike), or None."""
    if any(v is not None for v in pools.values()) or budget_nok is not None or max_moves != 0:
        return None
    return Problem(
        "--pool",
        "give at least one pool, a budget or allow moves (max moves not 0): otherwise there "
        "is nothing to allocate",
    )


def step_fte(values: Mapping[str, Any]) -> dict[str, float]:
    """The hiring steps per resource from option values (defaults where not given)."""
    steps = {}
    for resource, option in zip(RESOURCES, STEP_OPTIONS, strict=True):
        value = values.get(option.name)
        steps[resource] = float(option.default if value is None else value)
    return steps


# --- the command line ------------------------------------------------------------------------

PoolsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--pool",
        help="Extra FTE to spread, as RESOURCE=FTE; repeat per resource "
        f"({', '.join(RESOURCES)}); FTE {POOL_OPTIONS[0].range_text()}. An omitted resource has "
        f"{POOL_OPTIONS[0].empty}.",
    ),
]
BudgetOption = Annotated[float | None, cli_option("budget_nok")]
StartOption = Annotated[str | None, cli_option("start")]
MonthsOption = Annotated[int, cli_option("months")]
RiskOption = Annotated[float, cli_option("risk")]
EquityOption = Annotated[float, cli_option("equity_weight")]
MaxMovesOption = Annotated[int | None, cli_option("max_moves")]
ScenariosOption = Annotated[int, cli_option("scenarios")]
StepStaffOption = Annotated[float, cli_option("step_staff")]
StepPedagogueOption = Annotated[float, cli_option("step_pedagogue")]
StepResourcePedagogueOption = Annotated[float, cli_option("step_resource_pedagogue")]


def parse_pools(values: list[str] | None) -> dict[str, float]:
    """``["staff=8", "pedagogue=4"]`` → ``{"staff": 8.0, "pedagogue": 4.0}``.

    Every malformed item is reported at once: not RESOURCE=FTE, an unknown resource, a value
    outside the pool's range, or a resource given twice.
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
    option = OPTIONS[f"pool_{name}"]
    if not math.isfinite(fte) or fte < (option.minimum or 0.0):
        return _pool_problem("FTE must be a finite number ≥ 0", item, position)
    if option.maximum is not None and fte > option.maximum:
        return _pool_problem(f"FTE must be at most {option.maximum:g}", item, position)
    return name, fte


def _outside(name: str, value: float) -> bool:
    option = OPTIONS[name]
    low = option.minimum if option.minimum is not None else -math.inf
    high = option.maximum if option.maximum is not None else math.inf
    return not (math.isfinite(value) and low <= value <= high)


def parse_plan_options(
    *,
    budget: float | None = None,
    start: str | None = None,
    months: int = OPTIONS["months"].default,
    risk: float = DEFAULT_RISK,
) -> tuple[float | None, pd.Period | None]:
    """Check the scalar plan options together; returns (budget NOK, start month)."""
    problems: list[Problem] = []
    start_month: pd.Period | None = None
    if budget is not None and _outside("budget_nok", budget):
        problems.append(
            Problem(file="--budget", rule="must be a finite amount ≥ 0 NOK", value=budget)
        )
    if start is not None:
        try:
            start_month = parse_month(start)
        except ValueError as exc:
            problems.append(Problem(file="--start", rule=str(exc), value=start))
    problems += range_problems({"months": months, "risk": risk})
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
