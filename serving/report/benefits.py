"""The benefit report's judgements, from the plan's summary table (:mod:`serving.report.numbers`):
the benefits table and its cards (avoided cost, time saved, higher quality against the key on the
same pools), each measure where the plan does worse and why, the trade-offs and the spend
sentence. Every figure is a difference of two summary cells, so the report and ``bemanning plan``
cannot disagree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from models.allocation.comparison import (
    EQUITY_0,
    KEY,
    NOTHING,
    PLAN,
    RISK_NEUTRAL,
    TRADE_OFFS,
)
from serving.report.tables import ColumnKind
from serving.report.wording import (
    DECIMALS,
    DEFAULT_LANGUAGE,
    allocation_word,
    norm_word,
    report_words,
    resource_word,
    written,
)

if TYPE_CHECKING:
    pass
from serving.report.numbers import (
    ALLOCATIONS,
    AVOIDED_COST,
    FTE_MONTHS,
    HIGHER_QUALITY,
    TIME_SAVED,
    UNMET_UNIT,
    BenefitCard,
    PlanSettingsShown,
    ReportSettings,
    SummaryLayout,
    Verdict,
    cell_value,
    compared_names,
    substitute_fte_months,
    summary_by_allocation,
    total_unmet,
)


def substitute_table(
    summary: pd.DataFrame,
    layout: SummaryLayout,
    settings: ReportSettings,
    language: str = DEFAULT_LANGUAGE,
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
            "allocation_label": [allocation_word(language, a) for a in names],
            "unmet_fte_months": unmet.to_numpy(),
            "substitute_hours": hours.to_numpy(),
            "substitute_cost_nok": cost.to_numpy(),
            "avoided_vs_key_nok": (cost[KEY] - cost).to_numpy(),
            "avoided_vs_nothing_nok": (cost[NOTHING] - cost).to_numpy(),
        }
    )


def _measures(
    summary: pd.DataFrame, layout: SummaryLayout, settings: ReportSettings, language: str
) -> list[tuple[str, str, ColumnKind, str, pd.Series]]:
    """Every benefit measure per allocation (lower is better): (kind, measure, how written,
    unit, values by allocation), in ``language``."""
    _ = report_words(language)
    frame = summary_by_allocation(summary)
    substitute = substitute_table(summary, layout, settings, language).set_index("allocation")
    rows: list[tuple[str, str, ColumnKind, str, pd.Series]] = [
        (
            _(AVOIDED_COST),
            _("Substitute cost"),
            "nok",
            _("NOK"),
            substitute["substitute_cost_nok"],
        ),
        (
            _(TIME_SAVED),
            _("Substitute hours to find and book"),
            "hours",
            _("hours"),
            substitute["substitute_hours"],
        ),
    ]
    for resource, column in layout.unmet.items():
        rows.append(
            (
                _(HIGHER_QUALITY),
                _(
                    "Unmet need for %(resource)s",
                    resource=resource_word(language, resource).lower(),
                ),
                "fte",
                _(UNMET_UNIT.get(resource, FTE_MONTHS)),
                frame[column],
            )
        )
    for norm, column in layout.breach.items():
        rows.append(
            (
                _(HIGHER_QUALITY),
                _("Breach of the %(norm)s", norm=norm_word(language, norm)),
                "fte",
                _("kindergarten-months"),
                frame[column],
            )
        )
    return rows


def benefits_table(
    summary: pd.DataFrame,
    layout: SummaryLayout,
    settings: ReportSettings,
    language: str = DEFAULT_LANGUAGE,
) -> pd.DataFrame:
    """One row per benefit: the plan's value, the baseline's (proportional key), doing
    nothing's, and the difference baseline − plan (positive = the plan does better; a
    negative difference is the plan doing worse, said in words in the headline).
    ``kind_of_value`` says how a row's numbers are written (NOK, hours, FTE-months)."""
    records: list[dict[str, Any]] = []
    for kind, measure, value_kind, unit, values in _measures(summary, layout, settings, language):
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


def verdict_of(gain: float, kind: str) -> Verdict:
    """Better only when the gain is positive as written (a gain that rounds to 0 is none)."""
    shown = round(gain, DECIMALS.get(kind, 1))
    return "better" if shown > 0 else ("same" if shown == 0 else "worse")


def why_not_better(
    values: pd.Series,
    kind: str,
    what: str,
    plan_settings: PlanSettingsShown,
    language: str = DEFAULT_LANGUAGE,
) -> str:
    """Where the plan is not better than the key on a measure: both figures, and why — the
    trade-off re-solves (equity weight 0, risk-neutral) show which setting costs it; if
    neither, the plan's weights put the legal norms first."""
    _ = report_words(language)
    plan, key = float(values[PLAN]), float(values[KEY])

    def figure(value: float) -> str:
        return written(value, kind, language)

    if verdict_of(key - plan, kind) == "same":
        return _(
            "The plan and the allocation key leave the same %(what)s (%(value)s).",
            what=what,
            value=figure(plan),
        )
    parts = [
        _(
            "The plan leaves more %(what)s than the allocation key: %(plan)s against %(key)s.",
            what=what,
            plan=figure(plan),
            key=figure(key),
        )
    ]
    reasons = []
    if EQUITY_0 in values.index and plan_settings.equity_weight > 0:
        alternative = float(values[EQUITY_0])
        if verdict_of(plan - alternative, kind) == "better":
            reasons.append(
                _(
                    "Without its equity weight (%(weight)s) the plan would leave %(value)s: the "
                    "weight moves positions toward kindergartens with more low-income and "
                    "minority-language families, which costs some of the district total.",
                    weight=written(plan_settings.equity_weight, "weight", language),
                    value=figure(alternative),
                )
            )
    if RISK_NEUTRAL in values.index and plan_settings.tail_weight > 0:
        alternative = float(values[RISK_NEUTRAL])
        if verdict_of(plan - alternative, kind) == "better":
            reasons.append(
                _(
                    "Without its weight on bad months (tail weight %(weight)s) it would leave "
                    "%(value)s: guarding against the worst months costs some of the average.",
                    weight=written(plan_settings.tail_weight, "weight", language),
                    value=figure(alternative),
                )
            )
    if not reasons:
        reasons.append(
            _(
                "The plan puts the staffing and pedagogue norms first (weight %(legal)s per "
                "FTE-month short, against %(special)s for § 31/§ 37 hours), so where a norm "
                "needs a position more it gives up some of this.",
                legal=written(plan_settings.legal_weight, "weight", language),
                special=written(plan_settings.special_needs_weight, "weight", language),
            )
        )
    parts += reasons
    spend = plan_settings.spend_nok
    if PLAN in spend and KEY in spend and spend[KEY] > spend[PLAN] + 0.5:
        parts.append(
            _(
                "The allocation key also spends %(more)s more than the plan.",
                more=written(spend[KEY] - spend[PLAN], "nok", language),
            )
        )
    return " ".join(parts)


def worse_measures(
    summary: pd.DataFrame,
    layout: SummaryLayout,
    settings: ReportSettings,
    plan_settings: PlanSettingsShown | None = None,
    language: str = DEFAULT_LANGUAGE,
) -> list[str]:
    """For each measure of the benefits table where the plan does worse than the key (as
    written), a sentence saying so and why — a negative difference is never left unexplained."""
    plan_settings = plan_settings or PlanSettingsShown()
    texts = []
    for _kind, measure, value_kind, _unit, values in _measures(summary, layout, settings, language):
        gain = float(cast(float, values[KEY])) - float(cast(float, values[PLAN]))
        if verdict_of(gain, value_kind) == "worse":
            what = measure[:1].lower() + measure[1:]
            texts.append(why_not_better(values, value_kind, what, plan_settings, language))
    return texts


def benefit_cards(
    summary: pd.DataFrame,
    layout: SummaryLayout,
    settings: ReportSettings,
    plan_settings: PlanSettingsShown | None = None,
    language: str = DEFAULT_LANGUAGE,
) -> list[BenefitCard]:
    """The headline: the three kinds of benefit against the proportional key. A card shows a
    gain only where the plan is better; otherwise it says so, and why."""
    _ = report_words(language)
    plan_settings = plan_settings or PlanSettingsShown()
    frame = summary_by_allocation(summary)
    names = compared_names(frame)
    substitute = substitute_table(summary, layout, settings, language).set_index("allocation")
    chosen: list[tuple[str, str, str, str, str, pd.Series]] = [
        (
            "cost",
            _(AVOIDED_COST),
            "nok",
            _("substitute cost avoided against the allocation key"),
            _("substitute cost"),
            substitute["substitute_cost_nok"],
        ),
        (
            "time",
            _(TIME_SAVED),
            "hours",
            _("substitute hours that need not be found and booked"),
            _("substitute hours"),
            substitute["substitute_hours"],
        ),
    ]
    if layout.breach:
        chosen.append(
            (
                "quality",
                _(HIGHER_QUALITY),
                "fte",
                _("fewer kindergarten-months in breach (norms and § 31/§ 37 hours)"),
                _("kindergarten-months in breach"),
                frame.loc[names, list(layout.breach.values())].sum(axis=1),
            )
        )
    if "resource_pedagogue" in layout.unmet:
        chosen.append(
            (
                "special-needs",
                _(HIGHER_QUALITY),
                "fte",
                _("more FTE-months of § 31/§ 37 help delivered"),
                _("§ 31/§ 37 help undelivered (FTE-months)"),
                frame.loc[names, layout.unmet["resource_pedagogue"]],
            )
        )
    cards = []
    for key, kind, value_kind, detail, what, values in chosen:
        gain = float(values[KEY]) - float(values[PLAN])
        verdict = verdict_of(gain, value_kind)
        if verdict == "better":
            cards.append(BenefitCard(key, kind, gain, written(gain, value_kind, language), detail))
        else:
            cards.append(
                BenefitCard(
                    key,
                    kind,
                    0.0,
                    _("no gain") if verdict == "worse" else _("no difference"),
                    detail,
                    verdict,
                    why_not_better(values, value_kind, what, plan_settings, language),
                )
            )
    return cards


def trade_off_table(
    summary: pd.DataFrame, layout: SummaryLayout, language: str = DEFAULT_LANGUAGE
) -> pd.DataFrame:
    """The plan beside its re-solves at equity weight 0 and risk-neutral: unmet FTE-months per
    resource and in all, kindergarten-months in breach, spend, and what each setting costs in
    unmet FTE-months (the plan's total minus the re-solve's; positive = the setting costs)."""
    frame = summary_by_allocation(summary)
    names = [a for a in (PLAN, *TRADE_OFFS) if a in frame.index]
    rows = frame.loc[names]
    out = pd.DataFrame(
        {"allocation": names, "allocation_label": [allocation_word(language, a) for a in names]}
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


def trade_off_sentence(
    summary: pd.DataFrame, layout: SummaryLayout, language: str = DEFAULT_LANGUAGE
) -> str:
    """What the plan's fairness and risk settings cost, in one plain sentence."""
    _ = report_words(language)
    table = trade_off_table(summary, layout, language).set_index("allocation")
    parts = []
    settings = ((EQUITY_0, _("its equity weight")), (RISK_NEUTRAL, _("its weight on bad months")))
    for name, setting in settings:
        if name not in table.index:
            continue
        cost = cell_value(table, name, "setting_costs")
        amount = written(abs(cost), "fte", language)
        if round(cost, 1) > 0:
            parts.append(
                _("%(setting)s costs %(amount)s unmet FTE-months", setting=setting, amount=amount)
            )
        elif round(cost, 1) < 0:
            parts.append(
                _("%(setting)s saves %(amount)s unmet FTE-months", setting=setting, amount=amount)
            )
        else:
            parts.append(_("%(setting)s costs nothing in unmet FTE-months", setting=setting))
    if not parts:
        return ""
    return _(
        "Against the plan re-solved without them, %(parts)s.",
        parts=_(" and ").join(parts),
    )


def spend_sentence(
    plan_settings: PlanSettingsShown, budget_text: str, language: str = DEFAULT_LANGUAGE
) -> str:
    """What each allocation spends, in words, under the same pools (and budget)."""
    _ = report_words(language)
    spend = plan_settings.spend_nok
    if PLAN not in spend or KEY not in spend:
        return ""
    values = {
        "plan": written(spend[PLAN], "nok", language),
        "key": written(spend[KEY], "nok", language),
    }
    if budget_text:
        return _(
            "Every allocation gets the same pools and the same budget (%(budget)s), cost per "
            "FTE and steps. The plan spends %(plan)s, the allocation key %(key)s.",
            budget=budget_text,
            **values,
        )
    return _(
        "Every allocation gets the same pools, cost per FTE and steps. The plan spends "
        "%(plan)s, the allocation key %(key)s.",
        **values,
    )
