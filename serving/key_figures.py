"""The district's key figures, one definition each, for every place that shows them: the
overview's key figures (children now and in 12 months, § 31 and § 37 decisions, the waiting
list, sick leave, staff turnover, the shares of children with a minority language and in
low-income families, and norm compliance, each with its trend), the dashboard's cards and
figure pages, the overview table's per-kindergarten columns, the API and the Power BI export.

A figure measured per kindergarten and month is defined once in :data:`MONTHLY` and computed by
:func:`kindergarten_series` (one value and weight per kindergarten and month) and
:func:`district_series` (the district's value per month, weighted as the figure demands); the
key figures take the district's value of the last month from there, so a card and the key
figures table cannot disagree. Sick leave and turnover are over the last 12 months (one month
of sick leave swings with the season): sick leave as the share of contracted hours, weighted by
contracted FTE; turnover as the staff who left per mean contracted FTE, a share a year.

Decision counts go through the one privacy rule (:func:`serving.report.privacy.suppress_count`):
counts under 5 are "<5" wherever the view is internal, and the trend of a masked count is not
shown (it would give the count away).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.contract import District
from models.norm_compliance import legal_now, share_compliant
from serving.formatting import format_count, format_nok, format_number, format_percent
from serving.i18n import N_, gettext
from serving.report.privacy import DECISION_COUNT_COLUMNS, SUPPRESSED, suppress_count

#: a change smaller than this share of the earlier value reads as "flat"
FLAT_SHARE = 0.02
#: months back the trend compares with (a year: the kindergarten year repeats), and the window
#: of sick leave and turnover
TREND_MONTHS = 12
#: a kindergarten's 12-month sick leave or turnover needs at least this many months of data
MIN_WINDOW_MONTHS = 6


@dataclass(frozen=True)
class MonthlyFigure:
    """A figure measured per kindergarten and month: its stable key, its label (an English
    msgid, the same wherever it is shown), its unit (count or share) and the monthly columns
    it needs."""

    key: str
    label: str
    unit: str
    needs: tuple[str, ...]


#: Every figure measured per kindergarten and month, by its key (the dashboard's figure keys).
MONTHLY: dict[str, MonthlyFigure] = {
    f.key: f
    for f in (
        MonthlyFigure(
            "children",
            N_("Children in kindergarten"),
            "count",
            ("children_under3", "children_over3"),
        ),
        MonthlyFigure(
            "applicants", N_("Applicants on the waiting list"), "count", ("waiting_list",)
        ),
        MonthlyFigure(
            "vedtak_31_share", N_("Share of children with a § 31 decision"), "share", ("vedtak_31",)
        ),
        MonthlyFigure(
            "vedtak_37_share", N_("Share of children with a § 37 decision"), "share", ("vedtak_37",)
        ),
        MonthlyFigure(
            "minority_language_share",
            N_("Share of minority-language children"),
            "share",
            ("minority_language_share",),
        ),
        MonthlyFigure(
            "low_income_share",
            N_("Share of children in low-income households"),
            "share",
            ("low_income_share",),
        ),
        MonthlyFigure(
            "sick_leave_rate",
            N_("Sick leave, last 12 months (share of contracted hours)"),
            "share",
            ("sick_leave_rate", "staff_fte"),
        ),
        MonthlyFigure(
            "turnover",
            N_("Staff turnover, last 12 months (leavers as a share of FTE)"),
            "share",
            ("staff_leavers", "staff_fte"),
        ),
    )
}


def format_figure(value: float | str | None, unit: str, language: str = "nb") -> str:
    """A key figure's value as every page shows it: shares as % with one decimal, counts whole,
    kroner as kr, scores with one decimal; a masked "<5" as it is; "–" when unknown."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if isinstance(value, str):
        return value
    if unit == "share":
        return format_percent(value, 1, language)
    if unit == "count":
        return format_count(value, language)
    if unit == "nok":
        return format_nok(value, language)
    return format_number(value, 1, language)


def _column(monthly: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(monthly[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _window_sums(values: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's sum over its kindergarten's last :data:`TREND_MONTHS` rows up to it (rows
    sorted by kindergarten and month; ``starts``: the index of each row's kindergarten's first
    row), and how many of them were known; the sum is NaN where fewer than
    :data:`MIN_WINDOW_MONTHS` were. Cumulative sums, so a nation's 600,000 rows take
    milliseconds."""
    known = np.isfinite(values)
    total = np.concatenate([[0.0], np.cumsum(np.where(known, values, 0.0))])
    count = np.concatenate([[0.0], np.cumsum(known)])
    rows = np.arange(len(values))
    first = np.maximum(rows + 1 - TREND_MONTHS, starts)  # the window's first row
    sums = total[rows + 1] - total[first]
    counts = count[rows + 1] - count[first]
    return np.where(counts >= MIN_WINDOW_MONTHS, sums, np.nan), counts


def kindergarten_series(monthly: pd.DataFrame, figure: MonthlyFigure) -> pd.DataFrame:
    """kindergarten_id, month, value and weight of ``figure``, sorted by kindergarten and month:
    the value a kindergarten had in that month (for sick leave and turnover: over the 12 months
    up to it), and the weight its value carries in the district's (children for shares of
    children, contracted FTE for sick leave and turnover, 1 for counts)."""
    # the columns this figure reads, the rest of a nation's table is not copied
    wanted = ["kindergarten_id", "month", "children_under3", "children_over3", *figure.needs]
    monthly = monthly[list(dict.fromkeys(wanted))]
    codes, _ = pd.factorize(monthly["kindergarten_id"].astype(str))
    order = np.lexsort((pd.PeriodIndex(monthly["month"], freq="M").asi8, codes))
    monthly = monthly.iloc[order].reset_index(drop=True)
    codes = codes[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    starts = starts[np.cumsum(np.r_[True, codes[1:] != codes[:-1]]) - 1]
    children = _column(monthly, "children_under3") + _column(monthly, "children_over3")
    key = figure.key
    if key == "children":
        value, weight = children, np.ones(len(monthly))
    elif key == "applicants":
        value, weight = _column(monthly, "waiting_list"), np.ones(len(monthly))
    elif key in ("vedtak_31_share", "vedtak_37_share"):
        with np.errstate(invalid="ignore", divide="ignore"):
            value = _column(monthly, key.removesuffix("_share")) / children
        weight = children
    elif key in ("minority_language_share", "low_income_share"):
        value, weight = _column(monthly, key), children
    elif key == "sick_leave_rate":
        # hours lost over contracted hours in the window: FTE-weighted over its months
        staff = _column(monthly, "staff_fte")
        sick = _column(monthly, "sick_leave_rate")
        known = np.isfinite(sick) & np.isfinite(staff)
        lost, _ = _window_sums(np.where(known, sick * staff, np.nan), starts)
        weight, _ = _window_sums(np.where(known, staff, np.nan), starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = lost / weight
    elif key == "turnover":
        # leavers in the window per mean contracted FTE over it (a share a year)
        left, n_left = _window_sums(_column(monthly, "staff_leavers"), starts)
        staff, n_staff = _window_sums(_column(monthly, "staff_fte"), starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            weight = staff / n_staff  # the mean contracted FTE
            value = left / n_left * TREND_MONTHS / weight
    else:
        raise KeyError(f"no monthly key figure {key!r}")
    return pd.DataFrame(
        {
            "kindergarten_id": monthly["kindergarten_id"].astype(str),
            "month": monthly["month"],
            "value": value,
            "weight": weight,
        }
    )


def district_series(series: pd.DataFrame, unit: str) -> pd.DataFrame:
    """month, value for the district: sums for counts and kroner, weighted means for shares and
    rates, plain means over kindergartens for survey scores (weight 1)."""
    frame = series.dropna(subset=["value"])
    if unit in ("count", "nok"):
        out = frame.groupby("month")["value"].sum()
    else:
        weight = frame["weight"].fillna(0.0)
        weighted = (frame["value"] * weight).groupby(frame["month"]).sum()
        total = weight.groupby(frame["month"]).sum()
        out = (weighted / total.replace(0, np.nan)).dropna()
    return out.rename("value").reset_index().sort_values("month", ignore_index=True)


def district_values(monthly: pd.DataFrame, key: str) -> pd.Series:
    """The district's value of monthly figure ``key`` per month (a Series by monthly Period;
    empty when the data lack a column it needs)."""
    figure = MONTHLY[key]
    if not all(c in monthly.columns for c in figure.needs):
        return pd.Series(dtype=float)
    by_month = district_series(kindergarten_series(monthly, figure), figure.unit)
    return pd.Series(
        by_month["value"].to_numpy(dtype=float),
        index=pd.PeriodIndex(by_month["month"], freq="M"),
    )


def value_in(values: pd.Series, month: pd.Period) -> float | None:
    """``values``' value in ``month`` (None when not there)."""
    found = values[values.index == month]
    return float(found.iloc[0]) if len(found) else None


@dataclass(frozen=True)
class KeyFigure:
    """One key figure: ``value`` now (a number, or "<5" where masked), ``previous`` the value it
    is compared with (12 months earlier, or now for a forecast), ``trend`` up/down/flat/"" (none
    when either is unknown or masked). ``key`` is a stable machine name; ``label`` (an English
    msgid the pages translate) says what it is and over which period; ``month`` is the month
    it is measured in (for a forecast: the month it is made from); ``details`` the key of the
    dashboard page that shows it per kindergarten ("" when none does)."""

    key: str
    label: str
    unit: str
    value: float | str | None
    previous: float | str | None
    trend: str
    compared_with: str
    month: str = ""
    details: str = ""

    @property
    def change(self) -> float | None:
        if isinstance(self.value, int | float) and isinstance(self.previous, int | float):
            return float(self.value) - float(self.previous)
        return None


def trend_of(value: float | str | None, previous: float | str | None) -> str:
    if not isinstance(value, int | float) or not isinstance(previous, int | float):
        return ""
    if not (np.isfinite(value) and np.isfinite(previous)):
        return ""
    if abs(value - previous) <= FLAT_SHARE * max(abs(previous), 1e-9):
        return "flat"
    return "up" if value > previous else "down"


def _month_rows(monthly: pd.DataFrame, month: pd.Period) -> pd.DataFrame:
    return monthly[monthly["month"] == month]


def _sum(rows: pd.DataFrame, column: str) -> float | None:
    if column not in rows or rows[column].notna().sum() == 0:
        return None
    return float(rows[column].sum())


def _compliance(rows: pd.DataFrame) -> float | None:
    if rows.empty:
        return None
    share = share_compliant(legal_now(rows)["legal_ok_now"])
    return None if np.isnan(share) else share


def _decisions(value: float | None, internal: bool) -> float | str | None:
    if value is None or not internal:
        return value
    shown = suppress_count(value)
    return shown if shown == SUPPRESSED else value


def _children_in_12_months(forecasts: pd.DataFrame, ids: set[str]) -> float | None:
    fc = forecasts[forecasts["kindergarten_id"].isin(ids)]
    if fc.empty:
        return None
    fc = fc[fc["origin"].astype(str) == fc["origin"].astype(str).max()]
    fc = fc[fc["horizon"] == min(TREND_MONTHS, int(fc["horizon"].max()))]
    children = fc[fc["target"].isin(["children_under3", "children_over3"])]
    return float(children["p50"].sum()) if len(children) else None


#: The key figures taken from a monthly figure: key figure → (monthly figure, label). The label
#: of each is the monthly figure's own, so the overview and the dashboard name it alike.
FROM_MONTHLY = (
    ("children_now", "children"),
    ("waiting_list", "applicants"),
    ("sick_leave", "sick_leave_rate"),
    ("turnover", "turnover"),
    ("minority_language_share", "minority_language_share"),
    ("low_income_share", "low_income_share"),
)
#: Decision counts (the dashboard shows them as shares of the children, under its own label).
DECISION_LABELS = {
    "vedtak_31": N_("Children with a § 31 decision (count)"),
    "vedtak_37": N_("Children with a § 37 decision (count)"),
}


def key_figures(
    district: District, forecasts: pd.DataFrame, *, internal: bool = False
) -> list[KeyFigure]:
    """The key figures of ``district`` (already cut to what the viewer may see), in its last
    month against 12 months earlier, and children in 12 months (forecast median) against now.
    ``internal``: the view leaves the protected zone (a viewer's page, an export), so decision
    counts under 5 are masked."""
    monthly = district.monthly.copy()
    if monthly.empty:
        return []
    monthly["month"] = pd.PeriodIndex(monthly["month"], freq="M")
    last = monthly["month"].max()
    before_month = last - TREND_MONTHS
    now, before = _month_rows(monthly, last), _month_rows(monthly, before_month)
    shown_month = last.strftime("%m.%Y")
    earlier = "12 months earlier"

    def monthly_figure(key: str, series: str) -> KeyFigure:
        figure = MONTHLY[series]
        values = district_values(monthly, series)
        value, previous = value_in(values, last), value_in(values, before_month)
        return KeyFigure(
            key,
            figure.label,
            figure.unit,
            value,
            previous,
            trend_of(value, previous),
            earlier,
            shown_month,
            series,
        )

    figures = {key: monthly_figure(key, series) for key, series in FROM_MONTHLY}
    children_now = figures["children_now"].value
    children_12m = _children_in_12_months(forecasts, set(now["kindergarten_id"].astype(str)))
    figures["children_12m"] = KeyFigure(
        "children_12m",
        N_("Children in 12 months (forecast median)"),
        "count",
        children_12m,
        children_now,
        trend_of(children_12m, children_now),
        "now",
        shown_month,
    )
    for column in DECISION_COUNT_COLUMNS:
        value = _decisions(_sum(now, column), internal)
        previous = _decisions(_sum(before, column), internal)
        figures[column] = KeyFigure(
            column,
            DECISION_LABELS[column],
            "count",
            value,
            previous,
            trend_of(value, previous),
            earlier,
            shown_month,
            f"{column}_share",
        )
    compliance, compliance_before = _compliance(now), _compliance(before)
    figures["norm_compliance"] = KeyFigure(
        "norm_compliance",
        N_("Kindergartens meeting both norms on paper"),
        "share",
        compliance,
        compliance_before,
        trend_of(compliance, compliance_before),
        earlier,
        shown_month,
    )
    order = (
        "children_now",
        "children_12m",
        "vedtak_31",
        "vedtak_37",
        "waiting_list",
        "sick_leave",
        "turnover",
        "minority_language_share",
        "low_income_share",
        "norm_compliance",
    )
    return [figures[key] for key in order if key in figures]


KEY_FIGURE_COLUMNS = [
    "key",
    "label",
    "unit",
    "month",
    "value",
    "previous",
    "change",
    "trend",
    "compared_with",
]


def key_figures_frame(figures: list[KeyFigure], language: str = "en") -> pd.DataFrame:
    """The figures as a table with stable machine column names (the Power BI export
    ``key_figures``; docs/POWERBI.md), each labelled in ``language``."""
    return pd.DataFrame(
        [
            {
                "key": f.key,
                "label": gettext(language, f.label),
                "unit": f.unit,
                "month": f.month,
                "value": f.value,
                "previous": f.previous,
                "change": f.change,
                "trend": f.trend,
                "compared_with": f.compared_with,
            }
            for f in figures
        ],
        columns=KEY_FIGURE_COLUMNS,
    )
