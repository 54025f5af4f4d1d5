"""The district's key figures the overview opens with, each with its trend: children now and in
12 months, § 31 and § 37 decisions, the waiting list, sick leave, staff turnover, the shares of
children with a minority language and in low-income families, and norm compliance.

One function, :func:`key_figures`, computes them from the data set and the forecasts, so the
overview page, the API and any export show the same numbers. Decision counts go through the one
privacy rule (:func:`serving.report.privacy.suppress_count`): counts under 5 are "<5" wherever the
view is internal, and the trend of a masked count is not shown (it would give the count away).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.contract import District
from models.norm_compliance import legal_now, share_compliant
from serving.report.privacy import DECISION_COUNT_COLUMNS, SUPPRESSED, suppress_count

#: a change smaller than this share of the earlier value reads as "flat"
FLAT_SHARE = 0.02
#: months back the trend compares with (a year: the kindergarten year repeats)
TREND_MONTHS = 12


@dataclass(frozen=True)
class KeyFigure:
    """One key figure: ``value`` now (a number, or "<5" where masked), ``previous`` the value it
    is compared with (12 months earlier, or now for a forecast), ``trend`` up/down/flat/"" (none
    when either is unknown or masked). ``key`` is a stable machine name; ``label`` and ``unit``
    are English words the pages translate."""

    key: str
    label: str
    unit: str
    value: float | str | None
    previous: float | str | None
    trend: str
    compared_with: str

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


def _figure(
    key: str,
    label: str,
    unit: str,
    value: float | str | None,
    previous: float | str | None,
    compared_with: str = "12 months earlier",
) -> KeyFigure:
    return KeyFigure(key, label, unit, value, previous, trend_of(value, previous), compared_with)


def _month_rows(monthly: pd.DataFrame, month: pd.Period) -> pd.DataFrame:
    return monthly[monthly["month"] == month]


def _sum(rows: pd.DataFrame, column: str) -> float | None:
    if column not in rows or rows[column].notna().sum() == 0:
        return None
    return float(rows[column].sum())


def _weighted(rows: pd.DataFrame, column: str, weight: pd.Series) -> float | None:
    if column not in rows:
        return None
    known = rows[column].notna() & weight.notna() & (weight > 0)
    if not known.any():
        return None
    return float(np.average(rows.loc[known, column], weights=weight[known]))


def _children(rows: pd.DataFrame) -> pd.Series:
    return rows["children_under3"].astype(float) + rows["children_over3"].astype(float)


def _window(monthly: pd.DataFrame, last: pd.Period, back: int) -> pd.DataFrame:
    """The 12 months ending ``back`` months before ``last``."""
    end = last - back
    return monthly[(monthly["month"] > end - TREND_MONTHS) & (monthly["month"] <= end)]


def _sick_leave(window: pd.DataFrame) -> float | None:
    if "sick_leave_rate" not in window or window.empty:
        return None
    return _weighted(window, "sick_leave_rate", window["staff_fte"].astype(float))


def _turnover(window: pd.DataFrame) -> float | None:
    """Leavers over 12 months per contracted staff FTE (the mean over the months)."""
    if "staff_leavers" not in window or window["staff_leavers"].notna().sum() == 0:
        return None
    per_month = window.groupby("month")["staff_fte"].sum()
    staff = float(per_month.mean()) if len(per_month) else 0.0
    return float(window["staff_leavers"].sum()) / staff if staff > 0 else None


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


def key_figures(
    district: District, forecasts: pd.DataFrame, *, internal: bool = False
) -> list[KeyFigure]:
    """The key figures of ``district`` (already cut to what the viewer may see), now against 12
    months earlier, and children in 12 months (forecast median) against now. ``internal``: the
    view leaves the protected zone (a viewer's page, an export), so decision counts under 5 are
    masked."""
    monthly = district.monthly.copy()
    monthly["month"] = pd.PeriodIndex(monthly["month"], freq="M")
    if monthly.empty:
        return []
    last = monthly["month"].max()
    now, before = _month_rows(monthly, last), _month_rows(monthly, last - TREND_MONTHS)
    ids = set(now["kindergarten_id"].astype(str))
    children_now = float(_children(now).sum())
    children_before = float(_children(before).sum()) if len(before) else None
    figures = [
        _figure("children_now", "Children now", "children", children_now, children_before),
        _figure(
            "children_12m",
            "Children in 12 months (forecast median)",
            "children",
            _children_in_12_months(forecasts, ids),
            children_now,
            "now",
        ),
    ]
    labels = {"vedtak_31": "§ 31 decisions", "vedtak_37": "§ 37 decisions"}
    for column in DECISION_COUNT_COLUMNS:
        value = _decisions(_sum(now, column), internal)
        previous = _decisions(_sum(before, column), internal)
        figures.append(_figure(column, labels[column], "decisions", value, previous))
    figures.append(
        _figure(
            "waiting_list",
            "Waiting list",
            "children",
            _sum(now, "waiting_list"),
            _sum(before, "waiting_list"),
        )
    )
    figures.append(
        _figure(
            "sick_leave",
            "Sick leave, last 12 months",
            "share",
            _sick_leave(_window(monthly, last, 0)),
            _sick_leave(_window(monthly, last, TREND_MONTHS)),
        )
    )
    figures.append(
        _figure(
            "turnover",
            "Staff turnover, last 12 months",
            "share",
            _turnover(_window(monthly, last, 0)),
            _turnover(_window(monthly, last, TREND_MONTHS)),
        )
    )
    for column, label in (
        ("minority_language_share", "Children with a minority language"),
        ("low_income_share", "Children in low-income families"),
    ):
        figures.append(
            _figure(
                column,
                label,
                "share",
                _weighted(now, column, _children(now)),
                _weighted(before, column, _children(before)) if len(before) else None,
            )
        )
    figures.append(
        _figure(
            "norm_compliance",
            "Kindergartens meeting both norms on paper",
            "share",
            _compliance(now),
            _compliance(before),
        )
    )
    return figures


def key_figures_frame(figures: list[KeyFigure]) -> pd.DataFrame:
    """The figures as a table with stable machine column names (for exports and the API)."""
    return pd.DataFrame(
        [
            {
                "key": f.key,
                "label": f.label,
                "unit": f.unit,
                "value": f.value,
                "previous": f.previous,
                "change": f.change,
                "trend": f.trend,
                "compared_with": f.compared_with,
            }
            for f in figures
        ],
        columns=["key", "label", "unit", "value", "previous", "change", "trend", "compared_with"],
    )
