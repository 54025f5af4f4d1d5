"""Backtest plots as PNG files (matplotlib figures drawn without pyplot): fan charts of sample
kindergartens and the calibration curve (nominal vs observed interval coverage). Every function
returns the paths it wrote; charts of simulated data say so in their title.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from data.contract import KINDERGARTEN_ID, MONTH, SIMULATED_LABEL, District
from training.metrics import INTERVALS

#: Central intervals drawn as bands, widest first: (lower, upper, nominal coverage).
BANDS = (("p05", "p95", 0.90), ("p10", "p90", 0.80), ("p25", "p75", 0.50))
TARGET_LABELS = {
    "children_under3": "children under 3",
    "children_over3": "children 3 and over",
    "vedtak_31": "§ 31 decisions",
    "vedtak_37": "§ 37 decisions",
    "sick_leave_rate": "sick-leave rate (share of hours)",
    "staff_leavers": "staff leavers",
}


def _figure(**kwargs: Any) -> Figure:
    """A figure drawn off-screen without pyplot: saving PNGs must not switch the process's
    matplotlib backend, or a notebook that calls this loses every later ``plt.show()``."""
    return Figure(**kwargs)


def _title(text: str, simulated: bool) -> str:
    return f"{text}\n{SIMULATED_LABEL}" if simulated else text


def sample_kindergartens(forecasts: pd.DataFrame, n: int, *, target: str) -> list[str]:
    """``n`` kindergartens spread over the size range of ``target`` (smallest, median, largest…)."""
    sizes = (
        forecasts[forecasts["target"] == target]
        .groupby(KINDERGARTEN_ID)["p50"]
        .mean()
        .sort_values()
    )
    if sizes.empty:
        return []
    picks = np.unique(np.linspace(0, len(sizes) - 1, min(n, len(sizes))).round().astype(int))
    return [str(sizes.index[i]) for i in picks]


def fan_charts(
    district: District,
    forecasts: pd.DataFrame,
    folder: Path,
    *,
    targets: Sequence[str] = ("children_under3", "children_over3", "vedtak_31"),
    kindergarten_ids: Sequence[str] | None = None,
    n_kindergartens: int = 3,
    history_months: int = 36,
) -> list[Path]:
    """One PNG per target: a panel per kindergarten with its history, the p50 and the 50/80/90 %
    bands of ``forecasts`` (one origin, FORECAST_COLUMNS) and, where known, what happened."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    monthly = district.monthly
    for target in targets:
        rows = forecasts[forecasts["target"] == target]
        if rows.empty or target not in monthly.columns:
            continue
        ids = (
            list(kindergarten_ids)
            if kindergarten_ids
            else sample_kindergartens(rows, n_kindergartens, target=target)
        )
        origin = rows["origin"].max()
        fig = _figure(figsize=(8, 2.6 * len(ids)))
        axes = fig.subplots(len(ids), 1, squeeze=False, sharex=True)
        for ax, kid in zip(axes[:, 0], ids, strict=True):
            fan = rows[(rows[KINDERGARTEN_ID] == kid) & (rows["origin"] == origin)].sort_values(
                "month"
            )
            history = monthly[
                (monthly[KINDERGARTEN_ID] == kid) & (monthly[MONTH] > origin - history_months)
            ].sort_values(MONTH)
            x_hist = history[MONTH].dt.to_timestamp()
            seen = history[MONTH] <= origin
            ax.plot(
                x_hist[seen], history.loc[seen, target], color="black", lw=1.2, label="observed"
            )
            if (~seen).any():
                ax.plot(
                    x_hist[~seen],
                    history.loc[~seen, target],
                    color="black",
                    lw=1,
                    ls=":",
                    label="what happened",
                )
            x = fan["month"].dt.to_timestamp()
            for (lo, hi, nominal), alpha in zip(BANDS, (0.15, 0.25, 0.4), strict=True):
                ax.fill_between(
                    x,
                    fan[lo],
                    fan[hi],
                    color="tab:blue",
                    alpha=alpha,
                    lw=0,
                    label=f"{nominal:.0%} interval",
                )
            ax.plot(x, fan["p50"], color="tab:blue", lw=1.5, label="median forecast")
            ax.set_ylabel(TARGET_LABELS.get(target, target))
            ax.set_title(str(kid), fontsize=9, loc="left")
        axes[0, 0].legend(fontsize=7, loc="upper left", ncol=3)
        fig.suptitle(
            _title(
                f"{TARGET_LABELS.get(target, target)}: forecasts from {origin}", district.simulated
            ),
            fontsize=10,
        )
        fig.tight_layout()
        path = folder / f"fan_{target}.png"
        fig.savefig(path, dpi=110)
        paths.append(path)
    return paths


def calibration_curve(
    metrics: pd.DataFrame, path: Path, *, simulated: bool, models: Sequence[str] | None = None
) -> Path:
    """Observed vs nominal coverage of the 50/80/90 % intervals per model, pooled over targets
    and horizons (a calibrated model lies on the diagonal), from the backtest's metrics
    (METRIC_COLUMNS): each group's coverage weighed by its rows is the share of every scored
    row inside its interval, and the metrics hold every model, the predictions only those kept."""
    fig = _figure(figsize=(5, 5))
    ax = fig.subplots()
    ax.plot([0.4, 1.0], [0.4, 1.0], color="grey", ls="--", lw=1, label="perfect calibration")
    scored = metrics[metrics["n"] > 0]
    for model in models or sorted(scored["model"].unique()):
        rows = scored[scored["model"] == model]
        n = rows["n"].to_numpy(float)
        nominal, observed = [], []
        for lo, hi, level in sorted(BANDS, key=lambda b: b[2]):
            coverage = next(name for name, bounds in INTERVALS.items() if bounds == (lo, hi))
            inside = rows[coverage].to_numpy(float) * n
            nominal.append(level)
            observed.append(float(inside.sum() / n.sum()))
        ax.plot(nominal, observed, marker="o", label=str(model))
    ax.set_xlabel("nominal coverage")
    ax.set_ylabel("observed coverage (backtest)")
    ax.set_xlim(0.4, 1.0)
    ax.set_ylim(0.4, 1.0)
    ax.legend(fontsize=8)
    ax.set_title(_title("Interval calibration", simulated), fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def write_backtest_plots(
    backtest: Any, district: District, folder: Path, *, model: str = "lightgbm"
) -> dict[str, Path]:
    """Fan charts from the backtest's latest origin with a full horizon (so what happened is
    drawn beside the forecast) and the calibration curve; {name: path}."""
    predictions = backtest.predictions
    ours = (predictions["model"] == model).to_numpy()
    plots: dict[str, Path] = {}
    if ours.any():  # only the chosen origin's rows are copied
        horizon_by_origin = predictions["horizon"][ours].groupby(predictions["origin"][ours]).max()
        origin = horizon_by_origin[horizon_by_origin == horizon_by_origin.max()].index.max()
        chosen = predictions[ours & (predictions["origin"] == origin).to_numpy()]
        for path in fan_charts(district, chosen, folder):
            plots[path.stem] = path
    plots["calibration_curve"] = calibration_curve(
        backtest.metrics, folder / "calibration_curve.png", simulated=district.simulated
    )
    return plots
