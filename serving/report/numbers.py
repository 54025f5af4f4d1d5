"""The benefit report's numbers as plain data, built from the same objects the plan prints.

The district table *is* ``PlanResult.summary`` (expected unmet FTE-months per resource and
kindergarten-months in breach of each norm, for the plan, the proportional key and no pool);
every benefit is a difference of two of its cells, so the report and ``bemanning plan`` cannot
disagree. Per-kindergarten and per-area tables come from the per-kindergarten outcomes of the
same scenarios (they add up to the district table).

How Oslo reports value (DOMAIN.md): *avoided costs* (substitute cost), *time saved*
(substitute hours that need not be found and booked) and *higher quality* (norm breaches and
special-needs help), against a baseline (nullpunkt) — here the proportional key on the same pools.

Everything a reader sees is in the report's language (:mod:`serving.report.wording`): bokmål by
default, English by the setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast

import pandas as pd

from data.contract import AREA, KINDERGARTEN_ID, RESOURCES, District
from models.allocation.comparison import (
    COMPARED,
    COMPARED_LABELS,
    KEY,
    NOTHING,
    PLAN,
)
from serving.i18n import N_
from serving.report.tables import Column, ColumnKind, ReportTable
from serving.report.wording import (
    DEFAULT_LANGUAGE,
    SIMULATED,
    report_words,
    written,
)
from serving.words import column_word, place_name

if TYPE_CHECKING:
    from serving.report.evidence import EvidenceSection

#: The allocations every benefit is measured between: the plan and its two baselines.
ALLOCATIONS = (PLAN, KEY, NOTHING)
#: The English labels ``bemanning plan`` prints (models.allocation.comparison), read back to
#: names when a summary carries labels; the report shows :func:`allocation_word`.
ALLOCATION_LABELS = dict(COMPARED_LABELS["en"])
#: The norms of the summary's ``breach_months_<norm>`` columns.
NORMS = ("staffing", "pedagogue", "special_needs")
#: Oslo's three kinds of benefit (DOMAIN.md), as the report names them.
AVOIDED_COST = N_("avoided cost")
TIME_SAVED = N_("time saved")
HIGHER_QUALITY = N_("higher quality")
FTE_MONTHS = N_("FTE-months")
#: The pedagogue norm counts whole positions (as ``bemanning plan`` prints it).
UNMET_UNIT = {
    "staff": FTE_MONTHS,
    "pedagogue": N_("position-months"),
    "resource_pedagogue": FTE_MONTHS,
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

    option: str  #: the command-line flag (``--pool staff``)
    value: str
    given: bool
    label: str = ""  #: the option in the reader's words (the flag when empty)


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
                norm = next((n for n in NORMS if lowered.endswith(n)), column)
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
    #: Where the forecasts beat the best baseline and where they do not, in words.
    forecast_quality_text: str = ""
    #: Each measure of the benefits table where the plan does worse than the key, and why.
    worse_texts: list[str] = field(default_factory=list)
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    engine_version: str = ""
    #: The language everything above is written in ("nb" or "en").
    language: str = DEFAULT_LANGUAGE

    @property
    def simulated_label(self) -> str:
        return report_words(self.language)(SIMULATED)

    @property
    def generated_text(self) -> str:
        from serving.formatting import format_when

        return format_when(self.generated_at, self.language)

    @property
    def hours_per_fte_month_text(self) -> str:
        return written(self.settings.hours_per_fte_month, "fte", self.language)

    @property
    def hours_per_week_text(self) -> str:
        return written(self.settings.hours_per_week_per_fte, "fte", self.language)

    @property
    def substitute_cost_text(self) -> str:
        return written(self.settings.substitute_cost_nok_per_hour, "nok", self.language)

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


def cell_value(frame: pd.DataFrame, row: str, column: str) -> float:
    """One numeric cell (typed for mypy: pandas-stubs types `.at` as any scalar)."""
    return float(cast(float, frame.at[row, column]))


def area_table(
    district: District,
    outcomes: pd.DataFrame,
    layout: SummaryLayout,
    language: str = DEFAULT_LANGUAGE,
) -> pd.DataFrame:
    """Areas ranked by low-income share (highest first) with expected unmet FTE-months (all
    resources) under each allocation, summed over the area's kindergartens.

    ``outcomes``: one row per kindergarten and allocation with the summary's measure columns.
    An area's low-income share is the mean of its kindergartens' shares in the last month.
    """
    info = kindergarten_info(district, language)
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


def kindergarten_info(district: District, language: str = DEFAULT_LANGUAGE) -> pd.DataFrame:
    """Name, area, capacity and the last month's decisions and low-income share per
    kindergarten (the report's per-kindergarten context)."""
    kg = district.kindergartens
    columns = [KINDERGARTEN_ID, "name", "capacity"]
    info = kg[columns].copy()
    # a simulated kindergarten's "(simulated)" in the reader's language, as the pages say it
    info["name"] = [place_name(language, name) for name in info["name"]]
    _ = report_words(language)
    no_area = _("(no area)")
    info[AREA] = kg[AREA].fillna(no_area) if AREA in kg.columns else no_area
    last = district.monthly.sort_values("month").groupby(KINDERGARTEN_ID).tail(1)
    for column in ("vedtak_31", "vedtak_37", "low_income_share"):
        values = last.set_index(KINDERGARTEN_ID)[column] if column in last.columns else None
        info[column] = info[KINDERGARTEN_ID].map(values) if values is not None else float("nan")
    return info


def kindergarten_table(
    district: District,
    lines: pd.DataFrame,
    outcomes: pd.DataFrame,
    layout: SummaryLayout,
    language: str = DEFAULT_LANGUAGE,
) -> pd.DataFrame:
    """One row per kindergarten: area, decisions (suppressed when shown), the plan's change per
    resource and expected unmet FTE-months and breach months under each allocation."""
    info = kindergarten_info(district, language)
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


def summary_columns(
    summary: pd.DataFrame, layout: SummaryLayout, language: str = DEFAULT_LANGUAGE
) -> tuple[Column, ...]:
    """Labels for the plan summary's own columns, in its own order, in the words the plan
    pages and exports use (:func:`serving.words.column_word`); ``allocation_label`` is the
    allocation's name, added by the caller."""
    columns = [Column("allocation_label", column_word(language, "allocation"))]
    columns += [Column(c, column_word(language, c), "fte") for c in layout.unmet.values()]
    columns += [Column(c, column_word(language, c), "fte") for c in layout.breach.values()]
    known = {*layout.unmet.values(), *layout.breach.values(), "allocation", "allocation_label"}
    for column in map(str, summary.columns):
        if column in known or not pd.api.types.is_numeric_dtype(summary[column]):
            continue
        kind: ColumnKind = "nok" if column.endswith("_nok") else "fte"
        columns.append(Column(column, column_word(language, column), kind))
    return tuple(columns)
