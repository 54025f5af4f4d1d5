"""Put the benefit report together from a plan result, its per-kindergarten outcomes, the
champion's backtest metrics and the options the user gave."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from data.contract import AREA, District
from serving.report import figures
from serving.report.numbers import (
    ALLOCATION_LABELS,
    ALLOCATIONS,
    KEY,
    NOTHING,
    PLAN,
    BenefitReport,
    OptionShown,
    PlanSettingsShown,
    ReportSection,
    ReportSettings,
    SummaryLayout,
    area_table,
    benefit_cards,
    benefits_table,
    compared_names,
    district_breakdown,
    kindergarten_table,
    spend_sentence,
    substitute_table,
    summary_by_allocation,
    summary_columns,
    trade_off_sentence,
    trade_off_table,
)
from serving.report.tables import Column, ReportTable
from training.evaluation import MEASURE_LABELS, forecast_quality_summary


def build_benefit_report(
    district: District,
    plan: Any,
    *,
    outcomes: pd.DataFrame,
    model_version: str,
    model_run_id: str | None = None,
    backtest_metrics: pd.DataFrame | None = None,
    options: Sequence[OptionShown] = (),
    settings: ReportSettings | None = None,
    with_figures: bool = True,
    extra_sections: Sequence[ReportSection] = (),
) -> BenefitReport:
    """Everything the report shows, from the objects ``bemanning plan`` prints.

    ``plan`` is a ``serving.planning.PlanResult`` (``plan_id``, ``header``, ``lines``,
    ``summary``, ``simulated``); ``outcomes`` has one row per kindergarten and allocation with the
    summary's measure columns (it adds up to the summary). ``extra_sections`` are sections
    other modules add (e.g. the evidence from decision backtests), shown after the forecast
    quality.
    """
    settings = settings or ReportSettings()
    summary: pd.DataFrame = plan.summary
    layout = SummaryLayout.of(summary)
    header: dict[str, Any] = dict(getattr(plan, "header", {}) or {})
    simulated = bool(getattr(plan, "simulated", False) or district.simulated)
    by_allocation = summary_by_allocation(summary)

    plan_settings = PlanSettingsShown.of(header)
    district_frame = by_allocation.reindex(compared_names(by_allocation)).reset_index(
        names="allocation"
    )
    district_frame.insert(
        1, "allocation_label", district_frame["allocation"].map(ALLOCATION_LABELS)
    )
    columns = summary_columns(district_frame, layout)
    need_keys = {"allocation_label", *layout.unmet.values(), *layout.breach.values()}
    district_table = ReportTable(
        "district-summary",
        "Expected unmet need and norm breaches over the scenarios, whole district",
        tuple(c for c in columns if c.key in need_keys),
        district_frame,
        highlight_rows=(0,),
        note="Rows: the optimised plan; the plan re-solved without its equity weight and "
        "without its weight on bad months (what those settings cost); the proportional key "
        "(the baseline) under the same pools and budget; no pool (nothing extra given out).",
    )
    spend_table = ReportTable(
        "district-spend",
        "What each allocation gives out and spends",
        tuple(c for c in columns if c.key == "allocation_label" or c.key not in need_keys),
        district_frame,
        highlight_rows=(0,),
        note="Spend: extra FTE × cost per FTE over the plan period. The weighted unmet need is "
        "what the plan minimises (norms weighted above § 31/§ 37 hours, and the equity and "
        "tail weights), so the plan is lowest there by construction.",
    )
    trade_offs = trade_off_table(summary, layout)
    trade_columns = [Column("allocation_label", "allocation")]
    trade_columns += [c for c in columns if c.key in layout.unmet.values()]
    trade_columns += [
        Column("unmet_total", "unmet FTE-months in all", "fte"),
        Column("breach_total", "kindergarten-months in breach", "fte"),
    ]
    if "cost_nok" in trade_offs.columns:
        trade_columns.append(Column("cost_nok", "spend", "nok"))
    trade_columns.append(Column("setting_costs", "what the setting costs (FTE-months)", "fte"))
    trade_offs_tbl = ReportTable(
        "trade-offs-table",
        "What the plan's fairness and risk settings cost",
        tuple(trade_columns),
        trade_offs,
        highlight_rows=(0,),
        note="Each re-solve keeps the plan's pools, budget, cost per FTE, steps, pins and "
        "scenarios and drops one setting. What the setting costs = the plan's unmet "
        "FTE-months in all minus the re-solve's.",
    )
    benefits = benefits_table(summary, layout, settings)
    benefits_tbl = ReportTable(
        "benefits-table",
        "Benefits: the plan against the proportional key and no pool",
        (
            Column("kind", "benefit"),
            Column("measure", "measure"),
            Column("unit", "unit"),
            Column(PLAN, "plan", "by_row"),
            Column(KEY, "proportional key (baseline)", "by_row"),
            Column(NOTHING, "no pool", "by_row"),
            Column("gain_vs_key", "key minus plan", "by_row"),
            Column("gain_vs_nothing", "no pool minus plan", "by_row"),
        ),
        benefits,
        note="Differences: baseline − plan; positive means the plan does better, negative "
        "that it does worse (the headline says why).",
    )
    substitute = substitute_table(summary, layout, settings)
    substitute_tbl = ReportTable(
        "substitute-table",
        "Substitute hours and cost by allocation",
        (
            Column("allocation_label", "allocation"),
            Column("unmet_fte_months", "unmet staff + special-needs FTE-months", "fte"),
            Column("substitute_hours", "substitute hours", "hours"),
            Column("substitute_cost_nok", "substitute cost", "nok"),
            Column("avoided_vs_key_nok", "key minus this", "nok"),
            Column("avoided_vs_nothing_nok", "no pool minus this", "nok"),
        ),
        substitute,
        highlight_rows=(0,),
    )
    areas = area_table(district, outcomes, layout)
    areas_tbl = ReportTable(
        "areas-table",
        "Areas ranked by low-income share (highest first)",
        (
            Column("rank", "rank", "count"),
            Column(AREA, "area"),
            Column("kindergartens", "kindergartens", "count"),
            Column("low_income_share", "low-income share", "share"),
            Column(PLAN, "unmet FTE-months: plan", "fte"),
            Column(KEY, "unmet: proportional key", "fte"),
            Column(NOTHING, "unmet: no pool", "fte"),
            Column("gain_vs_key", "key minus plan", "fte"),
        ),
        areas,
    )
    kindergartens = kindergarten_table(district, plan.lines, outcomes, layout)
    kg_columns = [
        Column("name", "kindergarten"),
        Column(AREA, "area"),
        Column("capacity", "places", "count"),
        Column("low_income_share", "low-income share", "share"),
        Column("vedtak_31", "§ 31 decisions", "decisions"),
        Column("vedtak_37", "§ 37 decisions", "decisions"),
    ]
    kg_columns += [
        Column(f"change_{r}", f"change {r.replace('_', ' ')} FTE", "fte")
        for r in layout.unmet
        if f"change_{r}" in kindergartens.columns
    ]
    kg_columns += [
        Column(f"unmet_total:{a}", f"unmet FTE-months: {ALLOCATION_LABELS[a]}", "fte")
        for a in ALLOCATIONS
    ]
    if layout.breach:
        kg_columns += [
            Column(f"breach_total:{a}", f"breach months: {ALLOCATION_LABELS[a]}", "fte")
            for a in (PLAN, KEY)
        ]
    kindergartens_tbl = ReportTable(
        "kindergartens-table",
        "Per kindergarten (sorted by low-income share, highest first)",
        tuple(kg_columns),
        kindergartens,
        note='Decisions: the last month of data; counts under 5 are shown as "<5".',
    )
    quality_tbl = _quality_table(backtest_metrics)
    fingerprint = str(header.get("data_fingerprint") or district.fingerprint())
    provenance = [
        ("District", _district_name(district)),
        (
            "Data",
            "SIMULATED — " + (district.source or "simulated district")
            if simulated
            else (district.source or "district data"),
        ),
        ("Data fingerprint", fingerprint),
        ("Model", f"bemanning-needs version {model_version}"),
        ("MLflow run", model_run_id or "–"),
        ("Plan id", str(plan.plan_id)),
        ("Kindergartens", str(len(district.kindergartens))),
        ("Months of data", f"{district.first_month} – {district.last_month}"),
    ]
    options_tbl = ReportTable(
        "options-table",
        "Plan and report options",
        (Column("option", "option"), Column("value", "value"), Column("source", "source")),
        pd.DataFrame(
            [
                {
                    "option": o.option,
                    "value": o.value,
                    "source": "given" if o.given else "default (not given)",
                }
                for o in options
            ],
            columns=["option", "value", "source"],
        ),
    )
    report = BenefitReport(
        district_name=_district_name(district),
        simulated=simulated,
        plan_id=str(plan.plan_id),
        period_label=_period_label(plan.lines, header),
        model_version=model_version,
        data_fingerprint=fingerprint,
        settings=settings,
        summary=summary,
        layout=layout,
        benefit_cards=benefit_cards(summary, layout, settings, plan_settings),
        benefits=benefits_tbl,
        district=district_table,
        spend=spend_table,
        trade_offs=trade_offs_tbl,
        substitute=substitute_tbl,
        areas=areas_tbl,
        kindergartens=kindergartens_tbl,
        forecast_quality=quality_tbl,
        options=options_tbl,
        provenance=provenance,
        method_notes=method_notes(settings),
        budget_text=_budget_text(header),
        engine_version=_engine_version(),
        extra_sections=list(extra_sections),
        spend_text=spend_sentence(plan_settings, _budget_text(header)),
        trade_off_text=trade_off_sentence(summary, layout),
    )
    if district.kindergartens["district"].nunique() > 1:
        report.per_district = ReportTable(
            "districts-table",
            "Per district (bydel)",
            (
                Column("district", "district"),
                Column("kindergartens", "kindergartens", "count"),
                Column(PLAN, "unmet FTE-months: plan", "fte"),
                Column(KEY, "unmet: proportional key", "fte"),
                Column(NOTHING, "unmet: no pool", "fte"),
                Column("gain_vs_key", "key minus plan", "fte"),
            ),
            district_breakdown(district, outcomes, layout),
        )
    if with_figures:
        report.figures = report_figures(by_allocation, layout, areas, simulated=simulated)
    return report


def report_figures(
    by_allocation: pd.DataFrame, layout: SummaryLayout, areas: pd.DataFrame, *, simulated: bool
) -> dict[str, str]:
    """The two inline charts: unmet need per resource by allocation, and per area."""
    unmet = by_allocation.loc[list(ALLOCATIONS), list(layout.unmet.values())].T
    unmet.index = [r.replace("_", " ") for r in layout.unmet]
    unmet.columns = [ALLOCATION_LABELS[a] for a in ALLOCATIONS]
    district_png = figures.figure_to_data_uri(
        figures.grouped_bars(
            unmet,
            title="Expected unmet FTE-months by resource",
            ylabel="FTE-months",
            simulated=simulated,
        )
    )
    per_area = areas.set_index(AREA)[[a for a in ALLOCATIONS if a in areas.columns]]
    per_area.columns = [ALLOCATION_LABELS[a] for a in per_area.columns]
    areas_png = figures.figure_to_data_uri(
        figures.grouped_bars(
            per_area,
            title="Unmet FTE-months per area (highest low-income share left)",
            ylabel="FTE-months",
            simulated=simulated,
        )
    )
    return {"district": district_png, "areas": areas_png}


def _quality_table(metrics: pd.DataFrame | None) -> ReportTable | None:
    if metrics is None or metrics.empty:
        return None
    quality = forecast_quality_summary(metrics)
    quality["kind_of_value"] = [
        "share" if measure == MEASURE_LABELS["wape"] else "ratio" for measure in quality["measure"]
    ]
    return ReportTable(
        "forecast-quality-table",
        "Backtest of the champion against the best baseline",
        (
            Column("target", "target"),
            Column("measure", "measure (lower is better)"),
            Column("model_value", "model", "by_row"),
            Column("baseline_value", "best baseline", "by_row"),
            Column("ratio", "ratio (model / best baseline)", "ratio"),
            Column("model_coverage_80", "80 % interval coverage: model", "share"),
            Column("baseline_coverage_80", "80 % coverage: best baseline", "share"),
        ),
        quality,
        note="Best baseline: at each horizon the better of seasonal naive and last value on the "
        "measure. Staff leavers and § 37 decisions are zero in most months, so a median of 0 "
        "says nothing: they are read by the mean absolute error of the expected number. Pooled "
        "over horizons 1–12, each horizon weighted by its number of scored rows.",
    )


def method_notes(settings: ReportSettings) -> list[str]:
    return [
        "Expected values are means over the forecast scenarios of the plan (the same scenarios "
        "`bemanning plan` optimises and summarises); district figures are the plan summary "
        "itself, per-area and per-kindergarten figures add up to it.",
        "Baseline (nullpunkt): the proportional key spreads the same pools in proportion to "
        "today's keys (children; § 31 + § 37 decisions for resource pedagogues); where only the "
        "budget limits a resource it spreads what the plan used of it, and when the pools cost "
        "more than the budget every pool shrinks by the same share until the key fits it. "
        "'No pool' gives nothing extra. Each allocation's spend is shown beside it.",
        "Trade-offs: the plan re-solved with equity weight 0 and risk-neutral (no weight on "
        "the worst months), everything else the same, shows what those settings cost in unmet "
        "FTE-months.",
        "Substitute hours count unmet staff FTE-months (effective, after sick leave) and unmet "
        "special-needs FTE-months; the pedagogue shortfall is whole positions on paper whose "
        "hours are already in the staff shortfall, so it counts as a norm breach, not as "
        "substitute hours.",
        f"Substitute hours = those FTE-months × {settings.hours_per_fte_month:.1f} h "
        f"({settings.hours_per_week_per_fte:g} h a week × 52 / 12); substitute cost = hours × "
        f"{settings.substitute_cost_nok_per_hour:,.0f} NOK per hour "
        + (
            "(given)."
            if settings.substitute_cost_given
            else "(default assumption: an "
            "assistant's hourly pay with holiday pay, pension and employer's tax)."
        ),
        "Unmet special-needs FTE-months are § 31/§ 37 hours of help not covered by resource "
        "pedagogues (5 h a week per § 31 and 3 h per § 37 decision unless the data hold hours).",
        "Time saved counts substitute hours that need not be found and booked; higher quality "
        "counts kindergarten-months in breach of a norm and special-needs help delivered.",
        'Counts of § 31/§ 37 decisions below 5 are suppressed ("<5"): this report is internal.',
    ]


def _district_name(district: District) -> str:
    names = sorted(district.kindergartens["district"].dropna().astype(str).unique())
    return ", ".join(names) if len(names) <= 2 else f"{len(names)} districts"


def _period_label(lines: pd.DataFrame, header: dict[str, Any]) -> str:
    if "period" in lines.columns and len(lines):
        periods = sorted(map(str, lines["period"].unique()))
        return periods[0] if len(periods) == 1 else f"{periods[0]} – {periods[-1]}"
    return str(header.get("period", ""))


def _budget_text(header: dict[str, Any]) -> str:
    budget = header.get("budget_nok")
    if budget is None:
        return ""
    return f"{float(budget):,.0f} kr".replace(",", "\u00a0")


def _engine_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bemanning")
    except PackageNotFoundError:
        return "dev"
