"""The planner's words for the codes the engine and the store use: resources, plan states,
compared allocations, what stops a line, pin kinds, audit actions, and the column and parameter
names of plans and their exports. Each word is an English msgid marked with ``N_`` (so
``python -m serving.i18n_catalogue`` extracts it) and shown through the gettext catalogue in the
page's language (bokmål by default).

Machine names stay in the Power BI tables (docs/POWERBI.md); everything a person reads goes
through :func:`word` or :func:`column_word`.
"""

from __future__ import annotations

import re

from data.contract import SIMULATED_NAME_SUFFIX
from features.labels import feature_label
from serving.i18n import N_, Message, gettext

RESOURCE = {
    "staff": N_("Basic staff"),
    "pedagogue": N_("Pedagogues"),
    "resource_pedagogue": N_("Resource pedagogues"),
}

ROLE = {
    "planner": N_("planner"),
    "viewer": N_("viewer"),
    "admin": N_("administrator"),
}

PLAN_STATUS = {
    "draft": N_("Draft"),
    "approved": N_("Approved"),
    "superseded": N_("Superseded"),
    "withdrawn": N_("Withdrawn"),
}

#: The allocations a plan is compared with (the summary's ``allocation`` column, the benefit
#: report and the decision backtest).
ALLOCATION = {
    "plan": N_("This plan"),
    "proportional": N_("Allocation key"),
    "key": N_("Allocation key"),
    "none": N_("No extra resources"),
    "no_pool": N_("No extra resources"),
    "plan_equity_0": N_("Without equity weight"),
    "equity_0": N_("Without equity weight"),
    "plan_risk_neutral": N_("Risk-neutral"),
    "risk_neutral": N_("Risk-neutral"),
    "median_only": N_("Median forecast only"),
    "oracle": N_("With hindsight"),
}

#: What stops a line from getting more (``binding_constraint`` of a plan line).
BINDING = {
    "pin (fix)": N_("Pinned to a fixed change"),
    "pin (ban)": N_("Pinned: no change"),
    "pin (floor)": N_("Pinned minimum reached"),
    "need already met": N_("Need already met"),
    "need met": N_("Need already met"),
    "max moves": N_("Limit on changed lines reached"),
    "pool exhausted": N_("Pool used up"),
    "budget": N_("Budget used up"),
    "step size": N_("Too little left for a whole step"),
    "better used elsewhere": N_("Does more good elsewhere"),
}

AUDIT_ACTION = {
    "plan.create": N_("Plan made"),
    "plan.resolve": N_("Solved again"),
    "plan.new_version": N_("New version"),
    "plan.approve": N_("Plan approved"),
    "plan.supersede": N_("Plan superseded"),
    "line.approve": N_("Line approved"),
    "pin.fix": N_("Pinned to a fixed change"),
    "pin.floor": N_("Pinned to at least a change"),
    "pin.ban": N_("Pinned: no change"),
    "user.create": N_("User created"),
}

#: Where a kindergarten's forecast comes from (the ``forecast`` column a planner opens from
#: ``bemanning forecast``): the model, or the documented fallback (models/forecast/fallback.py)
#: by the first words of its reason.
FORECAST_SOURCE = {
    "model": N_("model forecast"),
    "recently opened": N_("fallback forecast (short history)"),
    "gapped": N_("fallback forecast (gap in the data)"),
}

NORM = {
    "staffing": N_("staffing norm"),
    "pedagogue": N_("pedagogue norm"),
    "special_needs": N_("§ 31/§ 37 hours"),
}

#: Columns of plan lines, plans and their summary (Excel headers, page columns).
COLUMN = {
    "plan_id": N_("Plan"),
    "kindergarten_id": N_("Kindergarten number"),
    "kindergarten_name": N_("Kindergarten"),
    "district": N_("District"),
    "period": N_("Period"),
    "resource": N_("Resource"),
    "current_fte": N_("Now (FTE)"),
    "suggested_fte": N_("Suggested (FTE)"),
    "change_fte": N_("Change (FTE)"),
    "engine_fte": N_("Engine's suggestion (FTE)"),
    "required_fte_p50": N_("Need, median (FTE)"),
    "required_fte_p90": N_("Need, 9 in 10 cases (FTE)"),
    "shortfall_risk": N_("Risk of breaching the norm"),
    "breach_prob_before": N_("Risk of breach without the plan"),
    "breach_prob_after": N_("Risk of breach with the plan"),
    "reason": N_("Reason"),
    "drivers": N_("What drives the need"),
    "binding_constraint": N_("What stops more"),
    "forecast": N_("Forecast used"),
    "marginal_value_fte": N_("Need avoided by one more FTE here"),
    "marginal_value_pool": N_("Need avoided by one more FTE in the pool"),
    "overridden": N_("Pinned"),
    "planned_fte": N_("Planned (FTE)"),
    "planned_change_fte": N_("Planned change (FTE)"),
    "pin": N_("Pin"),
    "solved_fte": N_("Solved (FTE)"),
    "rules_line": N_("Rules the line"),
    "sentence": N_("Pin in words"),
    "approved": N_("Approved"),
    "approved_by": N_("Approved by"),
    "approved_at": N_("Approved at"),
    "row_version": N_("Line version"),
    "status": N_("Status"),
    "version": N_("Version"),
    "parent_plan": N_("Made from plan"),
    "created_by": N_("Made by"),
    "created_at": N_("Made at"),
    "model_version": N_("Model version"),
    "data_fingerprint": N_("Data fingerprint"),
    "kind": N_("Kind of pin"),
    "pin_action": N_("What the pin does"),
    "value_fte": N_("Change (FTE)"),
    "comment": N_("Comment"),
    "allocation": N_("Allocation"),
    "weighted_unmet": N_("Weighted unmet need"),
    "cost_nok": N_("Cost (NOK)"),
    "at": N_("When"),
    "user_name": N_("Who"),
    "action": N_("What"),
    "entity": N_("Entry"),
    "before": N_("Before"),
    "after": N_("After"),
    "plan_status": N_("Plan status"),
    "plan_version": N_("Plan version"),
    "simulated": N_("Simulated data"),
    "data_label": N_("Data"),
    "vedtak_31_now": N_("§ 31 decisions now"),
    "vedtak_37_now": N_("§ 37 decisions now"),
    "vedtak_31_peak": N_("§ 31 decisions at the peak"),
    "vedtak_37_peak": N_("§ 37 decisions at the peak"),
    "children_under3_now": N_("Children under 3 now"),
    "children_over3_now": N_("Children 3 and over now"),
    "children_under3_peak": N_("Children under 3 at the peak"),
    "children_over3_peak": N_("Children 3 and over at the peak"),
    "peak_month": N_("Peak month"),
    "sick_leave_share": N_("Sick leave"),
    "pedagogue_need_exact": N_("Pedagogue norm, exact positions"),
}

#: Summary columns per resource or norm: ``unmet_staff_fte_months`` and the like.
_PER_RESOURCE = {
    re.compile(r"^unmet_(?P<code>\w+?)_fte_months$"): N_("Unmet need, %(what)s (FTE-months)"),
    re.compile(r"^extra_(?P<code>\w+?)_fte$"): N_("Extra %(what)s (FTE)"),
}
_PER_NORM = re.compile(r"^breach_months_(?P<code>\w+)$")
_BREACH_MONTHS = N_("Kindergarten-months breaching the %(what)s")

#: Plan parameters (the stored request and the engine header), as rows of the header sheet.
PARAMETER = {
    "period": N_("Period"),
    "pools": N_("Pools (extra FTE)"),
    "pools_fte": N_("Pools (extra FTE)"),
    "budget_nok": N_("Budget for the plan period"),
    "start": N_("First month"),
    "months": N_("Months planned"),
    "risk": N_("Risk level"),
    "equity_weight": N_("Equity weight"),
    "max_moves": N_("Most lines FTE may be moved out of"),
    "moves_used": N_("Lines changed"),
    "tail_weight": N_("Weight of the worst cases"),
    "scenario_spread": N_("Scenario spread"),
    "n_scenarios": N_("Forecast scenarios"),
    "scenarios": N_("Forecast scenarios"),
    "steps": N_("Steps per resource (FTE)"),
    "step_fte": N_("Steps per resource (FTE)"),
    "cost_per_fte_year_nok": N_("Cost per FTE a year"),
    "forecast_origin": N_("Last month of data"),
    "solver_status": N_("Solver status"),
    "mip_gap": N_("Distance from the best possible plan"),
    "solve_seconds": N_("Solve time (seconds)"),
    "pins": N_("Pins"),
    "warnings": N_("Warnings"),
}


#: What a key figure (serving/key_figures.py) is compared with, and its trend.
COMPARED_WITH = {"12 months earlier": N_("12 months earlier"), "now": N_("now")}
TREND = {"up": N_("↑ up"), "down": N_("↓ down"), "flat": N_("→ flat")}

#: The plan form's fields by name (serving/plan_options.py): label and help in words; the
#: range and default are shown beside them from the option itself. A help text with
#: ``%(name)s`` is filled from :data:`PLAN_OPTION_FIGURES` (a figure kept in one place).
PLAN_OPTION = {
    "pool_staff": (
        N_("Pool of basic staff"),
        N_("Extra FTE of basic staff to spread over the district."),
    ),
    "pool_pedagogue": (
        N_("Pool of pedagogues"),
        N_("Extra FTE of pedagogues to spread over the district."),
    ),
    "pool_resource_pedagogue": (
        N_("Pool of resource pedagogues"),
        N_("Extra FTE of resource pedagogues to spread over the district."),
    ),
    "step_staff": (
        N_("Hiring step, basic staff"),
        N_("The smallest piece of basic staff the district can hire."),
    ),
    "step_pedagogue": (
        N_("Hiring step, pedagogues"),
        N_("The smallest piece of a pedagogue position the district can hire."),
    ),
    "step_resource_pedagogue": (
        N_("Hiring step, resource pedagogues"),
        N_("The smallest piece of a resource pedagogue position the district can hire."),
    ),
    "budget_nok": (
        N_("Budget for the plan period"),
        N_("What the pools may cost over the whole plan period; empty: no limit."),
    ),
    "start": (N_("First month"), N_("The first planned month; empty: the month after the data.")),
    "months": (N_("Months planned"), N_("Length of the plan period.")),
    "risk": (
        N_("Risk level"),
        N_(
            "How hard the plan guards against the worst forecast scenarios: at 0.9 it weighs "
            "the mean unmet need of the worst 10 % beside the expected."
        ),
    ),
    "equity_weight": (
        N_("Equity weight"),
        N_(
            "How much more an unmet FTE-month counts where many children are in low-income or "
            "minority-language families; 0: no extra weight. It decides between close needs: "
            "the plan gives up at most this × %(share)s of what the pools buy for it."
        ),
    ),
    "max_moves": (
        N_("Most lines FTE may be moved out of"),
        N_("Existing FTE may be moved out of at most this many lines; 0: none moved."),
    ),
    "scenarios": (N_("Forecast scenarios"), N_("Forecast scenarios the plan is optimised over.")),
}
UNIT = {
    "FTE": N_("FTE"),
    "NOK": N_("NOK"),
    "YYYY-MM": N_("YYYY-MM"),
    "months": N_("months"),
    "level": N_("level"),
    "weight": N_("weight"),
    "kindergarten × resource lines": N_("lines"),
    "scenarios": N_("scenarios"),
    "children": N_("children"),
    "decisions": N_("decisions"),
    "share": N_("share"),
}


def place_name(language: str, name: object) -> str:
    """A kindergarten's or municipality's name as a page shows it: a simulated one's
    "(simulated)" in the page's language ("(simulert)"), said once."""
    text = "" if name is None else str(name)
    if not text.endswith(SIMULATED_NAME_SUFFIX):
        return text
    simulated = gettext(language, N_("simulated"))
    return f"{text.removesuffix(SIMULATED_NAME_SUFFIX)} ({simulated})"


def as_message(table: dict[str, str], code: object) -> Message:
    """``code``'s word from ``table`` as a :class:`serving.i18n.Message` (said in the page's
    language where the message is shown), e.g. a role or a resource inside a refusal."""
    text = str(code)
    return Message(table.get(text, text.replace("_", " ")))


def word(language: str, table: dict[str, str], code: object) -> str:
    """``code``'s word from ``table`` in ``language``; a code no table knows is shown with its
    underscores as spaces (never as a code)."""
    text = str(code)
    msgid = table.get(text)
    if msgid is None:
        return text.replace("_", " ")
    return gettext(language, msgid)


def forecast_source(language: str, reason: str | None) -> str:
    """The words for where a forecast comes from: ``reason`` is the fallback's reason for the
    kindergarten (``recently opened: 5 months of data``), None for the model's own forecast."""
    code = "model" if reason is None else reason.split(":", 1)[0].strip()
    return word(language, FORECAST_SOURCE, code)


def column_word(language: str, column: str) -> str:
    """A column's header in ``language``: the plan and summary columns here, else the feature
    catalogue's label (features/labels.py), else the name with spaces."""
    if column in COLUMN:
        return gettext(language, COLUMN[column])
    for pattern, msgid in _PER_RESOURCE.items():
        if match := pattern.match(column):
            what = word(language, RESOURCE, match["code"]).lower()
            return gettext(language, msgid, what=what)
    if match := _PER_NORM.match(column):
        return gettext(language, _BREACH_MONTHS, what=word(language, NORM, match["code"]))
    if column in PARAMETER:
        return gettext(language, PARAMETER[column])
    return feature_label(column, language)
