"""The report's evidence section: «had the district planned this way in the last N years».

The before/after evidence Oslo's benefit reporting asks for (docs/DOMAIN.md, «How the city
reports value»): for each past kindergarten year of the decision backtest
(``bemanning backtest DATA --plans``, logged with the champion's run by
:mod:`training.decision_tracking`) the realised unmet FTE-months of the plan the engine would
have made then, of the proportional key (the baseline, nullpunkt) on the same pools, of no pool
and of the perfect-information oracle, and the share of the key–oracle gap the plan closed;
beside it what the equity and risk settings cost (the plan re-made with the equity weight at 0
and with no tail weight, scored the same way).

The figures are the backtest's own (one definition: :func:`training.decisions.summarise`); this
module only chooses the rows and the words, in the report's language (bokmål by default).
Substitute cost avoided uses the report's cost per hour and the hours of
:mod:`training.decision_scoring`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from serving import formatting
from serving.i18n import N_
from serving.report.tables import Column, ReportTable
from serving.report.wording import DEFAULT_LANGUAGE, allocation_word, report_words, written
from training.decision_scoring import SUBSTITUTE_RESOURCES, hours_per_fte_month
from training.decisions import KEY, NO_POOL, ORACLE, PLAN, PLAN_EQUITY_0, PLAN_RISK_NEUTRAL

OVERALL = "overall"
OVERALL_LABEL = N_("All years together")


@dataclass
class EvidenceSection:
    """What the section shows: ``years`` (plan, key, no pool, oracle, share of the gap closed,
    substitute cost avoided) and ``settings_cost`` (what equity and risk settings cost), per
    kindergarten year and all years together."""

    n_years: int
    years: ReportTable
    settings_cost: ReportTable | None
    headline: str
    notes: list[str] = field(default_factory=list)


def year_label(origin: str) -> str:
    """``"2023-07"`` (a plan made at the end of July 2023) → ``"2023/24"``."""
    year = pd.Period(origin, "M").year
    return f"{year}/{(year + 1) % 100:02d}"


def substitute_cost_nok(outcomes: pd.DataFrame, nok_per_hour: float) -> pd.DataFrame:
    """Per origin (and overall) × allocation: unmet staff and § 31/§ 37 FTE-months as substitute
    cost at ``nok_per_hour``."""
    unmet = outcomes[[f"unmet_{r}" for r in SUBSTITUTE_RESOURCES]].sum(axis=1)
    frame = outcomes.assign(cost=unmet * hours_per_fte_month() * nok_per_hour)
    wide = frame.pivot_table(index="origin", columns="allocation", values="cost")
    wide.loc[OVERALL] = wide.sum()
    return wide


def build_evidence(
    outcomes: pd.DataFrame,
    summary: pd.DataFrame,
    *,
    substitute_nok_per_hour: float,
    language: str = DEFAULT_LANGUAGE,
) -> EvidenceSection | None:
    """The section from the backtest's outcomes and summary (None when they hold no year), in
    ``language``."""
    _ = report_words(language)
    per_year = summary[summary["origin"] != OVERALL]
    if per_year.empty:
        return None
    costs = substitute_cost_nok(outcomes, substitute_nok_per_hour)
    avoided = {str(o): float(v) for o, v in (costs[KEY] - costs[PLAN]).items()}
    rows = []
    for record in summary.to_dict("records"):
        origin = str(record["origin"])
        row: dict[str, object] = {
            "year": _(OVERALL_LABEL) if origin == OVERALL else year_label(origin),
            **{name: record.get(f"unmet_{name}") for name in (PLAN, KEY, NO_POOL, ORACLE)},
            "gap_closed": record.get("gap_closed"),
            "avoided_cost": avoided.get(origin),
        }
        for variant in (PLAN_EQUITY_0, PLAN_RISK_NEUTRAL):
            value = record.get(f"unmet_{variant}")
            row[variant] = value
            row[f"cost_{variant}"] = (
                None if value is None or value != value else record[f"unmet_{PLAN}"] - value
            )
        rows.append(row)
    frame = pd.DataFrame(rows)
    overall_row = (len(frame) - 1,)
    year = Column("year", _("Kindergarten year"))
    plan = Column(PLAN, allocation_word(language, PLAN), "fte")
    years = ReportTable(
        "evidence-table",
        _("Realised: unmet FTE-months per kindergarten year"),
        (
            year,
            plan,
            Column(KEY, _("%(key)s (baseline)", key=allocation_word(language, KEY)), "fte"),
            Column(NO_POOL, allocation_word(language, NO_POOL), "fte"),
            Column(ORACLE, _("With perfect information"), "fte"),
            Column("gap_closed", _("Share of the gap closed"), "share"),
            Column("avoided_cost", _("Substitute cost saved against the key"), "nok"),
        ),
        frame,
        highlight_rows=overall_row,
        note=_(
            "Share of the gap closed = (key − plan) / (key − perfect information): 100 % is "
            "the best any allocation could have done, 0 % is no better than the key."
        ),
        language=language,
    )
    settings_cost = None
    if frame[PLAN_EQUITY_0].notna().any() or frame[PLAN_RISK_NEUTRAL].notna().any():
        settings_cost = ReportTable(
            "evidence-settings-table",
            _("What the settings cost: unmet FTE-months"),
            (
                year,
                plan,
                Column(PLAN_EQUITY_0, allocation_word(language, PLAN_EQUITY_0), "fte"),
                Column(f"cost_{PLAN_EQUITY_0}", _("Cost of the equity weight"), "fte"),
                Column(PLAN_RISK_NEUTRAL, allocation_word(language, PLAN_RISK_NEUTRAL), "fte"),
                Column(f"cost_{PLAN_RISK_NEUTRAL}", _("Cost of the risk setting"), "fte"),
            ),
            frame,
            highlight_rows=overall_row,
            note=_(
                "Cost = the plan − the plan without the setting. A positive number is unmet "
                "need in all that the setting trades for something else: the equity weight for "
                "more to kindergartens where many children live in low-income families or have "
                "another mother tongue, the tail weight for protection in the worst outcomes. "
                "A negative number means the setting also gave less unmet need in all."
            ),
            language=language,
        )
    overall = frame.iloc[-1]
    n_years = len(per_year)
    gap = overall["gap_closed"]
    headline = (
        _(
            "Had the district planned this way in the last %(n)s kindergarten years, the plan "
            "would have closed %(share)s of the gap between the allocation key and perfect "
            "information.",
            n=n_years,
            share=formatting.format_percent(gap, 0, language),
        )
        if gap == gap
        else _(
            "In the last %(n)s kindergarten years the allocation key was as good as perfect "
            "information: there was no gap to close.",
            n=n_years,
        )
    )
    notes = [
        _(
            "Each kindergarten year is planned with only the data there were at its start (end "
            "of July): the forecasting model is trained again on them, and the plan is measured "
            "against what really happened in the twelve months after."
        ),
        _(
            "Unmet FTE-months: the staffing norm on real presence after sick leave, the "
            "pedagogue norm in whole positions and the hours children with § 31 and § 37 "
            "decisions have a right to. All count the same."
        ),
        _(
            "The allocation key (the baseline) spreads the same pools by the number of children "
            "(and decisions for resource pedagogues), with the plan's budget, cost per FTE and "
            "steps; perfect information is the same optimisation made on the real needs, the "
            "best any allocation could have done."
        ),
        _(
            "Substitute cost: unmet staffing and § 31/§ 37 hours × %(hours)s hours per "
            "FTE-month × the report's hourly cost.",
            hours=written(hours_per_fte_month(), "fte", language),
        ),
    ]
    return EvidenceSection(n_years, years, settings_cost, headline, notes)


def load_evidence(
    tracking_uri: str,
    run_id: str | None,
    *,
    substitute_nok_per_hour: float,
    language: str = DEFAULT_LANGUAGE,
) -> EvidenceSection | None:
    """The section from the decision backtest logged with ``run_id`` (None when there is
    none: the report then says how to make it)."""
    from training.decision_tracking import load_decision_evidence

    if not run_id:
        return None
    loaded = load_decision_evidence(tracking_uri, run_id)
    if loaded is None:
        return None
    outcomes, summary = loaded
    return build_evidence(
        outcomes, summary, substitute_nok_per_hour=substitute_nok_per_hour, language=language
    )


__all__ = ["EvidenceSection", "build_evidence", "load_evidence", "year_label"]
