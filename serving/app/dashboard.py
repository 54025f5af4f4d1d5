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
from serving.formatting import format_nok, format_number, format_percent
from serving.i18n import N_, gettext
from serving.report.privacy import suppress_count

#: Months compared for a card's trend.
TREND_MONTHS = 12


@dataclass(frozen=True)
class Figure:
    """One key figure: how it is named, computed, shown and where it comes from."""

    key: str
    label: str  #: an English msgid (or a district's own label)
    unit: str  # count | share | score | nok | rate
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


MONTHLY_FIGURES: tuple[Figure, ...] = (
    Figure(
        "children",
        N_("Children in kindergarten"),
        "count",
        N_("Admissions system (children per month)"),
    ),
    Figure(
        "applicants",
        N_("Applicants on the waiting list"),
        "count",
        N_("Admissions system (applicants with the kindergarten as first choice)"),
        False,
    ),
    Figure(
        "vedtak_31_share",
        N_("Share of children with a § 31 decision"),
        "share",
        N_("PPT (decisions on special-needs education, Kindergarten Act § 31)"),
        sensitive=True,
    ),
    Figure(
        "vedtak_37_share",
        N_("Share of children with a § 37 decision"),
        "share",
        N_("PPT (decisions on adaptation, Kindergarten Act § 37)"),
        sensitive=True,
    ),
    Figure(
        "minority_language_share",
        N_("Share of minority-language children"),
        "share",
        N_("Admissions or living-conditions statistics (minority-language share)"),
    ),
    Figure(
        "low_income_share",
        N_("Share of children in low-income households"),
        "share",
        N_("Living-conditions statistics (low-income share)"),
    ),
    Figure(
        "sick_leave_rate",
        N_("Sick leave"),
        "share",
        N_("HR system (sick leave, share of contracted hours)"),
        False,
    ),
    Figure(
        "turnover",
        N_("Turnover (leavers per FTE, last 12 months)"),
        "rate",
        N_("HR system (staff who left)"),
        False,
    ),
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
#: Monthly columns each figure needs.
NEEDS: dict[str, tuple[str, ...]] = {
    "children": ("children_under3", "children_over3"),
    "applicants": ("waiting_list",),
    "vedtak_31_share": ("vedtak_31",),
    "vedtak_37_share": ("vedtak_37",),
    "minority_language_share": ("minority_language_share",),
    "low_income_share": ("low_income_share",),
    "sick_leave_rate": ("sick_leave_rate", "staff_fte"),
    "turnover": ("staff_leavers", "staff_fte"),
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
    return all(c in monthly.columns and monthly[c].notna().any() for c in NEEDS[figure.key])


def kindergarten_series(district: District, figure: Figure) -> pd.DataFrame:
    """kindergarten_id, month, value (and the numerator/denominator for weighted figures)."""
    if figure.indicator is not None:
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
    m = district.monthly
    ids, months = m["kindergarten_id"].astype(str).to_numpy(), m["month"].to_numpy()

    def col(name: str) -> np.ndarray:
        return pd.to_numeric(m[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    children = col("children_under3") + col("children_over3")
    key = figure.key
    if key == "children":
        value, weight = children, np.ones(len(m))
    elif key == "applicants":
        value, weight = col("waiting_list"), np.ones(len(m))
    elif key in ("vedtak_31_share", "vedtak_37_share"):
        with np.errstate(invalid="ignore", divide="ignore"):
            value = col(key.removesuffix("_share")) / children
        weight = children
    elif key in ("minority_language_share", "low_income_share"):
        value, weight = col(key), children
    elif key == "sick_leave_rate":
        value, weight = col("sick_leave_rate"), col("staff_fte")
    else:  # turnover: leavers over the last 12 months per mean staff FTE
        frame = pd.DataFrame({"k": ids, "l": col("staff_leavers"), "s": col("staff_fte")})
        rolling = frame.groupby("k")[["l", "s"]].rolling(12, min_periods=6).mean()
        rolling = rolling.reset_index(level=0, drop=True).sort_index()
        with np.errstate(invalid="ignore", divide="ignore"):
            value = 12 * rolling["l"].to_numpy() / rolling["s"].to_numpy()
        weight = col("staff_fte")
    return pd.DataFrame({"kindergarten_id": ids, "month": months, "value": value, "weight": weight})


def district_series(series: pd.DataFrame, figure: Figure) -> pd.DataFrame:
    """month, value for the district: sums for counts and kroner, weighted means for shares and
    rates, plain means over kindergartens for survey scores."""
    frame = series.dropna(subset=["value"])
    if figure.unit in ("count", "nok"):
        out = frame.groupby("month")["value"].sum()
    else:
        weight = frame["weight"].fillna(0.0)
        weighted = (frame["value"] * weight).groupby(frame["month"]).sum()
        total = weight.groupby(frame["month"]).sum()
        out = (weighted / total.replace(0, np.nan)).dropna()
    return out.rename("value").reset_index().sort_values("month")


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
    if figure.unit == "share":
        return format_percent(value, 1, language)
    if figure.unit == "nok":
        return format_nok(value, language)
    if figure.unit == "count":
        return format_number(value, 0, language)
    return format_number(value, 2 if figure.unit == "rate" else 1, language)


@dataclass
class Card:
    figure: Figure
    value: str
    trend: str
    trend_class: str
    spread: str
    month: str
    n_kindergartens: int


def card(district: District, figure: Figure, language: str = "nb") -> Card:
    """The overview card: latest district value, change over a year, spread across kindergartens
    (10th to 90th percentile of their latest values)."""
    series = kindergarten_series(district, figure)
    by_month = district_series(series, figure)
    latest = latest_per_kindergarten(series)
    if by_month.empty:
        return Card(figure, "–", "", "", "", "", 0)
    last = by_month.iloc[-1]
    month = pd.Period(last["month"], freq="M")
    earlier = by_month[by_month["month"] <= month - TREND_MONTHS]
    trend, trend_class = "", ""
    if len(earlier):
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
        shown_value(figure, float(last["value"]), internal=False, language=language),
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
        rows = lineage[(lineage["table"] == "monthly") & lineage["column"].isin(NEEDS[figure.key])]
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
    columns = [figure.key] if figure.indicator is not None else list(NEEDS[figure.key])
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
