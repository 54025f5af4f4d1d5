"""The backtest's metrics as the retraining commands print them (Rich tables) and the targets
skipped because the data lack them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from serving.commands.common import console

if TYPE_CHECKING:
    from data.contract import District


def _metrics_table(metrics: Any, title: str) -> Any:
    """A Rich table, one row per target × horizon: the target's headline error (WAPE of the
    median; for counts that are mostly zero the MAE of the expected number) of the engine beside
    the seasonal-naive and last-value baselines, then the engine's MASE, pinball loss and 80 %
    interval coverage (every metric is in the written metrics.csv)."""
    from rich import box
    from rich.table import Table

    from training.metrics import RARE_COUNT_TARGETS, headline_metric

    values = ["wape", "mase", "pinball", "coverage_80", "n"]
    values += [m for m in ("mae_mean",) if m in metrics.columns]
    wide = metrics.pivot_table(
        index=["target", "horizon"], columns="model", values=values, aggfunc="first"
    )
    rare = ", ".join(t for t in RARE_COUNT_TARGETS if t in set(metrics["target"]))
    caption = (
        f"error: WAPE of the median; for {rare} (mostly zero) the MAE of the expected number"
        if rare
        else "error: WAPE of the median"
    )
    table = Table(title=title, caption=caption, box=box.SIMPLE_HEAD, pad_edge=False)
    headers = ("target", "h", "error", "s-naive", "last", "MASE", "pinball", "cov80", "n")
    for header in headers:
        table.add_column(header, justify="left" if header == "target" else "right", no_wrap=True)
    for (target, horizon), row in wide.iterrows():

        def get(metric: str, model: str = "lightgbm", row: Any = row) -> str:
            return _fmt(row.get((metric, model)))

        error = headline_metric(str(target)) if "mae_mean" in values else "wape"
        table.add_row(
            str(target),
            str(int(horizon)),
            get(error),
            get(error, "seasonal_naive"),
            get(error, "last_value"),
            get("mase"),
            get("pinball"),
            get("coverage_80"),
            get("n").removesuffix(".000"),
        )
    return table


def _print_skipped_targets(
    district: District, *, trained: set[str], asked: list[str] | None
) -> None:
    """Name the contract targets not trained because the data lack them (not those left out
    with --target), so a renamed column does not silently drop a forecast."""
    from data.contract import TARGETS

    monthly = district.monthly
    skipped = [
        t
        for t in TARGETS
        if t not in trained
        and (asked is None or t in asked)
        and (t not in monthly.columns or monthly[t].isna().all())
    ]
    if skipped:
        console.print(
            f"[yellow]Skipped target(s): {', '.join(skipped)}[/] (no column or no values in the "
            "data; `bemanning validate` says what the engine does without them).",
            highlight=False,
        )


def _summary_table(metrics: Any) -> Any:
    """Per target: the engine's metrics over all horizons and its ratio to the best baseline."""
    from rich import box
    from rich.table import Table

    from training.metrics import summary_table

    summary = summary_table(metrics)
    summary = summary[summary["model"] == "lightgbm"]
    table = Table(
        title="Per target, all horizons (× best: against the best baseline at each horizon; "
        "< 1: the engine is better)",
        caption="MAE mean: error of the expected number (for counts that are mostly zero)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    headers = ("target", "error", "value", "× best", "pinball", "× best", "cov80")
    for header in headers:
        table.add_column(
            header, justify="left" if header in ("target", "error") else "right", no_wrap=True
        )
    for row in summary.to_dict("records"):
        # rare counts (mostly zero) are read by the expected number, not a median of 0
        headline = str(row.get("headline", "wape"))
        table.add_row(
            str(row["target"]),
            "MAE mean" if headline == "mae_mean" else "WAPE",
            _fmt(row[headline]),
            _fmt(row[f"{headline}_vs_best_baseline"]),
            _fmt(row["pinball"]),
            _fmt(row["pinball_vs_best_baseline"]),
            _fmt(row["coverage_80"]),
        )
    return table


def _fmt(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if number != number else f"{number:.3f}"
