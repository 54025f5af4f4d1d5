"""Time of the district's key figures (serving.key_figures.key_figures) on a data folder, e.g.
the nation preset: ``python -m benchmarks.key_figures_time /tmp/scale/bench/nation/data``.
Prints the rows, kindergartens and the wall time of two runs (the overview caches the result
per data set, model and audience, so this is a first visit's cost)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

from data.validate import read_district
from serving.key_figures import key_figures


def main(folder: str) -> None:
    district = read_district(Path(folder))
    forecasts = pd.DataFrame(columns=["kindergarten_id", "origin", "horizon", "target", "p50"])
    monthly = district.monthly
    print(f"{len(monthly):,} monthly rows, {monthly['kindergarten_id'].nunique():,} kindergartens")
    for run in (1, 2):
        start = time.perf_counter()
        key_figures(district, forecasts)
        print(f"run {run}: key figures in {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1])
