"""Put the benefit report together from a plan result, its per-kindergarten outcomes, the
champion's backtest metrics and the options the user gave."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from data.contract import AREA, District
from serving.report import figures
from serving.report.benefits import (
    benefit_cards,
    benefits_table,
    spend_sentence,
    substitute_table,
    trade_off_sentence,
    trade_off_table,
    worse_measures,
)
from serving.report.forecast_quality import quality_table
from serving.report.numbers import (
    ALLOCATIONS,
    FTE_MONTHS,
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
    compared_names,
    district_breakdown,
    kindergarten_table,
    summary_by_allocation,
    summary_columns,
)
from serving.report.tables import Column, ReportTable
from serving.report.wording import (
    DEFAULT_LANGUAGE,
    allocation_word,
    month_name,
    report_words,
    resource_word,
    written,
)
from serving.words import column_word


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
    language: str = DEFAULT_LANGUAGE,
) -> BenefitReport:
    """Everything the report shows, from the objects ``bemanning plan`` prints, in
    ``language`` (bokmål by default).

    ``plan`` is a ``serving.planning.PlanResult`` (``plan_id``, ``header``, ``lines``,
    ``summary``, ``simulated``); ``outcomes`` has one row per kindergarten and allocation with the
    summary's measure columns (it adds up to the summary). ``extra_sections`` are sections
    other modules add (e.g. the evidence from decision backtests), shown after the forecast
    quality.
    """
    _ = report_words(language)
    settings = settings or ReportSettings()
    summary: pd.DataFrame = plan.summary
    layout = SummaryLayout.of(summary)
    header: dict[str, Any] = dict(getattr(plan, "header", {}) or {})
    simulated = bool(getattr(plan, "simulated", False) or district.simulated)
    by_allocation = summary_by_allocation(summary)

    def table(
        html_id: str,
        caption: str,
        columns: Sequence[Column],
        frame: pd.DataFrame,
        *,
        note: str = "",
        highlight_rows: tuple[int, ...] = (),
    ) -> ReportTable:
        return ReportTable(
            html_id,
            caption,
            tuple(columns),
            frame,
            note=note,
            highlight_rows=highlight_rows,
            language=language,
        )

    allocation_column = Column("allocation_label", column_word(language, "allocation"))
    plan_word = allocation_word(language, PLAN)
    key_word = allocation_word(language, KEY)
    nothing_word = allocation_word(language, NOTHING)
    key_minus_plan = _("%(key)s minus the plan", key=key_word)
    plan_settings = PlanSettingsShown.of(header)
    district_frame = by_allocation.reindex(compared_names(by_allocation)).reset_index(
        names="allocation"
    )
    district_frame.insert(
        1,
        "allocation_label",
        [allocation_word(language, a) for a in district_frame["allocation"]],
    )
    columns = summary_columns(district_frame, layout, language)
    need_keys = {"allocation_label", *layout.unmet.values(), *layout.breach.values()}
    district_table = table(
        "district-summary",
        _("Expected unmet need and norm breaches over the scenarios, whole district"),
        [c for c in columns if c.key in need_keys],
        district_frame,
        highlight_rows=(0,),
        note=_(
            "Rows: the optimised plan; the plan re-solved without its equity weight and without "
            "its weight on bad months (what those settings cost); the allocation key (the "
            "baseline) under the same pools and budget; no extra resources."
        ),
    )
    spend_table = table(
        "district-spend",
        _("What each allocation gives out and spends"),
        [c for c in columns if c.key == "allocation_label" or c.key not in need_keys],
        district_frame,
        highlight_rows=(0,),
        note=_(
            "Spend: extra FTE × cost per FTE over the plan period. The weighted unmet need is "
            "what the plan minimises (norms weighted above § 31/§ 37 hours, and the equity and "
            "tail weights), so the plan is lowest there by construction."
        ),
    )
    trade_offs = trade_off_table(summary, layout, language)
    trade_columns = [allocation_column]
    trade_columns += [c for c in columns if c.key in layout.unmet.values()]
    trade_columns += [
        Column("unmet_total", _("Unmet FTE-months in all"), "fte"),
        Column("breach_total", _("Kindergarten-months in breach"), "fte"),
    ]
    if "cost_nok" in trade_offs.columns:
        trade_columns.append(Column("cost_nok", _("Spend"), "nok"))
    trade_columns.append(
        Column("setting_costs", _("What the setting costs (FTE-months)"), "fte", signed=True)
    )
    trade_offs_tbl = table(
        "trade-offs-table",
        _("What the plan's fairness and risk settings cost"),
        trade_columns,
        trade_offs,
        highlight_rows=(0,),
        note=_(
            "Each re-solve keeps the plan's pools, budget, cost per FTE, steps, pins and "
            "scenarios and drops one setting. What the setting costs = the plan's unmet "
            "FTE-months in all minus the re-solve's."
        ),
    )
    benefits = benefits_table(summary, layout, settings, language)
    benefits_tbl = table(
        "benefits-table",
        _("Benefits: the plan against the allocation key and no extra resources"),
        (
            Column("kind", _("Benefit")),
            Column("measure", _("Measure")),
            Column("unit", _("Unit")),
            Column(PLAN, plan_word, "by_row"),
            Column(KEY, _("%(key)s (baseline)", key=key_word), "by_row"),
            Column(NOTHING, nothing_word, "by_row"),
            Column("gain_vs_key", key_minus_plan, "by_row", signed=True),
            Column(
                "gain_vs_nothing",
                _("%(none)s minus the plan", none=nothing_word),
                "by_row",
                signed=True,
            ),
        ),
        benefits,
        note=_(
            "Differences: baseline − plan; positive means the plan does better, negative that "
            "it does worse (said in words below the table, with the reason)."
        ),
    )
    substitute = substitute_table(summary, layout, settings, language)
    substitute_tbl = table(
        "substitute-table",
        _("Substitute hours and cost by allocation"),
        (
            allocation_column,
            Column("unmet_fte_months", _("Unmet staff and § 31/§ 37 FTE-months"), "fte"),
            Column("substitute_hours", _("Substitute hours"), "hours"),
            Column("substitute_cost_nok", _("Substitute cost"), "nok"),
            Column("avoided_vs_key_nok", _("%(key)s minus this", key=key_word), "nok", signed=True),
            Column(
                "avoided_vs_nothing_nok",
                _("%(none)s minus this", none=nothing_word),
                "nok",
                signed=True,
            ),
        ),
        substitute,
        highlight_rows=(0,),
    )
    unmet_group = _("Unmet FTE-months")
    unmet_columns = [
        Column(a, allocation_word(language, a), "fte", group=unmet_group) for a in ALLOCATIONS
    ]
    gain_column = Column("gain_vs_key", key_minus_plan, "fte", signed=True)
    areas = area_table(district, outcomes, layout, language)
    areas_tbl = table(
        "areas-table",
        _("Areas ranked by low-income share (highest first)"),
        (
            Column("rank", _("Rank"), "count"),
            Column(AREA, _("Area")),
            Column("kindergartens", _("Kindergartens"), "count"),
            Column("low_income_share", _("Low-income share"), "share"),
            *unmet_columns,
            gain_column,
        ),
        areas,
    )
    kindergartens = kindergarten_table(district, plan.lines, outcomes, layout, language)
    kg_columns = [
        Column("name", _("Kindergarten")),
        Column(AREA, _("Area")),
        Column("capacity", _("Places"), "count"),
        Column("low_income_share", _("Low-income share"), "share"),
        Column("vedtak_31", _("§ 31 decisions"), "decisions"),
        Column("vedtak_37", _("§ 37 decisions"), "decisions"),
    ]
    kg_columns += [
        Column(
            f"change_{r}",
            resource_word(language, r),
            "fte",
            group=_("Change (FTE)"),
            signed=True,
        )
        for r in layout.unmet
        if f"change_{r}" in kindergartens.columns
    ]
    kg_columns += [
        Column(f"unmet_total:{a}", allocation_word(language, a), "fte", group=unmet_group)
        for a in (PLAN, KEY)  # no extra resources: in the district and area tables
    ]
    if layout.breach:
        kg_columns += [
            Column(
                f"breach_total:{a}",
                allocation_word(language, a),
                "fte",
                group=_("Months in breach"),
            )
            for a in (PLAN, KEY)
        ]
    kindergartens_tbl = table(
        "kindergartens-table",
        _("Per kindergarten (sorted by low-income share, highest first)"),
        kg_columns,
        kindergartens,
        note=_('Decisions: the last month of data; counts under 5 are shown as "<5".'),
    )
    quality_tbl, quality_text = quality_table(backtest_metrics, language)
    fingerprint = str(header.get("data_fingerprint") or district.fingerprint())
    source = district.source or (_("simulated district") if simulated else _("district data"))
    provenance = [
        (_("District"), _district_name(district, language)),
        (_("Data"), _("SIMULATED — %(source)s", source=source) if simulated else source),
        (_("Data fingerprint"), fingerprint),
        (_("Model"), _("bemanning-needs version %(version)s", version=model_version)),
        (_("MLflow run"), model_run_id or "–"),
        (_("Plan"), str(plan.plan_id)),
        (_("Kindergartens"), written(len(district.kindergartens), "count", language)),
        (
            _("Months of data"),
            f"{month_name(district.first_month, language)} – "
            f"{month_name(district.last_month, language)}",
        ),
    ]
    options_tbl = table(
        "options-table",
        _("Plan and report options"),
        (Column("option", _("Option")), Column("value", _("Value")), Column("source", _("Source"))),
        pd.DataFrame(
            [
                {
                    "option": o.label or o.option,
                    "value": o.value,
                    "source": _("given") if o.given else _("default (not given)"),
                }
                for o in options
            ],
            columns=["option", "value", "source"],
        ),
    )
    budget = _budget_text(header, language)
    report = BenefitReport(
        district_name=_district_name(district, language),
        simulated=simulated,
        plan_id=str(plan.plan_id),
        period_label=_period_label(plan.lines, header, language),
        model_version=model_version,
        data_fingerprint=fingerprint,
        settings=settings,
        summary=summary,
        layout=layout,
        benefit_cards=benefit_cards(summary, layout, settings, plan_settings, language),
        benefits=benefits_tbl,
        district=district_table,
        spend=spend_table,
        trade_offs=trade_offs_tbl,
        substitute=substitute_tbl,
        areas=areas_tbl,
        kindergartens=kindergartens_tbl,
        forecast_quality=quality_tbl,
        forecast_quality_text=quality_text,
        options=options_tbl,
        provenance=provenance,
        method_notes=method_notes(settings, language),
        budget_text=budget,
        engine_version=_engine_version(),
        extra_sections=list(extra_sections),
        spend_text=spend_sentence(plan_settings, budget, language),
        trade_off_text=trade_off_sentence(summary, layout, language),
        worse_texts=worse_measures(summary, layout, settings, plan_settings, language),
        language=language,
    )
    if district.kindergartens["district"].nunique() > 1:
        report.per_district = table(
            "districts-table",
            _("Per district (bydel)"),
            (
                Column("district", _("District")),
                Column("kindergartens", _("Kindergartens"), "count"),
                *unmet_columns,
                gain_column,
            ),
            district_breakdown(district, outcomes, layout),
        )
    if with_figures:
        report.figures = report_figures(
            by_allocation, layout, areas, simulated=simulated, language=language
        )
    return report


def report_figures(
    by_allocation: pd.DataFrame,
    layout: SummaryLayout,
    areas: pd.DataFrame,
    *,
    simulated: bool,
    language: str = DEFAULT_LANGUAGE,
) -> dict[str, str]:
    """The two inline charts: unmet need per resource by allocation, and per area."""
    _ = report_words(language)
    unmet = by_allocation.loc[list(ALLOCATIONS), list(layout.unmet.values())].T
    unmet.index = [resource_word(language, r) for r in layout.unmet]
    unmet.columns = list(ALLOCATIONS)
    district_png = figures.figure_to_data_uri(
        figures.grouped_bars(
            unmet,
            title=_("Expected unmet FTE-months by resource"),
            ylabel=_(FTE_MONTHS),
            simulated_label=_("simulated") if simulated else "",
            series_labels={a: allocation_word(language, a) for a in ALLOCATIONS},
        )
    )
    per_area = areas.set_index(AREA)[[a for a in ALLOCATIONS if a in areas.columns]]
    areas_png = figures.figure_to_data_uri(
        figures.grouped_bars(
            per_area,
            title=_("Unmet FTE-months per area (highest low-income share left)"),
            ylabel=_(FTE_MONTHS),
            simulated_label=_("simulated") if simulated else "",
            series_labels={a: allocation_word(language, a) for a in ALLOCATIONS},
        )
    )
    return {"district": district_png, "areas": areas_png}


def method_notes(settings: ReportSettings, language: str = DEFAULT_LANGUAGE) -> list[str]:
    _ = report_words(language)
    hours = {
        "hours": written(settings.hours_per_fte_month, "fte", language),
        "week": written(settings.hours_per_week_per_fte, "fte", language),
        "cost": written(settings.substitute_cost_nok_per_hour, "nok", language),
    }
    return [
        _(
            "Expected values are means over the forecast scenarios of the plan (the same "
            "scenarios the plan is optimised over and summarised on); district figures are the "
            "plan summary itself, per-area and per-kindergarten figures add up to it."
        ),
        _(
            "Baseline (nullpunkt): the allocation key spreads the same pools in proportion to "
            "today's keys (children; § 31 and § 37 decisions for resource pedagogues); where only "
            "the budget limits a resource it spreads what the plan used of it, and when the "
            "pools cost more than the budget every pool shrinks by the same share until the key "
            "fits it. No extra resources gives nothing extra. Each allocation's spend is shown "
            "beside it."
        ),
        _(
            "Trade-offs: the plan re-solved with equity weight 0 and risk-neutral (no weight on "
            "the worst months), everything else the same, shows what those settings cost in "
            "unmet FTE-months."
        ),
        _(
            "Substitute hours count unmet staff FTE-months (effective, after sick leave) and "
            "unmet § 31/§ 37 FTE-months; the pedagogue shortfall is whole positions on paper "
            "whose hours are already in the staff shortfall, so it counts as a norm breach, not "
            "as substitute hours."
        ),
        (
            _(
                "Substitute hours = those FTE-months × %(hours)s hours (%(week)s hours a week × "
                "52 / 12); substitute cost = hours × %(cost)s per hour (given).",
                **hours,
            )
            if settings.substitute_cost_given
            else _(
                "Substitute hours = those FTE-months × %(hours)s hours (%(week)s hours a week × "
                "52 / 12); substitute cost = hours × %(cost)s per hour (default assumption: an "
                "assistant's hourly pay with holiday pay, pension and employer's tax).",
                **hours,
            )
        ),
        _(
            "Unmet § 31/§ 37 FTE-months are hours of help children with decisions have a right "
            "to that resource pedagogues do not cover (5 hours a week per § 31 and 3 hours per "
            "§ 37 decision unless the data hold hours)."
        ),
        _(
            "Time saved counts substitute hours that need not be found and booked; higher "
            "quality counts kindergarten-months in breach of a norm and § 31/§ 37 help "
            "delivered."
        ),
        _('Counts of § 31/§ 37 decisions below 5 are suppressed ("<5"): this report is internal.'),
    ]


def _district_name(district: District, language: str = DEFAULT_LANGUAGE) -> str:
    names = sorted(district.kindergartens["district"].dropna().astype(str).unique())
    if len(names) <= 2:
        return ", ".join(names)
    _ = report_words(language)
    return _("%(n)s districts", n=len(names))


def _period_label(lines: pd.DataFrame, header: dict[str, Any], language: str) -> str:
    """The plan period in words: "august 2025 – juli 2026"."""
    text = ""
    if "period" in lines.columns and len(lines):
        periods = sorted(map(str, lines["period"].unique()))
        text = periods[0] if len(periods) == 1 else f"{periods[0]} – {periods[-1]}"
    else:
        text = str(header.get("period", ""))
    months = list(dict.fromkeys(re.findall(r"\d{4}-\d{2}", text)))
    if len(months) == 2:
        return f"{month_name(months[0], language)} – {month_name(months[1], language)}"
    return month_name(months[0], language) if len(months) == 1 else text


def _budget_text(header: dict[str, Any], language: str) -> str:
    budget = header.get("budget_nok")
    if budget is None:
        return ""
    return written(float(budget), "nok", language)


def _engine_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bemanning")
    except PackageNotFoundError:
        return "dev"
