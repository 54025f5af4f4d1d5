"""A plan's header as readable key/value rows in the chosen language — who made and approved
it, the period, the pools, the budget, the risk level as a percentage, the model version and the
data fingerprint. The plan page and the Excel header sheet both show these rows, so a figure is
defined once; each row carries its unit so the page formats it as text and Excel as a number
format."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from data.contract import RESOURCES
from serving import formatting, plan_warnings, words
from serving.i18n import N_, gettext

Unit = Literal[
    "text", "fte", "fte_months", "kindergarten_months", "nok", "share", "count", "number", "when"
]


@dataclass(frozen=True)
class HeaderRow:
    label: str
    value: Any
    unit: Unit = "text"

    def text(self, language: str) -> str:
        """The value as a person reads it."""
        return formatting.format_in_unit(self.value, self.unit, language)


def _when(value: Any) -> Any:
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def plan_header_rows(
    language: str,
    plan_info: Mapping[str, Any],
    header: Mapping[str, Any],
    *,
    simulated: bool,
    names: Mapping[str, str] | None = None,
    with_warnings: bool = True,
) -> list[HeaderRow]:
    """The header rows of one plan (``plan_info``: the plan's identity and approval, as in the
    Power BI ``plans`` table; ``header``: the engine's header with the planner's request;
    ``names``: kindergarten id → name, for the warnings). ``with_warnings`` False leaves the
    warnings out (the plan page shows them apart, at its top)."""

    def t(msgid: str, **values: Any) -> str:
        return gettext(language, msgid, **values)

    request: Mapping[str, Any] = header.get("request") or {}
    rows: list[HeaderRow] = []
    if simulated:
        rows.append(HeaderRow(t(N_("Data")), t(N_("SIMULATED DATA — not real kindergartens"))))
    rows += [
        HeaderRow(t(N_("Plan")), plan_info.get("plan_id")),
        HeaderRow(t(N_("District")), plan_info.get("district")),
        HeaderRow(
            t(N_("Status")), words.word(language, words.PLAN_STATUS, plan_info.get("status"))
        ),
        HeaderRow(t(N_("Version")), plan_info.get("version"), "count"),
        HeaderRow(t(N_("Made from plan")), plan_info.get("parent_plan") or None),
        HeaderRow(t(N_("Made by")), plan_info.get("created_by")),
        HeaderRow(t(N_("Made at")), _when(plan_info.get("created_at")), "when"),
        HeaderRow(t(N_("Approved by")), plan_info.get("approved_by") or None),
        HeaderRow(t(N_("Approved at")), _when(plan_info.get("approved_at")) or None, "when"),
        HeaderRow(t(N_("Period")), header.get("period")),
    ]
    pools = request.get("pools") or header.get("pools_fte") or {}
    for resource in RESOURCES:
        if resource in pools:
            rows.append(
                HeaderRow(
                    t(
                        N_("Pool: %(resource)s (extra FTE)"),
                        resource=words.word(language, words.RESOURCE, resource),
                    ),
                    pools[resource],
                    "fte",
                )
            )
    budget = request.get("budget_nok", header.get("budget_nok"))
    rows.append(
        HeaderRow(t(N_("Budget for the plan period")), budget, "nok")
        if budget is not None
        else HeaderRow(t(N_("Budget for the plan period")), t(N_("no limit")))
    )
    risk = request.get("risk", header.get("risk"))
    if risk is not None:
        rows.append(
            HeaderRow(
                t(
                    N_("Risk level (the plan guards against the worst %(tail)s of scenarios)"),
                    tail=formatting.format_percent(1 - float(risk), 0, language),
                ),
                float(risk),
                "share",
            )
        )
    for key, unit in (("equity_weight", "number"), ("max_moves", "count"), ("months", "count")):
        value = request.get(key, header.get(key))
        label = words.word(language, words.PARAMETER, key)
        if key == "max_moves":
            # 0 moves nothing out, no value sets no cap: a bare "0" read as "no line changes"
            rows.append(
                HeaderRow(label, t(N_("no limit")))
                if value is None
                else HeaderRow(label, t(N_("none: no FTE moved out of a line")))
                if value == 0
                else HeaderRow(label, value, "count")
            )
        elif value is not None:
            rows.append(HeaderRow(label, value, unit))  # type: ignore[arg-type]
    steps = header.get("step_fte") or {}
    for resource in RESOURCES:
        if resource in steps:
            rows.append(
                HeaderRow(
                    t(
                        N_("Step: %(resource)s (FTE)"),
                        resource=words.word(language, words.RESOURCE, resource),
                    ),
                    steps[resource],
                    "fte",
                )
            )
    if header.get("n_scenarios") is not None:
        rows.append(HeaderRow(t(N_("Forecast scenarios")), header["n_scenarios"], "count"))
    rows += [
        HeaderRow(t(N_("Model version")), plan_info.get("model_version")),
        HeaderRow(t(N_("Data fingerprint")), plan_info.get("data_fingerprint")),
    ]
    warnings = header.get("warnings") or []
    if warnings and with_warnings:
        said = plan_warnings.warning_lines(list(warnings), language, names)
        rows.append(HeaderRow(t(N_("Warnings")), "; ".join(said)))
    return rows
