"""What the overview and kindergarten pages show, computed from the data set and the champion's
forecasts as plain DataFrame → DataFrame functions (no web, no store)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from markupsafe import escape

from data.contract import QUANTILE_COLUMNS, QUANTILES, District
from models.allocation import DEFAULT_STEP_FTE
from models.norm_compliance import breach_probabilities, compliance_by_kindergarten, legal_now
from models.norms import pedagogue_positions, staffing_need_fte
from serving.key_figures import MONTHLY, kindergarten_series

#: Risk-flag thresholds (shown on the page beside the flags, so a planner knows what they mean).
HIGH_SICK_LEAVE_SHARE = 0.12
HIGH_TURNOVER_SHARE_PER_YEAR = 0.25
BREACH_FLAG_PROBABILITY = 0.2
#: The legal flag's forecast part: more likely than not, in a forecast month with staffing as
#: now, to fall short of the staffing norm by at least one hiring step of basic staff, or of the
#: pedagogue norm. Kindergartens staffed to the norm sit at its edge, so a 20 % chance of being
#: a few tenths short as children are admitted flagged almost all of them (demo: 24 of the 29
#: that meet the norms on paper); those tenths are the routine adjustment, not a breach.
LEGAL_FLAG_PROBABILITY = 0.5
#: The hiring step the legal flag counts in: the district's default for basic staff.
LEGAL_FLAG_STAFF_STEP_FTE = float(DEFAULT_STEP_FTE[0])
#: joint scenarios the overview's breach probabilities are shares of
OVERVIEW_SCENARIOS = 200


def latest_value(monthly: pd.DataFrame, key: str) -> pd.Series:
    """Each kindergarten's value of monthly key figure ``key`` in its last month (NaN where the
    data lack it), by kindergarten_id."""
    figure = MONTHLY[key]
    if not all(c in monthly.columns for c in figure.needs):
        return pd.Series(dtype=float)
    series = kindergarten_series(monthly, figure)
    return series.groupby("kindergarten_id").tail(1).set_index("kindergarten_id")["value"]


def _wide_forecasts(forecasts: pd.DataFrame, target: str) -> pd.DataFrame:
    rows = forecasts[forecasts["target"] == target]
    return rows.set_index(["kindergarten_id", "horizon"])[list(QUANTILE_COLUMNS)]


def exceedance_probability(quantiles: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """P(value > threshold) per row, from the forecast quantiles (p05…p95) by linear interpolation
    of the quantile function; beyond the outer quantiles it is clipped to [0.025, 0.975]'s side
    (a forecast only says "at most 5 %" there, so the tails are split evenly)."""
    levels = np.asarray(QUANTILES)
    out = np.empty(len(threshold))
    for i, (row, limit) in enumerate(zip(quantiles, threshold, strict=True)):
        if limit < row[0]:
            out[i] = 1 - levels[0] / 2
        elif limit >= row[-1]:
            out[i] = levels[0] / 2 if limit == row[-1] else 0.0
        else:
            out[i] = 1 - float(np.interp(limit, row, levels))
    return out


def norm_compliance(
    latest: pd.DataFrame,
    forecasts: pd.DataFrame,
    *,
    pit_history: pd.DataFrame | None = None,
    n_scenarios: int = OVERVIEW_SCENARIOS,
) -> pd.DataFrame:
    """Per kindergarten (``latest``: its last month, indexed by id): legal compliance now and the
    probabilities, over joint scenarios of the forecast months (no cap), of a legal breach and of
    an effective shortfall after sick leave (:mod:`models.norm_compliance`)."""
    from models.needs import simulate_needs

    now = legal_now(latest)
    fc = forecasts[forecasts["kindergarten_id"].isin(latest.index)]
    if fc.empty:
        return now
    if fc["month"].dtype == object:
        fc = fc.assign(
            month=pd.PeriodIndex(fc["month"], freq="M"),
            origin=pd.PeriodIndex(fc["origin"], freq="M"),
        )
    latest_origin = fc["origin"].max()
    fc = fc[fc["origin"] == latest_origin]
    months = pd.PeriodIndex(sorted(fc["month"].unique()), freq="M")
    ids = tuple(str(k) for k in latest.index)
    current = np.column_stack(
        [
            latest[column].astype(float).fillna(0.0).to_numpy()
            if column in latest
            else np.zeros(len(latest))
            for column in ("staff_fte", "pedagogue_fte", "resource_pedagogue_fte")
        ]
    )
    needs = simulate_needs(
        fc,
        kindergarten_ids=ids,
        months=months,
        current_fte=current,
        pit_history=pit_history,
        n_scenarios=n_scenarios,
        seed=0,
    )
    probabilities = breach_probabilities(needs, staff_step_fte=LEGAL_FLAG_STAFF_STEP_FTE)
    return now.join(compliance_by_kindergarten(probabilities))


#: Oslo's districts are its bydeler, named "Bydel …"; elsewhere the district column of a national
#: data set holds the municipality itself (one kindergarten authority per municipality)
OSLO = "Oslo"
BYDEL_PREFIX = "Bydel "


def municipality_of(kindergartens: pd.DataFrame) -> pd.Series:
    """Each kindergarten's municipality (kommune), indexed like ``kindergartens``: its
    ``municipality`` column when the data have one, else Oslo for a district named "Bydel …"
    and the district itself for any other."""
    if "municipality" in kindergartens.columns:
        return kindergartens["municipality"].astype(str)
    district = kindergartens["district"].astype(str)
    return district.where(~district.str.startswith(BYDEL_PREFIX), OSLO)


def overview_table(
    district: District, forecasts: pd.DataFrame, *, pit_history: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per kindergarten: today's children and staffing, forecast children (p10/p50/p90
    per month, for the band), the norms' need against current staffing and the risk flags.
    ``flag_breach`` is the legal question (contracted FTE against the norms, now or with
    probability ≥ :data:`LEGAL_FLAG_PROBABILITY` in a forecast month, counted in hiring steps:
    :data:`LEGAL_FLAG_STAFF_STEP_FTE`); effective cover after
    sick leave is ``effective_breach_probability`` / ``flag_effective_cover``, apart.

    Total children and over-3 equivalents combine the under-3 and over-3 forecasts quantile by
    quantile, i.e. as if the two moved together — a cautious (wider) band.
    """
    monthly = district.monthly
    last = (
        monthly.sort_values("month").groupby("kindergarten_id").tail(1).set_index("kindergarten_id")
    )
    rows = district.kindergartens.set_index("kindergarten_id")[
        [c for c in ("name", "district", "area", "capacity") if c in district.kindergartens]
    ].copy()
    rows.insert(
        list(rows.columns).index("district"),
        "municipality",
        municipality_of(district.kindergartens).set_axis(rows.index),
    )
    # closed kindergartens have no forecast and no place in a plan: the overview leaves them out
    forecast_ids = set(forecasts["kindergarten_id"])
    rows = rows.loc[rows.index.isin(last.index) & rows.index.isin(forecast_ids)]
    rows["last_month"] = last["month"].astype(str)
    rows["children_under3"] = last["children_under3"]
    rows["children_over3"] = last["children_over3"]
    rows["children_now"] = last["children_under3"] + last["children_over3"]
    rows["staff_fte"] = last["staff_fte"]
    rows["pedagogue_fte"] = last["pedagogue_fte"]
    rows["vedtak_31"] = last.get("vedtak_31", np.nan)
    rows["vedtak_37"] = last.get("vedtak_37", np.nan)
    # the same 12-month definitions as the district's key figures (serving/key_figures.py)
    rows["sick_leave_12m"] = latest_value(monthly, "sick_leave_rate").reindex(rows.index)
    rows["turnover_12m"] = latest_value(monthly, "turnover").reindex(rows.index)

    u3 = _wide_forecasts(forecasts, "children_under3")
    o3 = _wide_forecasts(forecasts, "children_over3")
    both = u3.join(o3, lsuffix="_u3", rsuffix="_o3", how="inner")
    q_u3 = both[[f"{q}_u3" for q in QUANTILE_COLUMNS]].to_numpy(float)
    q_o3 = both[[f"{q}_o3" for q in QUANTILE_COLUMNS]].to_numpy(float)
    total = pd.DataFrame(q_u3 + q_o3, index=both.index, columns=list(QUANTILE_COLUMNS))
    need = pd.DataFrame(
        staffing_need_fte(q_u3, q_o3), index=both.index, columns=list(QUANTILE_COLUMNS)
    )
    peds = pedagogue_positions(q_u3[:, 3], q_o3[:, 3]).positions
    by_kg = pd.DataFrame(
        {
            "need_staff_p50": need["p50"],
            "need_staff_p90": need["p90"],
            "need_pedagogues_p50": peds,
            "band_p10": total["p10"],
            "band_p50": total["p50"],
            "band_p90": total["p90"],
        }
    ).groupby(level="kindergarten_id")
    rows["need_staff_fte_p50"] = by_kg["need_staff_p50"].max()
    rows["need_staff_fte_p90"] = by_kg["need_staff_p90"].max()
    rows["need_pedagogues"] = by_kg["need_pedagogues_p50"].max()
    rows["staff_gap_fte"] = rows["need_staff_fte_p90"] - rows["staff_fte"] * (
        1 - rows["sick_leave_12m"].fillna(0.0)
    )
    compliance = norm_compliance(last.loc[rows.index], forecasts, pit_history=pit_history)
    rows = rows.join(compliance)
    # "brudd" answers the legal question (contracted FTE against the norms, now or in a forecast
    # month); cover after sick leave is shown beside it, never mixed in
    rows["breach_probability"] = rows["legal_breach_probability"]
    rows["children_p50_12m"] = by_kg["band_p50"].last()
    for q in ("p10", "p50", "p90"):
        rows[f"band_{q}"] = by_kg[f"band_{q}"].agg(list)

    v31 = forecasts[forecasts["target"] == "vedtak_31"]
    v31_end = v31.sort_values("horizon").groupby("kindergarten_id")["p50"].last()
    rows["vedtak_31_p50_12m"] = v31_end.reindex(rows.index)
    rows["flag_breach"] = ~rows["legal_ok_now"].astype(bool) | (
        rows["legal_breach_probability"] >= LEGAL_FLAG_PROBABILITY
    )
    rows["flag_effective_cover"] = rows["effective_breach_probability"] >= BREACH_FLAG_PROBABILITY
    rows["flag_rising_31"] = (rows["vedtak_31_p50_12m"] - rows["vedtak_31"].fillna(0)) >= 1
    rows["flag_sick_leave"] = rows["sick_leave_12m"] >= HIGH_SICK_LEAVE_SHARE
    rows["flag_turnover"] = rows["turnover_12m"] >= HIGH_TURNOVER_SHARE_PER_YEAR
    flags = [
        "flag_breach",
        "flag_effective_cover",
        "flag_rising_31",
        "flag_sick_leave",
        "flag_turnover",
    ]
    rows[flags] = rows[flags].fillna(False).astype(bool)
    rows["n_flags"] = rows[flags].astype(int).sum(axis=1)
    return rows.reset_index().sort_values(
        ["n_flags", "breach_probability"], ascending=[False, False], ignore_index=True
    )


def band_svg(
    p10: list[float],
    p50: list[float],
    p90: list[float],
    *,
    label: str = "",
    width: int = 110,
    height: int = 34,
) -> str:
    """A tiny inline SVG of the 12-month band (p10–p90 shaded, p50 line) for the overview table:
    fifty of these render instantly, where fifty Plotly charts would not."""
    values = np.asarray([p10, p50, p90], dtype=float)
    if values.size == 0 or not np.isfinite(values).any():
        return ""
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    span = (high - low) or 1.0
    n = values.shape[1]

    def xy(i: int, v: float) -> str:
        x = 2 + (width - 4) * (i / max(n - 1, 1))
        y = height - 2 - (height - 4) * (v - low) / span
        return f"{x:.1f},{y:.1f}"

    upper = [xy(i, v) for i, v in enumerate(values[2])]
    lower = [xy(i, v) for i, v in reversed(list(enumerate(values[0])))]
    line = " ".join(xy(i, v) for i, v in enumerate(values[1]))
    return (
        f'<svg class="band" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}">'
        f'<polygon points="{" ".join(upper + lower)}" fill="#9ecae1" opacity="0.6"/>'
        f'<polyline points="{line}" fill="none" stroke="#08519c" stroke-width="1.5"/></svg>'
    )


def _finite(values: pd.Series) -> list[float | None]:
    """Values for a chart's JSON: a missing or infinite value as null (JSON has no NaN)."""
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    return [float(v) if np.isfinite(v) else None for v in numbers]


@dataclass(frozen=True)
class ChartWords:
    """A chart's words in the page's language."""

    observed: str = "observed"
    interval90: str = "9 in 10 outcomes"
    interval50: str = "half of the outcomes"
    median: str = "forecast, median"
    x_title: str = "month"
    y_title: str = ""
    #: Plotly's decimal mark and thousands separator: ", " in bokmål, ".," in English
    separators: str = ".,"
    #: for a share: the values are drawn as per cent, each tick ending in this (" %" in
    #: bokmål, "%" in English); empty for anything else
    percent_suffix: str = ""


def fan_chart(
    history: pd.DataFrame,
    forecasts: pd.DataFrame,
    target: str,
    *,
    title: str,
    words: ChartWords = ChartWords(),
) -> dict:
    """A Plotly figure (as a plain dict, no validation cost) of one target: observed history,
    the p05–p95 and p25–p75 forecast bands and the p50 line. The legend sits above the plot
    and the axis titles below and beside it, so no legend ever covers an axis label; the
    chart's title is the page's heading above it (``title`` names the figure for screen
    readers and tooltips)."""
    hist = history[["month", target]].dropna() if target in history else history[["month"]]
    hist = hist.tail(24)
    fc = forecasts[forecasts["target"] == target].sort_values("horizon")
    if words.percent_suffix:
        hist = hist.assign(**({target: hist[target] * 100} if target in hist else {}))
        fc = fc.assign(**{q: fc[q] * 100 for q in ("p05", "p25", "p50", "p75", "p95")})
    months = [str(m) for m in fc["month"]]
    data: list[dict] = []
    if target in hist:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": words.observed,
                "x": [str(m) for m in hist["month"]],
                "y": _finite(hist[target]),
                "line": {"color": "#333"},
            }
        )
    for low, high, colour, label in (
        ("p05", "p95", "rgba(8,81,156,0.15)", words.interval90),
        ("p25", "p75", "rgba(8,81,156,0.30)", words.interval50),
    ):
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": months,
                "y": _finite(fc[high]),
                "line": {"width": 0},
                "showlegend": False,
                "hoverinfo": "skip",
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": months,
                "y": _finite(fc[low]),
                "fill": "tonexty",
                "fillcolor": colour,
                "line": {"width": 0},
                "name": label,
            }
        )
    data.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": words.median,
            "x": months,
            "y": _finite(fc["p50"]),
            "line": {"color": "#08519c", "dash": "dash"},
        }
    )
    layout = {
        "meta": {"title": title},
        "height": 320,
        "margin": {"l": 55, "r": 20, "t": 70, "b": 70},
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom"},
        # month labels slope up to their tick, so the last one never runs past the plot's edge
        "xaxis": {
            "type": "category",
            "title": {"text": words.x_title},
            "nticks": 8,
            "tickangle": -45,
        },
        "yaxis": {
            "title": {"text": words.y_title},
            "rangemode": "tozero",
            "ticksuffix": words.percent_suffix,
        },
        "separators": words.separators,
    }
    return {"data": data, "layout": layout}


def chart_table(history: pd.DataFrame, forecasts: pd.DataFrame, target: str) -> pd.DataFrame:
    """The numbers of :func:`fan_chart` as a table (its text alternative): one row per month,
    the observed value (last 12 months) or the forecast's 5th, 25th, 50th, 75th and 95th
    percentiles."""
    observed = (
        history[["month", target]].dropna().tail(12).rename(columns={target: "observed"})
        if target in history
        else pd.DataFrame(columns=["month", "observed"])
    )
    fc = forecasts[forecasts["target"] == target].sort_values("horizon")
    cols = ["month", "p05", "p25", "p50", "p75", "p95"]
    frame = pd.concat([observed, fc[cols]], ignore_index=True)
    frame["month"] = frame["month"].astype(str)
    return frame[["month", "observed", *cols[1:]]]
