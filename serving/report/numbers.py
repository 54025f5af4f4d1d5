"""The benefit report's numbers as plain data, built from the same objects the plan prints.

The district table *is* ``PlanResult.summary`` (expected unmet FTE-months per resource and
kindergarten-months in breach of each norm, for the plan, the proportional key and no pool);
every benefit is a difference of two of its cells, so the report and ``bemanning plan`` cannot
disagree. Per-kindergarten and per-area tables come from the per-kindergarten outcomes of the
same scenarios (they add up to the district table).

How Oslo reports value (DOMAIN.md): *avoided costs* (substitute cost), *time saved*
(substitute hours that need not be found and booked) and *higher quality* (norm breaches and
special-needs help), against a baseline (nullpunkt) — here the proportional key on the same pools.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast

import pandas as pd

from data.contract import AREA, KINDERGARTEN_ID, RESOURCES, SIMULATED_LABEL, District
from models.allocation.comparison import (
    COMPARED,
    COMPARED_LABELS,
    EQUITY_0,
    KEY,
    NOTHING,
    PLAN,
    RISK_NEUTRAL,
    TRADE_OFFS,
)
from serving.report.tables import Column, ColumnKind, ReportTable

if TYPE_CHECKING:
    from serving.report.evidence import EvidenceSection

#: The allocations every benefit is measured between: the plan and its two baselines.
ALLOCATIONS = (PLAN, KEY, NOTHING)
#: Allocation names as the report shows them (one source: models.allocation.comparison).
ALLOCATION_LABELS = dict(COMPARED_LABELS["en"])
RESOURCE_LABELS = {
    "staff": "staff",
    "pedagogue": "pedagogue",
    "resource_pedagogue": "special needs (resource pedagogue)",
}
#: The pedagogue norm counts whole positions (as ``bemanning plan`` prints it).
UNMET_UNITS = {
    "staff": "FTE-months",
    "pedagogue": "position-months",
    "resource_pedagogue": "FTE-months",
}
NORM_LABELS = {
    "staffing": "staffing norm",
    "pedagogue": "pedagogue norm",
    "special_needs": "§ 31/§ 37 hours (special needs)",
}
#: Resources whose unmet FTE-months are hours someone must cover: staff shortfall is effective
#: (sick leave included) and is what substitutes cover; § 31/§ 37 hours not delivered need extra
#: hands too. The pedagogue shortfall is whole positions *on paper*: a sick pedagogue's hours are
#: already in the staff shortfall (pedagogues count as staff), so counting it again would double
#: count; it is reported as a quality benefit (norm breaches) instead.
SUBSTITUTE_RESOURCES = ("staff", "resource_pedagogue")
WEEKS_PER_MONTH = 52 / 12
#: Default cost of one substitute hour in NOK: an assistant's hourly pay with holiday pay,
#: pension and employer's tax (about 250 NOK + 40 %); an assumption, stated in the report.
DEFAULT_SUBSTITUTE_COST_NOK_PER_HOUR = 350.0


@dataclass(frozen=True)
class ReportSettings:
    """The report's own assumptions (shown in it)."""

    substitute_cost_nok_per_hour: float = DEFAULT_SUBSTITUTE_COST_NOK_PER_HOUR
    substitute_cost_given: bool = False
    hours_per_week_per_fte: float = 37.5

    @property
    def hours_per_fte_month(self) -> float:
        """37.5 h a week × 52 weeks / 12 months = 162.5 hours in one FTE-month."""
        return self.hours_per_week_per_fte * WEEKS_PER_MONTH


@dataclass(frozen=True)
class OptionShown:
    """A plan option as the report states it: its value and whether the user gave it."""

    option: str
    value: str
    given: bool


Verdict = Literal["better", "same", "worse"]


@dataclass(frozen=True)
class BenefitCard:
    """One headline figure against the proportional key. ``value`` is the gain and is shown
    only where the plan is better; where it is not, ``value`` is 0, ``text`` says so and
    ``why`` gives the plan's and the key's figures and the reason in words — never a negative
    gain."""

    key: str
    kind: str  #: "avoided cost", "time saved" or "higher quality"
    value: float
    text: str
    detail: str
    verdict: Verdict = "better"
    why: str = ""


@dataclass(frozen=True)
class PlanSettingsShown:
    """The plan settings a "why" sentence names: weights and what each allocation spent."""

    equity_weight: float = 1.0
    tail_weight: float = 0.25
    legal_weight: float = 10.0
    special_needs_weight: float = 3.0
    spend_nok: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, header: Mapping[str, Any]) -> PlanSettingsShown:
        weights = header.get("weights") or {}
        spend = header.get("spend_nok") or {}
        return cls(
            equity_weight=float(header.get("equity_weight", 1.0)),
            tail_weight=float(header.get("tail_weight", weights.get("cvar_weight", 0.25))),
            legal_weight=float(weights.get("legal", 10.0)),
            special_needs_weight=float(weights.get("special_needs", 3.0)),
            spend_nok={str(k): float(v) for k, v in dict(spend).items()},
        )


@dataclass
class ReportSection:
    """A section another module adds to the report (e.g. the evidence from decision
    backtests): a title, paragraphs and tables, rendered after the forecast quality."""

    html_id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[ReportTable] = field(default_factory=list)


@dataclass(frozen=True)
class SummaryLayout:
    """Which columns of the plan summary are unmet FTE-months (per resource) and which are
    breach kindergarten-months (per norm)."""

    unmet: dict[str, str]  #: resource → column
    breach: dict[str, str]  #: norm → column

    @classmethod
    def of(cls, summary: pd.DataFrame) -> SummaryLayout:
        unmet: dict[str, str] = {}
        breach: dict[str, str] = {}
        for column in map(str, summary.columns):
            lowered = column.lower()
            if "breach" in lowered:
                norm = next((n for n in NORM_LABELS if lowered.endswith(n)), column)
                breach[norm] = column
            elif "unmet" in lowered:
                # longest name first so "resource_pedagogue" is not read as "pedagogue"
                resource = next(
                    (r for r in sorted(RESOURCES, key=len, reverse=True) if r in lowered), None
                )
                if resource is not None:
                    unmet[resource] = column
        if not unmet:
            raise ValueError(f"plan summary has no unmet-need columns: {list(summary.columns)}")
        return cls(unmet=unmet, breach=breach)


@dataclass
class BenefitReport:
    """Everything the HTML shows, already computed; :mod:`serving.report.render` only formats."""

    district_name: str
    simulated: bool
    plan_id: str
    period_label: str
    model_version: str
    data_fingerprint: str
    settings: ReportSettings
    summary: pd.DataFrame  #: PlanResult.summary, by allocation, unchanged
    layout: SummaryLayout
    benefit_cards: list[BenefitCard]
    benefits: ReportTable
    district: ReportTable
    spend: ReportTable
    trade_offs: ReportTable
    substitute: ReportTable
    areas: ReportTable
    kindergartens: ReportTable
    forecast_quality: ReportTable | None
    options: ReportTable
    provenance: list[tuple[str, str]]
    method_notes: list[str]
    budget_text: str = ""
    #: Unmet need per district, when the data hold more than one (a city-wide run).
    per_district: ReportTable | None = None
    figures: dict[str, str] = field(default_factory=dict)
    #: «had the district planned this way» (the decision backtest), None when there is none
    evidence: EvidenceSection | None = None
    #: Sections other modules add (rendered after the forecast quality, numbered on).
    extra_sections: list[ReportSection] = field(default_factory=list)
    #: What the plan and the key spend, in words (the headline's "same budget" sentence).
    spend_text: str = ""
    trade_off_text: str = ""
    generated_at: str = field(
        default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    )
    engine_version: str = ""
    simulated_label: str = SIMULATED_LABEL

    @property
    def hours_per_fte_month_text(self) -> str:
        return f"{self.settings.hours_per_fte_month:.1f}"

    @property
    def hours_per_week_text(self) -> str:
        return f"{self.settings.hours_per_week_per_fte:g}"

    @property
    def substitute_cost_text(self) -> str:
        return f"{self.settings.substitute_cost_nok_per_hour:,.0f}\u00a0kr".replace(",", "\u00a0")

    @property
    def substitute_cost_given(self) -> bool:
        return self.settings.substitute_cost_given


def summary_by_allocation(summary: pd.DataFrame) -> pd.DataFrame:
    """The plan summary indexed by allocation name (``plan``, ``proportional key``,
    ``no pool``), whether the allocation is the index or a column."""
    frame = summary.set_index("allocation") if "allocation" in summary.columns else summary
    frame = frame.rename(index={label: name for name, label in ALLOCATION_LABELS.items()})
    missing = [a for a in ALLOCATIONS if a not in frame.index]
    if missing:
        raise ValueError(f"plan summary lacks allocation(s) {missing}: {list(frame.index)}")
    return frame


def total_unmet(frame: pd.DataFrame, layout: SummaryLayout) -> pd.Series:
    """Unmet FTE-months over all resources, per row."""
    return frame[list(layout.unmet.values())].sum(axis=1)


def substitute_fte_months(frame: pd.DataFrame, layout: SummaryLayout) -> pd.Series:
    """Unmet FTE-months someone must cover (see :data:`SUBSTITUTE_RESOURCES`), per row."""
    columns = [c for r, c in layout.unmet.items() if r in SUBSTITUTE_RESOURCES]
    return frame[columns].sum(axis=1)


def compared_names(frame: pd.DataFrame) -> list[str]:
    """The compared allocations a summary (indexed by allocation) holds, in the shown order."""
    return [a for a in COMPARED if a in frame.index]


def substitute_table(
    summary: pd.DataFrame, layout: SummaryLayout, settings: ReportSettings
) -> pd.DataFrame:
    """Per compared allocation: unmet staff and special-needs FTE-months, the substitute hours
    they take and their cost in NOK, and the cost avoided against the key and no pool."""
    frame = summary_by_allocation(summary)
    names = compared_names(frame)
    unmet = substitute_fte_months(frame, layout).reindex(names)
    hours = unmet * settings.hours_per_fte_month
    cost = hours * settings.substitute_cost_nok_per_hour
    return pd.DataFrame(
        {
            "allocation": names,
            "allocation_label": [ALLOCATION_LABELS[a] for a in names],
            "unmet_fte_months": unmet.to_numpy(),
            "substitute_hours": hours.to_numpy(),
            "substitute_cost_nok": cost.to_numpy(),
            "avoided_vs_key_nok": (cost[KEY] - cost).to_numpy(),
            "avoided_vs_nothing_nok": (cost[NOTHING] - cost).to_numpy(),
        }
    )


def _measures(
    summary: pd.DataFrame, layout: SummaryLayout, settings: ReportSettings
) -> list[tuple[str, str, ColumnKind, str, pd.Series]]:
    """Every benefit measure per allocation (lower is better): (kind, measure, how written,
    unit, values by allocation)."""
    frame = summary_by_allocation(summary)
    substitute = substitute_table(summary, layout, settings).set_index("allocation")
    rows: list[tuple[str, str, ColumnKind, str, pd.Series]] = [
        ("avoided cost", "Substitute cost", "nok", "NOK", substitute["substitute_cost_nok"]),
        (
            "time saved",
            "Substitute hours to find and book",
            "hours",
            "hours",
            substitute["substitute_hours"],
        ),
    ]
    for resource, column in layout.unmet.items():
        rows.append(
            (
                "higher quality",
                f"Unmet {RESOURCE_LABELS.get(resource, resource)} need",
                "fte",
                UNMET_UNITS.get(resource, "FTE-months"),
                frame[column],
            )
        )
    for norm, column in layout.breach.items():
        rows.append(
            (
                "higher quality",
                f"Breach of the {NORM_LABELS.get(norm, norm)}",
                "fte",
                "kindergarten-months",
                frame[column],
            )
        )
    return rows


def benefits_table(
    summary: pd.DataFrame, layout: SummaryLayout, settings: ReportSettings
) -> pd.DataFrame:
    """One row per benefit: the plan's value, the baseline's (proportional key), doing
    nothing's, and the difference baseline − plan (positive = the plan does better; a
    negative difference is the plan doing worse, said in words in the headline).
    ``kind_of_value`` says how a row's numbers are written (NOK, hours, FTE-months)."""
    records: list[dict[str, Any]] = []
    for kind, measure, value_kind, unit, values in _measures(summary, layout, settings):
        by_allocation = {a: float(cast(float, values[a])) for a in ALLOCATIONS}
        records.append(
            {
                "kind": kind,
                "measure": measure,
                "kind_of_value": value_kind,
                "unit": unit,
                **by_allocation,
                "gain_vs_key": by_allocation[KEY] - by_allocation[PLAN],
                "gain_vs_nothing": by_allocation[NOTHING] - by_allocation[PLAN],
            }
        )
    return pd.DataFrame.from_records(records)


#: How a headline figure is written, by the kind of value: (format, decimals).
_DECIMALS: dict[str, int] = {"nok": 0, "hours": 0, "fte": 1}


def _written(value: float, kind: str) -> str:
    decimals = _DECIMALS.get(kind, 1)
    text = f"{value:,.{decimals}f}".replace(",", "\u00a0")
    return {"nok": f"{text}\u00a0kr", "hours": f"{text}\u00a0h"}.get(kind, text)


def verdict_of(gain: float, kind: str) -> Verdict:
    """Better only when the gain is positive as written (a gain that rounds to 0 is none)."""
    shown = round(gain, _DECIMALS.get(kind, 1))
    return "better" if shown > 0 else ("same" if shown == 0 else "worse")


def why_not_better(
    values: pd.Series, kind: str, what: str, plan_settings: PlanSettingsShown
) -> str:
    """Where the plan is not better than the key on a measure: both figures, and why — the
    trade-off re-solves (equity weight 0, risk-neutral) show which setting costs it; if
    neither, the plan's weights put the legal norms first."""
    plan, key = float(values[PLAN]), float(values[KEY])
    if verdict_of(key - plan, kind) == "same":
        return f"The plan and the key leave the same {what} ({_written(plan, kind)})."
    parts = [
        f"The plan leaves more {what} than the proportional key: {_written(plan, kind)} "
        f"against {_written(key, kind)}."
    ]
    reasons = []
    if EQUITY_0 in values.index and plan_settings.equity_weight > 0:
        alternative = float(values[EQUITY_0])
        if verdict_of(plan - alternative, kind) == "better":
            reasons.append(
                f"Without its equity weight ({plan_settings.equity_weight:g}) the plan would "
                f"leave {_written(alternative, kind)}: the weight moves positions toward "
                "kindergartens with more low-income and minority-language families, which "
                "costs some of the district total."
            )
    if RISK_NEUTRAL in values.index and plan_settings.tail_weight > 0:
        alternative = float(values[RISK_NEUTRAL])
        if verdict_of(plan - alternative, kind) == "better":
            reasons.append(
                f"Without its weight on bad months (tail weight "
                f"{plan_settings.tail_weight:g}) it would leave {_written(alternative, kind)}: "
                "guarding against the worst months costs some of the average."
            )
    if not reasons:
        reasons.append(
            "The plan puts the staffing and pedagogue norms first (weight "
            f"{plan_settings.legal_weight:g} per FTE-month short, against "
            f"{plan_settings.special_needs_weight:g} for § 31/§ 37 hours), so where a norm "
            "needs a position more it gives up some of this."
        )
    parts += reasons
    spend = plan_settings.spend_nok
    if PLAN in spend and KEY in spend and spend[KEY] > spend[PLAN] + 0.5:
        parts.append(
            f"The key also spends {_written(spend[KEY] - spend[PLAN], 'nok')} more than the plan."
        )
    return " ".join(parts)


def benefit_cards(
    summary: pd.DataFrame,
    layout: SummaryLayout,
    settings: ReportSettings,
    plan_settings: PlanSettingsShown | None = None,
) -> list[BenefitCard]:
    """The headline: the three kinds of benefit against the proportional key. A card shows a
    gain only where the plan is better; otherwise it says so, and why."""
    plan_settings = plan_settings or PlanSettingsShown()
    frame = summary_by_allocation(summary)
    names = compared_names(frame)
    substitute = substitute_table(summary, layout, settings).set_index("allocation")
    chosen: list[tuple[str, str, str, str, str, pd.Series]] = [
        (
            "cost",
            "avoided cost",
            "nok",
            "substitute cost avoided against the proportional key",
            "substitute cost",
            substitute["substitute_cost_nok"],
        ),
        (
            "time",
            "time saved",
            "hours",
            "substitute hours that need not be found and booked",
            "substitute hours",
            substitute["substitute_hours"],
        ),
    ]
    if layout.breach:
        chosen.append(
            (
                "quality",
                "higher quality",
                "fte",
                "fewer kindergarten-months in breach (norms and § 31/§ 37 hours)",
                "kindergarten-months in breach",
                frame.loc[names, list(layout.breach.values())].sum(axis=1),
            )
        )
    if "resource_pedagogue" in layout.unmet:
        chosen.append(
            (
                "special-needs",
                "higher quality",
                "fte",
                "more FTE-months of § 31/§ 37 help delivered",
                "§ 31/§ 37 help undelivered (FTE-months)",
                frame.loc[names, layout.unmet["resource_pedagogue"]],
            )
        )
    cards = []
    for key, kind, value_kind, detail, what, values in chosen:
        gain = float(values[KEY]) - float(values[PLAN])
        verdict = verdict_of(gain, value_kind)
        if verdict == "better":
            cards.append(BenefitCard(key, kind, gain, _written(gain, value_kind), detail))
        else:
            cards.append(
                BenefitCard(
                    key,
                    kind,
                    0.0,
                    "no gain" if verdict == "worse" else "no difference",
                    detail,
                    verdict,
                    why_not_better(values, value_kind, what, plan_settings),
                )
            )
    return cards


def trade_off_table(summary: pd.DataFrame, layout: SummaryLayout) -> pd.DataFrame:
    """The plan beside its re-solves at equity weight 0 and risk-neutral: unmet FTE-months per
    resource and in all, kindergarten-months in breach, spend, and what each setting costs in
    unmet FTE-months (the plan's total minus the re-solve's; positive = the setting costs)."""
    frame = summary_by_allocation(summary)
    names = [a for a in (PLAN, *TRADE_OFFS) if a in frame.index]
    rows = frame.loc[names]
    out = pd.DataFrame(
        {"allocation": names, "allocation_label": [ALLOCATION_LABELS[a] for a in names]}
    )
    for column in layout.unmet.values():
        out[column] = rows[column].to_numpy(float)
    total = total_unmet(rows, layout)
    out["unmet_total"] = total.to_numpy(float)
    out["breach_total"] = rows[list(layout.breach.values())].sum(axis=1).to_numpy(float)
    if "cost_nok" in rows.columns:
        out["cost_nok"] = rows["cost_nok"].to_numpy(float)
    out["setting_costs"] = float(total[PLAN]) - total.to_numpy(float)
    return out


def trade_off_sentence(summary: pd.DataFrame, layout: SummaryLayout) -> str:
    """What the plan's fairness and risk settings cost, in one plain sentence."""
    table = trade_off_table(summary, layout).set_index("allocation")
    parts = []
    for name, setting in ((EQUITY_0, "equity weight"), (RISK_NEUTRAL, "weight on bad months")):
        if name not in table.index:
            continue
        cost = cell_value(table, name, "setting_costs")
        if round(cost, 1) > 0:
            parts.append(f"its {setting} costs {cost:,.1f} unmet FTE-months")
        elif round(cost, 1) < 0:
            parts.append(f"its {setting} saves {-cost:,.1f} unmet FTE-months")
        else:
            parts.append(f"its {setting} costs nothing in unmet FTE-months")
    if not parts:
        return ""
    return "Against the plan re-solved without them, " + " and ".join(parts) + "."


def spend_sentence(plan_settings: PlanSettingsShown, budget_text: str) -> str:
    """What each allocation spends, in words, under the same pools (and budget)."""
    spend = plan_settings.spend_nok
    if PLAN not in spend or KEY not in spend:
        return ""
    limit = f" and the same budget ({budget_text})" if budget_text else ""
    return (
        f"Every allocation gets the same pools{limit}, cost per FTE and steps. The plan spends "
        f"{_written(spend[PLAN], 'nok')}, the proportional key {_written(spend[KEY], 'nok')}."
    )


def cell_value(frame: pd.DataFrame, row: str, column: str) -> float:
    """One numeric cell (typed for mypy: pandas-stubs types `.at` as any scalar)."""
    return float(cast(float, frame.at[row, column]))


def _nok(value: float) -> str:
    return f"{value:,.0f}\u00a0kr".replace(",", "\u00a0")


def area_table(district: District, outcomes: pd.DataFrame, layout: SummaryLayout) -> pd.DataFrame:
    """Areas ranked by low-income share (highest first) with expected unmet FTE-months (all
    resources) under each allocation, summed over the area's kindergartens.

    ``outcomes``: one row per kindergarten and allocation with the summary's measure columns.
    An area's low-income share is the mean of its kindergartens' shares in the last month.
    """
    info = kindergarten_info(district)
    unmet = outcomes.assign(unmet_total=total_unmet(outcomes, layout))
    wide = unmet.pivot_table(
        index=KINDERGARTEN_ID, columns="allocation", values="unmet_total", aggfunc="sum"
    )
    # only kindergartens in the plan (one closed before the period has no outcome)
    merged = info.merge(wide, left_on=KINDERGARTEN_ID, right_index=True, how="inner")
    grouped = merged.groupby(AREA).agg(
        kindergartens=(KINDERGARTEN_ID, "size"),
        low_income_share=("low_income_share", "mean"),
        **{a: (a, "sum") for a in ALLOCATIONS if a in merged.columns},
    )
    grouped = grouped.sort_values("low_income_share", ascending=False, na_position="last")
    grouped.insert(0, "rank", range(1, len(grouped) + 1))
    grouped["gain_vs_key"] = grouped[KEY] - grouped[PLAN]
    return grouped.reset_index()


def district_breakdown(
    district: District, outcomes: pd.DataFrame, layout: SummaryLayout
) -> pd.DataFrame:
    """Per district (bydel): kindergartens and expected unmet FTE-months (all resources) under
    each allocation, with the gain against the key — the city's "per district" level."""
    unmet = outcomes.assign(unmet_total=total_unmet(outcomes, layout))
    wide = unmet.pivot_table(
        index=KINDERGARTEN_ID, columns="allocation", values="unmet_total", aggfunc="sum"
    )
    names = district.kindergartens.set_index(KINDERGARTEN_ID)["district"]
    merged = wide.join(names, how="inner")
    grouped = merged.groupby("district").agg(
        kindergartens=(PLAN, "size"), **{a: (a, "sum") for a in ALLOCATIONS if a in merged}
    )
    grouped["gain_vs_key"] = grouped[KEY] - grouped[PLAN]
    return grouped.reset_index()


def kindergarten_info(district: District) -> pd.DataFrame:
    """Name, area, capacity and the last month's decisions and low-income share per
    kindergarten (the report's per-kindergarten context)."""
    kg = district.kindergartens
    columns = [KINDERGARTEN_ID, "name", "capacity"]
    info = kg[columns].copy()
    info[AREA] = kg[AREA].fillna("(no area)") if AREA in kg.columns else "(no area)"
    last = district.monthly.sort_values("month").groupby(KINDERGARTEN_ID).tail(1)
    for column in ("vedtak_31", "vedtak_37", "low_income_share"):
        values = last.set_index(KINDERGARTEN_ID)[column] if column in last.columns else None
        info[column] = info[KINDERGARTEN_ID].map(values) if values is not None else float("nan")
    return info


def kindergarten_table(
    district: District, lines: pd.DataFrame, outcomes: pd.DataFrame, layout: SummaryLayout
) -> pd.DataFrame:
    """One row per kindergarten: area, decisions (suppressed when shown), the plan's change per
    resource and expected unmet FTE-months and breach months under each allocation."""
    info = kindergarten_info(district)
    change = lines.pivot_table(
        index=KINDERGARTEN_ID, columns="resource", values="change_fte", aggfunc="sum"
    ).add_prefix("change_")
    unmet = outcomes.assign(
        unmet_total=total_unmet(outcomes, layout),
        breach_total=outcomes[list(layout.breach.values())].sum(axis=1),
    )
    wide = unmet.pivot_table(
        index=KINDERGARTEN_ID,
        columns="allocation",
        values=["unmet_total", "breach_total"],
        aggfunc="sum",
    )
    wide.columns = [f"{pair[0]}:{pair[1]}" for pair in wide.columns]
    table = info.merge(change, left_on=KINDERGARTEN_ID, right_index=True, how="left")
    table = table.merge(wide, left_on=KINDERGARTEN_ID, right_index=True, how="inner")
    return table.sort_values(
        ["low_income_share", KINDERGARTEN_ID],
        ascending=[False, True],
        na_position="last",
        ignore_index=True,
    )


def summary_columns(summary: pd.DataFrame, layout: SummaryLayout) -> tuple[Column, ...]:
    """Labels for the plan summary's own columns, in its own order (``allocation_label`` is
    the allocation's display name, added by the caller)."""
    columns = [Column("allocation_label", "allocation")]
    for resource, column in layout.unmet.items():
        columns.append(
            Column(
                column,
                f"unmet {RESOURCE_LABELS.get(resource, resource)} "
                f"{UNMET_UNITS.get(resource, 'FTE-months')}",
                "fte",
            )
        )
    for norm, column in layout.breach.items():
        columns.append(
            Column(column, f"kindergarten-months in breach: {NORM_LABELS.get(norm, norm)}", "fte")
        )
    known = {*layout.unmet.values(), *layout.breach.values(), "allocation", "allocation_label"}
    for column in map(str, summary.columns):
        if column in known or not pd.api.types.is_numeric_dtype(summary[column]):
            continue
        kind: ColumnKind = "nok" if column.endswith("_nok") else "fte"
        label = re.sub(r"^extra_(.*)_fte$", r"extra \1 FTE", column).replace("_", " ")
        if column == "weighted_unmet":
            label = "weighted unmet need (objective)"
        elif column == "cost_nok":
            label = "cost of the extra FTE"
        columns.append(Column(column, label, kind))
    return tuple(columns)
