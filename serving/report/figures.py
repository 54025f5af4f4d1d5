"""The report's charts: matplotlib figures turned into inline ``data:`` PNGs so the HTML file
stands alone (no external files, no CDN).

Each function takes the plain tables :mod:`serving.report.numbers` builds and returns a figure;
:func:`figure_to_data_uri` encodes and closes it.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Colours by allocation name (models.allocation.comparison).
ALLOCATION_COLOURS = {
    "plan": "#1f6f8b",
    "proportional": "#e0a458",
    "none": "#b5b5b5",
    "oracle": "#5c946e",
}


def new_figure(width_in: float = 7.5, height_in: float = 3.6) -> Figure:
    """A figure not attached to pyplot's global state (safe in servers and threads)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), dpi=100, layout="constrained")


def figure_to_data_uri(figure: Figure) -> str:
    """PNG bytes of ``figure`` as a ``data:image/png;base64,...`` URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def colour_of(allocation: str) -> str:
    return ALLOCATION_COLOURS.get(allocation, "#6c6c9c")


def grouped_bars(
    table: pd.DataFrame,
    *,
    title: str,
    ylabel: str,
    simulated_label: str = "",
    series_labels: Mapping[str, str] | None = None,
) -> Figure:
    """Bars per row of ``table`` (index = groups on the x axis), one bar per column
    (allocation name), coloured by allocation and named in the legend by ``series_labels``
    (the reader's words). ``simulated_label`` (e.g. "simulert") is added to the title. The
    legend sits under the axes, never over bars or labels."""
    labels = dict(series_labels or {})
    figure = new_figure()
    axes = figure.subplots()
    groups = list(table.index)
    n_series = max(len(table.columns), 1)
    width = 0.8 / n_series
    for i, column in enumerate(table.columns):
        positions = [g + (i - (n_series - 1) / 2) * width for g in range(len(groups))]
        axes.bar(
            positions,
            table[column].to_numpy(dtype=float),
            width=width,
            label=labels.get(str(column), str(column)),
            color=colour_of(str(column)),
        )
    axes.set_xticks(range(len(groups)))
    axes.set_xticklabels(
        [str(g) for g in groups],
        rotation=20 if len(groups) > 4 else 0,
        ha="right" if len(groups) > 4 else "center",
        fontsize=8,
    )
    axes.set_ylabel(ylabel)
    axes.set_title(title + (f" ({simulated_label})" if simulated_label else ""), fontsize=10)
    figure.legend(loc="outside lower center", ncols=min(n_series, 4), fontsize=8, frameon=False)
    axes.grid(axis="y", alpha=0.3)
    return figure
