"""One kindergarten page's model part, rendered: the fan charts and their tables, the § 31/§ 37
forecasts by month, the drivers and the monthly history, for one language and audience (viewers
see decision counts under 5 as "<5"). :mod:`serving.app.prepared` renders these ahead in a
background process and keeps them; the services use the same functions for a page made at once.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from jinja2 import Environment
from markupsafe import Markup

from data.contract import District
from data.errors import UserInputError
from models.forecast.contributions import BASE_FEATURE
from serving.app.privacy import suppress_frame
from serving.app.rendering import language_context
from serving.app.views import ChartWords, chart_table, fan_chart
from serving.i18n import N_, as_language, gettext
from serving.report.privacy import suppress_count
from training.drivers import kindergarten_drivers

#: The two kept pieces of a kindergarten page: before and after its allocations table.
SECTION_TEMPLATES = ("kindergarten_forecasts.html", "kindergarten_history.html")
TARGET_TITLES = {
    "children_under3": N_("Children under 3"),
    "children_over3": N_("Children 3 and over"),
    "vedtak_31": N_("§ 31 decisions"),
    "vedtak_37": N_("§ 37 decisions"),
    "sick_leave_rate": N_("Sick leave (share of hours)"),
    "staff_leavers": N_("Staff who left, per month"),
}
#: Targets that are shares: their charts are drawn in per cent.
PERCENT_TARGETS = ("sick_leave_rate",)
Y_TITLES = {
    "children_under3": N_("children"),
    "children_over3": N_("children"),
    "vedtak_31": N_("decisions"),
    "vedtak_37": N_("decisions"),
    "sick_leave_rate": N_("share of contracted hours (%)"),
    "staff_leavers": N_("people"),
}
#: The monthly history table: these columns, when the data have them (labels from
#: features/labels.py).
HISTORY_COLUMNS = (
    "children_under3",
    "children_over3",
    "waiting_list",
    "vedtak_31",
    "vedtak_37",
    "staff_fte",
    "pedagogue_fte",
    "resource_pedagogue_fte",
    "sick_leave_rate",
    "staff_leavers",
)
HISTORY_MONTHS = 24
DRIVER_HORIZON = 12

#: (kindergarten id, language, internal audience)
SectionKey = tuple[str, str, bool]


# --- one kindergarten's model part -------------------------------------------------------------


@dataclass(frozen=True)
class KindergartenParts:
    """One kindergarten's rows of the data set and of the engine's output."""

    history: pd.DataFrame
    forecasts: pd.DataFrame
    drivers: pd.DataFrame


def split_by_kindergarten(
    district: District, forecasts: pd.DataFrame, contributions: pd.DataFrame | None
) -> dict[str, KindergartenParts]:
    """Every kindergarten's history, forecasts and drivers, split once (a group-by) instead of
    comparing 700 kindergartens' ids on every page."""
    ids = district.kindergartens["kindergarten_id"].astype(str).tolist()

    def groups(frame: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
        if frame is None or "kindergarten_id" not in frame.columns:
            return {}
        return {str(k): g for k, g in frame.groupby("kindergarten_id", sort=False)}

    history, forecast, drivers = groups(district.monthly), groups(forecasts), groups(contributions)
    empty_history, empty_forecast = district.monthly.iloc[:0], forecasts.iloc[:0]
    no_drivers = (
        contributions.iloc[:0]
        if contributions is not None
        else pd.DataFrame(columns=["kindergarten_id", "target", "horizon", "feature"])
    )
    return {
        k: KindergartenParts(
            history.get(k, empty_history),
            forecast.get(k, empty_forecast),
            drivers.get(k, no_drivers),
        )
        for k in ids
    }


def sections_context(
    parts: KindergartenParts, kindergarten_id: str, language: str, internal: bool
) -> dict[str, Any]:
    """What the two section templates show for one kindergarten, language and audience."""
    words = ChartWords(
        observed=gettext(language, N_("observed")),
        interval90=gettext(language, N_("9 in 10 outcomes")),
        interval50=gettext(language, N_("half of the outcomes")),
        median=gettext(language, N_("forecast, median")),
        x_title=gettext(language, N_("month")),
        separators=", " if language == "nb" else ".,",
    )
    forecasts = parts.forecasts
    targets = set(forecasts["target"].astype(str))
    charts = []
    for target, title in TARGET_TITLES.items():
        if internal and target.startswith("vedtak"):
            continue  # a chart cannot show "<5"; viewers get the suppressed table instead
        if target in targets:
            text = gettext(language, title)
            charts.append(
                {
                    "id": f"chart-{target}",
                    "title": text,
                    "target": target,
                    "figure": fan_chart(
                        parts.history,
                        forecasts,
                        target,
                        title=text,
                        words=replace(
                            words,
                            y_title=gettext(language, Y_TITLES[target]),
                            percent_suffix=(
                                (" %" if language == "nb" else "%")
                                if target in PERCENT_TARGETS
                                else ""
                            ),
                        ),
                    ),
                    "table": chart_table(parts.history, forecasts, target),
                }
            )
    history = parts.history.sort_values("month").tail(HISTORY_MONTHS).iloc[::-1]
    history = history[["month", *[c for c in HISTORY_COLUMNS if c in history.columns]]]
    decisions = forecasts[forecasts["target"].astype(str).str.startswith("vedtak")]
    if internal:
        history, decisions = suppress_frame(history), suppress_frame(decisions)
    drivers = drivers_by_target(parts.drivers, kindergarten_id, internal)
    return {
        "info": {"kindergarten_id": kindergarten_id},
        "charts": charts,
        "history": history,
        "vedtak_forecasts": decisions_by_month(decisions),
        "drivers": drivers,
        "base_medians": [t for t, top in drivers.items() if (top["feature"] == BASE_FEATURE).all()],
        **language_context(as_language(language)),
    }


def decisions_by_month(forecasts: pd.DataFrame) -> list[dict[str, Any]]:
    """The § 31/§ 37 forecasts as one row per month: per target (low, median, high) — the
    10th, 50th and 90th percentiles (text "<5" where suppressed)."""
    rows: dict[str, dict[str, Any]] = {}
    for record in forecasts.sort_values(["horizon", "target"]).to_dict(orient="records"):
        row = rows.setdefault(str(record["month"]), {"month": str(record["month"])})
        row[str(record["target"])] = (record["p10"], record["p50"], record["p90"])
    return list(rows.values())


def drivers_by_target(
    contributions: pd.DataFrame, kindergarten_id: str, internal: bool
) -> dict[str, pd.DataFrame]:
    """Per target, the features that move the 12-month forecast most (SHAP, target units);
    for viewers, decision targets are left out and decision-count feature values suppressed."""
    if not {"target", "horizon", "feature", "contribution"} <= set(contributions.columns):
        return {}
    out = {}
    for target in TARGET_TITLES:
        if internal and target.startswith("vedtak"):
            continue
        try:
            top = kindergarten_drivers(
                contributions, kindergarten_id, target=target, horizon=DRIVER_HORIZON, top=5
            )
        except ValueError:
            continue
        if internal:
            top["value"] = [
                suppress_count(v) if str(f).startswith("vedtak") else v
                for f, v in zip(top["feature"], top["value"], strict=True)
            ]
        out[target] = top
    return out


def render_sections(
    environment: Environment, parts: KindergartenParts, key: SectionKey
) -> tuple[bytes, bytes]:
    """The two kept pieces of HTML of one kindergarten page, compressed."""
    kindergarten_id, language, internal = key
    context = sections_context(parts, kindergarten_id, language, internal)
    return tuple(  # type: ignore[return-value]
        zlib.compress(environment.get_template(name).render(context).encode(), 6)
        for name in SECTION_TEMPLATES
    )


def as_markup(sections: tuple[bytes, bytes]) -> tuple[Markup, Markup]:
    """Kept pieces as HTML for the page template (rendered, so escaped, by our own templates)."""
    first, second = (Markup(zlib.decompress(piece).decode()) for piece in sections)
    return first, second


def contributions(engine: Any) -> pd.DataFrame | None:
    """The engine's drivers, or None for a model without them (the page says so)."""
    try:
        return engine.contributions()  # type: ignore[no-any-return]
    except (UserInputError, AttributeError, NotImplementedError):
        return None  # a model without drivers: the page says so
