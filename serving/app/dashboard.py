"""Key figures of the district dashboard, computed from the data set (no model needed).

A key figure has one value per kindergarten and month (:func:`kindergarten_series`) and one per
month for the district (:func:`district_series`, weighted as the figure demands: § 31 decisions
per enrolled child, sick leave per staff FTE). A card shows the latest district value, its change
over twelve months and the spread across kindergartens; a figure's page shows the distribution,
history, areas, living conditions and the kindergartens furthest from the median.

Quality indicators are figures too, one per indicator of the catalogue that the data hold; an
absent one says which source would bring it. Counts that can point at a person (§ 31/§ 37
decisions, health-and-safety incidents) are shown as "<5" to viewers (the internal view).

Every word shown comes through the gettext catalogue (English msgids, bokmål translations): the
figures' labels and sources here, the catalogue indicators' by their name
(:data:`INDICATOR_WORDS`; their bokmål is the data catalogue's own label). A district's own
indicator (``sources.toml``) is shown with the label it was given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.contract import District
from data.lineage import publication
from data.quality import CATALOGUE, Indicator
from serving import key_figures
from serving.formatting import format_number
from serving.i18n import N_, gettext
from serving.key_figures import MONTHLY, format_figure
from serving.report.privacy import SUPPRESSED, suppress_count

#: Months compared for a card's trend.
TREND_MONTHS = 12


@dataclass(frozen=True)
class Figure:
    """One key figure: how it is named, computed, shown and where it comes from."""

    key: str
    label: str  #: an English msgid (or a district's own label)
    unit: str  # count | share | score | nok
    source: str  #: an English msgid (or a district's own source)
    higher_is_better: bool | None = None
    #: A count that can point at a person: shown as "<5" to viewers.
    sensitive: bool = False
    indicator: Indicator | None = None

    def label_in(self, language: str) -> str:
        return gettext(language, self.label)

    def source_in(self, language: str) -> str:
        return gettext(language, self.source)

    def scale_in(self, language: str) -> str:
        """The indicator's scale as a planner reads it, e.g. "1–5" or "0 og oppover"."""
        indicator = self.indicator
        if indicator is None:
            return ""
        if indicator.unit == "share":
            return "0–100 %"
        if indicator.high is None:
            return gettext(language, N_("%(low)s and up"), low=f"{indicator.low:g}")
        return f"{indicator.low:g}–{indicator.high:g}"

    def direction_in(self, language: str) -> str:
        """ "higher is better" / "lower is better" ("" when neither)."""
        if self.higher_is_better is None:
            return ""
        better = N_("higher is better") if self.higher_is_better else N_("lower is better")
        return gettext(language, better)


#: Where each figure measured per kindergarten and month comes from (its definition, label and
#: unit are :data:`serving.key_figures.MONTHLY`'s, shared with the overview's key figures).
MONTHLY_SOURCES: dict[str, tuple[str, bool | None]] = {
    "children": (N_("Admissions system (children per month)"), None),
    "applicants": (
        N_("Admissions system (applicants with the kindergarten as first choice)"),
        False,
    ),
    "vedtak_31_share": (
        N_("PPT (decisions on special-needs education, Kindergarten Act § 31)"),
        None,
    ),
    "vedtak_37_share": (N_("PPT (decisions on adaptation, Kindergarten Act § 37)"), None),
    "minority_language_share": (
        N_("Admissions or living-conditions statistics (minority-language share)"),
        None,
    ),
    "low_income_share": (N_("Living-conditions statistics (low-income share)"), None),
    "sick_leave_rate": (N_("HR system (sick leave, share of contracted hours)"), False),
    "turnover": (N_("HR system (staff who left)"), False),
}
MONTHLY_FIGURES: tuple[Figure, ...] = tuple(
    Figure(
        key,
        MONTHLY[key].label,
        MONTHLY[key].unit,
        source,
        higher_is_better,
        sensitive=key in ("vedtak_31_share", "vedtak_37_share"),
    )
    for key, (source, higher_is_better) in MONTHLY_SOURCES.items()
)

_PARENT = N_("Parent survey (Udir), answers from parents, yearly")
_CLASS = N_("CLASS observation, domain score")
_TEN_FACTOR = N_("10-factor staff survey (KS), yearly")
#: The data catalogue's indicators in English msgids (label, source); their bokmål translations
#: are the catalogue's own labels and sources (tested).
INDICATOR_WORDS: dict[str, tuple[str, str]] = {
    "parent_survey_overall": (N_("Parents: satisfied overall"), _PARENT),
    "parent_survey_wellbeing": (N_("Parents: the child's well-being"), _PARENT),
    "parent_survey_development": (N_("Parents: the child's development"), _PARENT),
    "parent_survey_environment": (N_("Parents: outdoor and indoor environment"), _PARENT),
    "parent_survey_information": (N_("Parents: information"), _PARENT),
    "class_emotional_support": (N_("CLASS: emotional support"), _CLASS),
    "class_classroom_organisation": (N_("CLASS: classroom organisation"), _CLASS),
    "class_instructional_support": (N_("CLASS: support for learning"), _CLASS),
    "topi_concern_share": (
        N_("TOPI: share of children with a concern"),
        N_("TOPI (early detection and intervention), screening"),
    ),
    "ten_factor_task_motivation": (N_("10-factor: task motivation"), _TEN_FACTOR),
    "ten_factor_mastery_motivation": (N_("10-factor: belief in mastery"), _TEN_FACTOR),
    "ten_factor_autonomy": (N_("10-factor: autonomy"), _TEN_FACTOR),
    "ten_factor_competence_use": (N_("10-factor: use of competence"), _TEN_FACTOR),
    "ten_factor_mastery_management": (N_("10-factor: mastery-oriented management"), _TEN_FACTOR),
    "ten_factor_role_clarity": (N_("10-factor: role clarity"), _TEN_FACTOR),
    "ten_factor_collaboration": (N_("10-factor: relevant competence development"), _TEN_FACTOR),
    "ten_factor_fair_management": (N_("10-factor: willingness to be flexible"), _TEN_FACTOR),
    "ten_factor_recognition": (N_("10-factor: mastery climate"), _TEN_FACTOR),
    "ten_factor_organisational_commitment": (N_("10-factor: prosocial motivation"), _TEN_FACTOR),
    "hse_incidents": (
        N_("HSE incidents (reported events)"),
        N_("HSE incident system, count per month"),
    ),
    "special_pedagogy_cost": (
        N_("Costs of special-needs education and adaptation"),
        N_("Finance system, kroner per month"),
    ),
}


def quality_figure(indicator: Indicator) -> Figure:
    label, source = INDICATOR_WORDS.get(indicator.name, (indicator.label, indicator.source))
    return Figure(
        key=indicator.name,
        label=label,
        unit={"score": "score", "share": "share", "count": "count", "nok": "nok"}[indicator.unit],
        source=source,
        higher_is_better=indicator.higher_is_better,
        sensitive=indicator.unit == "count",
        indicator=indicator,
    )


def all_figures() -> list[Figure]:
    return [*MONTHLY_FIGURES, *(quality_figure(i) for i in CATALOGUE.values())]


def figure_by_key(key: str) -> Figure | None:
    return next((f for f in all_figures() if f.key == key), None)


def is_present(district: District, figure: Figure) -> bool:
    if figure.indicator is not None:
        quality = district.quality
        return quality is not None and bool((quality["indicator"] == figure.key).any())
    monthly = district.monthly
    return all(c in monthly.columns and monthly[c].notna().any() for c in MONTHLY[figure.key].needs)


def kindergarten_series(district: District, figure: Figure) -> pd.DataFrame:
    """kindergarten_id, month, value and weight (see :func:`serving.key_figures.
    kindergarten_series` for the figures measured per month; an indicator's weight is 1)."""
    if figure.indicator is None:
        return key_figures.kindergarten_series(district.monthly, MONTHLY[figure.key])
    assert district.quality is not None
    rows = district.quality[district.quality["indicator"] == figure.key]
    return pd.DataFrame(
        {
            "kindergarten_id": rows["kindergarten_id"].astype(str).to_numpy(),
            "month": rows["month"].to_numpy(),
            "value": rows["value"].to_numpy(dtype=float),
            "weight": 1.0,
        }
    )


def district_series(series: pd.DataFrame, figure: Figure) -> pd.DataFrame:
    """month, value for the district (:func:`serving.key_figures.district_series`)."""
    return key_figures.district_series(series, figure.unit)


def latest_per_kindergarten(series: pd.DataFrame) -> pd.DataFrame:
    """Each kindergarten's latest value (its month beside it), for the kindergartens measured in
    the last :data:`TREND_MONTHS` months (a closed kindergarten's old value is not compared)."""
    frame = series.dropna(subset=["value"]).sort_values(["kindergarten_id", "month"])
    latest = frame.groupby("kindergarten_id").tail(1).reset_index(drop=True)
    if latest.empty:
        return latest
    months = pd.PeriodIndex(latest["month"], freq="M")
    recent = months > months.max() - TREND_MONTHS
    return latest[recent].reset_index(drop=True)


def shown_value(
    figure: Figure,
    value: float | None,
    *,
    internal: bool,
    count: float | None = None,
    language: str = "nb",
) -> str:
    """A figure's value as a planner reads it; a small sensitive count is "<5" to viewers."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if figure.sensitive and internal:
        raw = value if figure.unit == "count" else count
        if raw is not None and not np.isnan(raw) and raw < 5:
            return suppress_count(raw)
    return format_figure(value, figure.unit, language)


@dataclass
class Card:
    figure: Figure
    value: str
    trend: str
    trend_class: str
    spread: str
    month: str
    n_kindergartens: int


def district_count(district: District, figure: Figure, month: pd.Period) -> float | None:
    """The count behind a sensitive figure's district value in ``month`` (the decisions behind
    a § 31/§ 37 share; an incident count is its own), for the "<5" rule."""
    if not figure.sensitive or figure.indicator is not None:
        return None  # an indicator's count is its value
    monthly = district.monthly
    rows = monthly[pd.PeriodIndex(monthly["month"], freq="M") == month]
    column = figure.key.removesuffix("_share")
    return float(pd.to_numeric(rows[column], errors="coerce").sum()) if len(rows) else None


def card(district: District, figure: Figure, language: str = "nb", *, internal: bool) -> Card:
    """The overview card: latest district value, change over a year, spread across kindergartens
    (10th to 90th percentile of their latest values). For an internal view a sensitive value
    whose count is under 5 is "<5", with no trend (it would give the count away)."""
    series = kindergarten_series(district, figure)
    by_month = district_series(series, figure)
    latest = latest_per_kindergarten(series)
    if by_month.empty:
        return Card(figure, "–", "", "", "", "", 0)
    last = by_month.iloc[-1]
    month = pd.Period(last["month"], freq="M")
    value = shown_value(
        figure,
        float(last["value"]),
        internal=internal,
        count=district_count(district, figure, month),
        language=language,
    )
    masked = value == SUPPRESSED
    earlier = by_month[by_month["month"] <= month - TREND_MONTHS]
    trend, trend_class = "", ""
    if len(earlier) and not masked:
        before = float(earlier.iloc[-1]["value"])
        change = float(last["value"]) - before
        arrow = "↑" if change > 0 else "↓" if change < 0 else "→"
        since = pd.Period(earlier.iloc[-1]["month"], freq="M").strftime("%m.%Y")
        if figure.unit == "share":
            trend = gettext(
                language,
                N_("%(arrow)s %(change)s percentage points since %(month)s"),
                arrow=arrow,
                change=format_number(abs(change) * 100, 1, language),
                month=since,
            )
        else:
            decimals = 0 if figure.unit in ("count", "nok") else 2
            trend = gettext(
                language,
                N_("%(arrow)s %(change)s since %(month)s"),
                arrow=arrow,
                change=format_number(abs(change), decimals, language),
                month=since,
            )
        if figure.higher_is_better is not None and change != 0:
            good = (change > 0) == figure.higher_is_better
            trend_class = "good" if good else "bad"
    values = latest["value"].to_numpy(dtype=float)
    low, high = np.nanpercentile(values, [10, 90]) if len(values) else (np.nan, np.nan)
    spread = (
        f"{shown_value(figure, low, internal=False, language=language)} – "
        f"{shown_value(figure, high, internal=False, language=language)}"
        if len(values) > 1
        else ""
    )
    return Card(
        figure,
        value,
        trend,
        trend_class,
        spread,
        month.strftime("%m.%Y"),
        len(values),
    )


def figure_source_files(district: District, figure: Figure) -> list[str]:
    """The raw files that brought a figure (from lineage), if the data set was assembled."""
    lineage = district.lineage
    if lineage is None:
        return []
    if figure.indicator is not None:
        rows = lineage[(lineage["table"] == "quality") & (lineage["column"] == figure.key)]
    else:
        rows = lineage[
            (lineage["table"] == "monthly") & lineage["column"].isin(MONTHLY[figure.key].needs)
        ]
    return sorted(set(rows["source_file"].astype(str)))


#: How often a source publishes (data.lineage's codes).
EVERY = {
    "month": N_("monthly"),
    "quarter": N_("quarterly"),
    "year": N_("yearly"),
    "kindergarten_year": N_("per kindergarten year"),
}


def publication_text(district: District, figure: Figure, language: str = "nb") -> str:
    """How often the figure comes and how late ("" for a tidy data set without lineage: it does
    not say)."""
    if district.lineage is None:
        return ""
    columns = [figure.key] if figure.indicator is not None else list(MONTHLY[figure.key].needs)
    table = "quality" if figure.indicator is not None else "monthly"
    pubs = [publication(district.lineage, table, c) for c in columns]
    every = max(pubs, key=lambda p: (p.every != "month", p.lag)) if pubs else None
    if every is None:
        return ""
    how_often = gettext(language, EVERY[every.every]) if every.every in EVERY else every.every
    if not every.lag:
        return how_often
    lag = (
        N_("%(every)s, known 1 month after the period ends")
        if every.lag == 1
        else N_("%(every)s, known %(n)s months after the period ends")
    )
    return gettext(language, lag, every=how_often, n=every.lag)
