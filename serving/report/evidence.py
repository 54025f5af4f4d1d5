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
module only chooses the rows and the words. Planners read bokmål, so the section is in
Norwegian. Substitute cost avoided uses the report's cost per hour and the hours of
:mod:`training.decision_scoring`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from serving.report.tables import Column, ReportTable
from training.decision_scoring import SUBSTITUTE_RESOURCES, hours_per_fte_month
from training.decisions import KEY, NO_POOL, ORACLE, PLAN, PLAN_EQUITY_0, PLAN_RISK_NEUTRAL

OVERALL = "overall"
OVERALL_LABEL = "Alle år samlet"


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
    outcomes: pd.DataFrame, summary: pd.DataFrame, *, substitute_nok_per_hour: float
) -> EvidenceSection | None:
    """The section from the backtest's outcomes and summary (None when they hold no year)."""
    per_year = summary[summary["origin"] != OVERALL]
    if per_year.empty:
        return None
    costs = substitute_cost_nok(outcomes, substitute_nok_per_hour)
    avoided = {str(o): float(v) for o, v in (costs[KEY] - costs[PLAN]).items()}
    rows = []
    for record in summary.to_dict("records"):
        origin = str(record["origin"])
        row: dict[str, object] = {
            "year": OVERALL_LABEL if origin == OVERALL else year_label(origin),
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
    years = ReportTable(
        "evidence-table",
        "Realisert: udekkede årsverksmåneder per barnehageår",
        (
            Column("year", "Barnehageår"),
            Column(PLAN, "Planen", "fte"),
            Column(KEY, "Fordelingsnøkkelen (nullpunkt)", "fte"),
            Column(NO_POOL, "Uten pott", "fte"),
            Column(ORACLE, "Fasit med perfekt informasjon", "fte"),
            Column("gap_closed", "Andel av gapet lukket", "share"),
            Column("avoided_cost", "Spart vikarkostnad mot nøkkelen", "nok"),
        ),
        frame,
        highlight_rows=overall_row,
        note="Andel av gapet lukket = (nøkkel − plan) / (nøkkel − fasit): 100 % er det beste "
        "noen fordeling kunne ha gjort, 0 % er ikke bedre enn nøkkelen.",
    )
    settings_cost = None
    if frame[PLAN_EQUITY_0].notna().any() or frame[PLAN_RISK_NEUTRAL].notna().any():
        settings_cost = ReportTable(
            "evidence-settings-table",
            "Hva innstillingene kostet: udekkede årsverksmåneder",
            (
                Column("year", "Barnehageår"),
                Column(PLAN, "Planen", "fte"),
                Column(PLAN_EQUITY_0, "Uten likeverdsvekt", "fte"),
                Column(f"cost_{PLAN_EQUITY_0}", "Kostnad av likeverdsvekten", "fte"),
                Column(PLAN_RISK_NEUTRAL, "Uten halevekt (risikonøytral)", "fte"),
                Column(f"cost_{PLAN_RISK_NEUTRAL}", "Kostnad av risikoinnstillingen", "fte"),
            ),
            frame,
            highlight_rows=overall_row,
            note="Kostnad = planen − planen uten innstillingen. Et positivt tall er udekket "
            "behov totalt sett som innstillingen bytter mot noe annet: likeverdsvekten mot mer "
            "til barnehager der mange barn bor i lavinntektsfamilier eller har et annet "
            "morsmål, halevekten mot vern i de verste utfallene. Et negativt tall betyr at "
            "innstillingen også ga mindre udekket behov totalt.",
        )
    overall = frame.iloc[-1]
    n_years = len(per_year)
    headline = (
        f"Hadde bydelen planlagt slik de siste {n_years} barnehageårene, ville planen ha "
        f"lukket {_percent(overall['gap_closed'])} av gapet mellom fordelingsnøkkelen og "
        "fasiten med perfekt informasjon."
        if overall["gap_closed"] == overall["gap_closed"]
        else f"De siste {n_years} barnehageårene var fordelingsnøkkelen like god som fasiten: "
        "det var ikke noe gap å lukke."
    )
    notes = [
        "Hvert barnehageår er planlagt med bare de dataene som fantes ved starten (slutten av "
        "juli): prognosemodellen er trent på nytt på dem, og planen er målt mot det som "
        "faktisk skjedde de tolv månedene etter.",
        "Udekkede årsverksmåneder: bemanningsnormen på faktisk tilstedeværelse etter "
        "sykefravær, pedagognormen i hele stillinger og timene barn med vedtak etter § 31 og "
        "§ 37 har rett på. Alle teller likt.",
        "Fordelingsnøkkelen (nullpunktet) fordeler de samme pottene etter antall barn (og "
        "vedtak for spesialpedagoger); fasiten er den samme optimeringen gjort på de faktiske "
        "behovene, det beste noen fordeling kunne ha gjort.",
        "Vikarkostnad: udekket bemanning og § 31/§ 37-timer × "
        f"{hours_per_fte_month():.1f} timer per årsverksmåned × rapportens timepris.",
    ]
    return EvidenceSection(n_years, years, settings_cost, headline, notes)


def _percent(share: float) -> str:
    return f"{share * 100:.0f}\u00a0%"


def load_evidence(
    tracking_uri: str, run_id: str | None, *, substitute_nok_per_hour: float
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
    return build_evidence(outcomes, summary, substitute_nok_per_hour=substitute_nok_per_hour)


__all__ = ["EvidenceSection", "build_evidence", "load_evidence", "year_label"]
