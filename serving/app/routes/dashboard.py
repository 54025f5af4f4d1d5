"""The district dashboard: key-figure cards, a page per key figure, and a kindergarten's
indicators (shown on its page). Needs the data set only, not a trained model."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from data.contract import District
from serving.app import dashboard as dash
from serving.app import services
from serving.app.deps import CurrentUser, EngineDep
from serving.app.privacy import is_internal_view
from serving.app.rendering import page_language
from serving.app.routes.common import render
from serving.app.services import NotFound
from serving.i18n import N_, Message, gettext

router = APIRouter(prefix="/dashboard", tags=["dashboard"], default_response_class=HTMLResponse)
#: Kindergartens listed as furthest from the district's median.
N_FURTHEST = 8


def _cards(
    district: District, language: str, internal: bool
) -> tuple[list[dash.Card], list[dash.Figure]]:
    figures = dash.all_figures()
    present = [f for f in figures if dash.is_present(district, f)]
    absent = [f for f in figures if f not in present]
    return [dash.card(district, f, language, internal=internal) for f in present], absent


def _cached_cards(
    request: Request, user: CurrentUser, state: EngineDep
) -> tuple[list[dash.Card], list[dash.Figure]]:
    district = services.visible_data(state, user)
    language = page_language(request)
    internal = is_internal_view(user)
    return state.derived(
        ("dashboard-cards", user.district, language, internal),
        lambda: _cards(district, language, internal),
    )


@router.get("", summary="District dashboard: key-figure cards")
def dashboard(request: Request, user: CurrentUser, state: EngineDep) -> Response:
    cards, absent = _cached_cards(request, user, state)
    return render(request, "dashboard.html", {"cards": cards, "absent": absent, "partial": False})


@router.get("/cards", summary="The key-figure cards alone (for the overview)")
def dashboard_cards(
    request: Request,
    user: CurrentUser,
    state: EngineDep,
    group: Annotated[Literal["all", "quality"], Query()] = "all",
) -> Response:
    """All cards, or (``group=quality``) the quality indicators' alone: the overview shows the
    figures measured per month in its key-figures table, from the same definitions."""
    cards, absent = _cached_cards(request, user, state)
    if group == "quality":
        cards = [c for c in cards if c.figure.indicator is not None]
        absent = [f for f in absent if f.indicator is not None]
    return render(
        request, "dashboard_cards.html", {"cards": cards, "absent": absent, "group": group}
    )


@router.get("/kindergartens/{kindergarten_id}", summary="A kindergarten's indicators")
def kindergarten_indicators(
    request: Request, kindergarten_id: str, user: CurrentUser, state: EngineDep
) -> Response:
    district = services.visible_data(state, user)
    if kindergarten_id not in set(district.kindergartens["kindergarten_id"].astype(str)):
        raise NotFound(
            Message(N_("No kindergarten %(kindergarten)s."), kindergarten=repr(kindergarten_id))
        )
    internal = is_internal_view(user)
    language = page_language(request)
    rows = []
    for figure in dash.all_figures():
        if not dash.is_present(district, figure):
            rows.append({"figure": figure, "absent": True})
            continue
        series = dash.kindergarten_series(district, figure)
        latest = dash.latest_per_kindergarten(series)
        own = latest[latest["kindergarten_id"] == kindergarten_id]
        median = float(np.nanmedian(latest["value"])) if len(latest) else np.nan
        if own.empty:
            rows.append(
                {"figure": figure, "absent": False, "value": "–", "month": "", "median": ""}
            )
            continue
        value = float(own["value"].iloc[0])
        rows.append(
            {
                "figure": figure,
                "absent": False,
                "value": dash.shown_value(
                    figure,
                    value,
                    internal=internal,
                    count=_count(district, figure, own),
                    language=language,
                ),
                "month": pd.Period(own["month"].iloc[0], freq="M").strftime("%m.%Y"),
                "median": dash.shown_value(figure, median, internal=False, language=language),
            }
        )
    return render(
        request, "dashboard_kindergarten.html", {"rows": rows, "kindergarten_id": kindergarten_id}
    )


@router.get("/{key}", summary="One key figure")
def figure_page(request: Request, key: str, user: CurrentUser, state: EngineDep) -> Response:
    figure = dash.figure_by_key(key)
    if figure is None:
        raise NotFound(Message(N_("No key figure %(key)s."), key=repr(key)))
    district = services.visible_data(state, user)
    language = page_language(request)
    context: dict[str, Any] = {
        "figure": figure,
        "present": dash.is_present(district, figure),
        "files": dash.figure_source_files(district, figure),
        "publication": dash.publication_text(district, figure, language),
    }
    if context["present"]:
        context |= _figure_details(
            district, figure, internal=is_internal_view(user), language=language
        )
    return render(request, "dashboard_figure.html", context)


def _count(district: District, figure: dash.Figure, rows: pd.DataFrame) -> float | None:
    """The decision count behind a § 31/§ 37 share (for the "<5" rule)."""
    if not figure.key.startswith("vedtak_"):
        return None
    column = figure.key.removesuffix("_share")
    monthly = district.monthly
    merged = rows.merge(
        monthly[["kindergarten_id", "month", column]], on=["kindergarten_id", "month"], how="left"
    )
    value = pd.to_numeric(merged[column], errors="coerce").iloc[0] if len(merged) else np.nan
    return float(value)


def _figure_details(
    district: District, figure: dash.Figure, *, internal: bool, language: str
) -> dict[str, Any]:
    series = dash.kindergarten_series(district, figure)
    history = dash.district_series(series, figure)
    latest = dash.latest_per_kindergarten(series)
    kindergartens = district.kindergartens.assign(
        kindergarten_id=district.kindergartens["kindergarten_id"].astype(str)
    ).set_index("kindergarten_id")
    latest["name"] = latest["kindergarten_id"].map(kindergartens["name"])
    latest["area"] = latest["kindergarten_id"].map(
        kindergartens["area"] if "area" in kindergartens else pd.Series(dtype=object)
    )
    median = float(np.nanmedian(latest["value"])) if len(latest) else np.nan
    latest["distance"] = (latest["value"] - median).abs()
    furthest = latest.sort_values("distance", ascending=False).head(N_FURTHEST)
    hide_counts = figure.sensitive and internal
    scale = 100.0 if figure.unit == "share" else 1.0
    charts = [
        {
            "id": "history",
            "figure": _line(history, figure, scale, language),
        }
    ]
    if not hide_counts:  # a chart cannot show "<5"; viewers see the tables instead
        charts.append({"id": "distribution", "figure": _histogram(latest, figure, scale, language)})
    rows = furthest.to_dict(orient="records")
    return {
        "median": dash.shown_value(figure, median, internal=False, language=language),
        "n_kindergartens": len(latest),
        "charts": charts,
        "furthest": [
            _furthest_row(district, figure, row, median, internal, language) for row in rows
        ],
        "by_area": _grouped(latest, "area", figure, internal, language),
        "by_living": _by_living_conditions(district, latest, figure, internal, language),
    }


def _furthest_row(
    district: District,
    figure: dash.Figure,
    row: dict[Any, Any],
    median: float,
    internal: bool,
    language: str,
) -> dict[str, str]:
    value = float(row["value"])
    count = _count(district, figure, pd.DataFrame([row]))
    return {
        "kindergarten_id": str(row["kindergarten_id"]),
        "name": str(row["name"]),
        "value": dash.shown_value(figure, value, internal=internal, count=count, language=language),
        "direction": gettext(
            language,
            N_("above") if value > median else N_("below") if value < median else N_("at"),
        ),
    }


def _grouped(
    latest: pd.DataFrame, column: str, figure: dash.Figure, internal: bool, language: str
) -> list[dict]:
    frame = latest.dropna(subset=[column])
    if frame.empty:
        return []
    out = []
    for name, group in frame.groupby(column, sort=True):
        weight = group["weight"].fillna(0.0).to_numpy(dtype=float)
        values = group["value"].to_numpy(dtype=float)
        if figure.unit in ("count", "nok"):
            value = float(np.nansum(values))
        elif weight.sum() > 0:
            value = float(np.nansum(values * weight) / weight.sum())
        else:
            value = float(np.nanmean(values))
        out.append(
            {
                "name": str(name),
                "n": len(group),
                "value": dash.shown_value(
                    figure, value, internal=internal, count=None, language=language
                ),
            }
        )
    return out


#: The thirds of the kindergartens by their low-income share, lowest first.
LIVING_THIRDS = (
    N_("low share in low-income households"),
    N_("middle share in low-income households"),
    N_("high share in low-income households"),
)


def _by_living_conditions(
    district: District, latest: pd.DataFrame, figure: dash.Figure, internal: bool, language: str
) -> list[dict]:
    """The figure by thirds of the kindergartens' low-income share (the living-conditions
    measure the data hold)."""
    low_income = dash.figure_by_key("low_income_share")
    if low_income is None or not dash.is_present(district, low_income):
        return []
    shares = dash.latest_per_kindergarten(dash.kindergarten_series(district, low_income))
    share = latest["kindergarten_id"].map(shares.set_index("kindergarten_id")["value"])
    if share.notna().sum() < 3:
        return []
    # "1", "2", "3" sort in order; each group is named in words after grouping
    thirds = pd.qcut(share.rank(method="first"), 3, labels=["1", "2", "3"])
    frame = latest.assign(group=thirds.astype(str))
    groups = _grouped(frame[thirds.notna().to_numpy()], "group", figure, internal, language)
    for group in groups:
        group["name"] = gettext(language, LIVING_THIRDS[int(group["name"]) - 1])
    return groups


def _line(history: pd.DataFrame, figure: dash.Figure, scale: float, language: str) -> dict:
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers" if len(history) < 40 else "lines",
                "name": gettext(language, N_("The district")),
                "x": [str(m) for m in history["month"]],
                "y": (history["value"].to_numpy(dtype=float) * scale).round(4).tolist(),
                "line": {"color": "#08306b"},
            }
        ],
        "layout": _layout(gettext(language, N_("Over time")), figure, scale, language),
    }


def _histogram(latest: pd.DataFrame, figure: dash.Figure, scale: float, language: str) -> dict:
    return {
        "data": [
            {
                "type": "histogram",
                "x": (latest["value"].to_numpy(dtype=float) * scale).round(4).tolist(),
                "marker": {"color": "#4292c6"},
                "nbinsx": 20,
            }
        ],
        "layout": _layout(
            gettext(language, N_("Spread across the kindergartens (latest value of each)")),
            figure,
            scale,
            language,
        )
        | {
            "xaxis": _value_axis(figure, scale, language),
            "yaxis": {"title": {"text": gettext(language, N_("Number of kindergartens"))}},
        },
    }


def _value_axis(figure: dash.Figure, scale: float, language: str) -> dict:
    """The axis a figure's values are on: its unit on every tick (the page's heading names the
    figure, so the axis needs no title that a narrow chart would cut)."""
    if scale == 100.0:
        suffix = " %" if language == "nb" else "%"
    elif figure.unit == "nok":
        suffix = " kr" if language == "nb" else " NOK"
    else:
        suffix = ""
    return {"ticksuffix": suffix, "tickformat": ",~r"}


def _layout(title: str, figure: dash.Figure, scale: float, language: str) -> dict:
    return {
        "title": {"text": title, "font": {"size": 14}},
        "height": 320,
        "margin": {"l": 70, "r": 20, "t": 40, "b": 40},
        # Plotly's separators: decimal mark, then thousands mark
        "separators": ", " if language == "nb" else ". ",
        "yaxis": _value_axis(figure, scale, language),
        "showlegend": False,
    }
