"""Feature-table benchmark: ``build_feature_table`` on the nation preset against mlforecast.

Run as ``python -m benchmarks.bench_features [DATA] [--preset nation] [--seed N] [--repeat N]``.
It simulates the preset (SIMULATED data) or reads DATA (a contract data folder / DuckDB file),
then in the same process times

- ours: ``features.table.build_feature_table`` (all features), and its lag/rolling core alone
  (``features.lags.lag_features`` on the same columns, the like-for-like part);
- mlforecast: ``MLForecast(models=[], freq="MS", lags=..., lag_transforms={1: [RollingMean(w)]},
  date_features=["month"]).preprocess(df, dropna=False)`` once per lagged column (mlforecast
  takes one target at a time), summed.

Both are warmed up on three series first (mlforecast's first call compiles numba code). Wall
time is the best of ``--repeat`` plain runs, taken in interleaved rounds; peak memory is measured
twice: the process RSS high-water mark above the starting RSS (sampled every 5 ms in a thread),
and tracemalloc's peak of Python-visible allocations (a separate run, as tracing slows the code).
It prints a table and the ratios ours / mlforecast; it asserts nothing (goals: < 60 s and
< 4 GB on 2 cores, no slower than mlforecast). mlforecast's lags are by row, not by calendar
month, so across gaps it answers a different question: the comparison is of cost, not output.
"""

from __future__ import annotations

import argparse
import gc
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

DEFAULT_LAGS = (1, 2, 3, 6, 12)
DEFAULT_WINDOWS = (3, 12)


@dataclass
class Measurement:
    name: str
    seconds: float
    peak_rss_mb: float
    peak_traced_mb: float


class _RssSampler:
    """Highest resident set size of this process while the block runs, sampled in a thread."""

    def __init__(self, interval_s: float = 0.005) -> None:
        import psutil

        self._process = psutil.Process()
        self._interval = interval_s
        self._stop = threading.Event()
        self.start_bytes = 0
        self.peak_bytes = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)
            time.sleep(self._interval)

    def __enter__(self) -> _RssSampler:
        self.start_bytes = self.peak_bytes = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)


def measure(works: dict[str, Callable[[], Any]], repeat: int) -> dict[str, Measurement]:
    """Time each of ``works`` ``repeat`` times in interleaved rounds (so a busy spell on a shared
    machine hits all of them alike) and keep the best wall time and the highest RSS rise; then
    run each once more under tracemalloc for its peak of traced allocations."""
    mb = 1024.0**2
    best = dict.fromkeys(works, float("inf"))
    rss_peak = dict.fromkeys(works, 0.0)
    for _ in range(repeat):
        for name, work in works.items():
            gc.collect()
            with _RssSampler() as rss:
                started = time.perf_counter()
                result = work()
                best[name] = min(best[name], time.perf_counter() - started)
            del result
            rss_peak[name] = max(rss_peak[name], (rss.peak_bytes - rss.start_bytes) / mb)
    measurements = {}
    for name, work in works.items():
        gc.collect()
        tracemalloc.start()
        result = work()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del result
        measurements[name] = Measurement(name, best[name], rss_peak[name], peak / mb)
    return measurements


def _load_district(data: str | None, preset: str, seed: int) -> Any:
    from rich.console import Console

    console = Console(stderr=True)
    if data:
        from data.validate import read_district

        with console.status(f"reading {data}"):
            return read_district(Path(data))
    from simulate import simulate_district
    from simulate.presets import PresetName

    with console.status(f"simulating the {preset} preset (SIMULATED data)"):
        return simulate_district(cast(PresetName, preset), seed=seed).district


def mlforecast_panel(monthly: Any, columns: list[str]) -> Any:
    """The monthly table in mlforecast's long format (unique_id, ds as month-start timestamps)."""
    frame = monthly[["kindergarten_id", "month", *columns]].rename(
        columns={"kindergarten_id": "unique_id"}
    )
    frame["ds"] = frame.pop("month").dt.to_timestamp(how="start")
    frame[columns] = frame[columns].astype("float32")
    return frame.sort_values(["unique_id", "ds"]).reset_index(drop=True)


def run_mlforecast(
    panel: Any, columns: list[str], lags: tuple[int, ...], windows: tuple[int, ...]
) -> list[Any]:
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean

    outputs = []
    for column in columns:
        forecaster = MLForecast(
            models=[],
            freq="MS",
            lags=list(lags),
            lag_transforms={1: [RollingMean(window_size=w, min_samples=1) for w in windows]},
            date_features=["month"],
        )
        frame = panel[["unique_id", "ds", column]]
        outputs.append(forecaster.preprocess(frame, target_col=column, dropna=False))
    return outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data", nargs="?", help="contract data folder or DuckDB file (default: simulate)"
    )
    parser.add_argument("--preset", default="nation", choices=("district", "city", "nation"))
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per contender")
    args = parser.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    from data.contract import KINDERGARTEN_ID, MONTH
    from features.lags import lag_features
    from features.table import LAGGED_COLUMNS, build_feature_table

    district = _load_district(args.data, args.preset, args.seed)
    monthly = district.monthly
    columns = [c for c in LAGGED_COLUMNS if c in monthly.columns]
    lags, windows = DEFAULT_LAGS, DEFAULT_WINDOWS
    label = "SIMULATED " + args.preset if district.simulated else (args.data or "")
    console = Console(width=120)
    console.print(
        f"panel: {label} — {monthly[KINDERGARTEN_ID].nunique():,} kindergartens, "
        f"{len(monthly):,} rows, {monthly[MONTH].nunique()} months; lags {list(lags)}, "
        f"rolling means {list(windows)} on {len(columns)} columns"
    )
    lag_input = monthly[[KINDERGARTEN_ID, MONTH, *columns]].astype({c: "float64" for c in columns})
    panel = mlforecast_panel(monthly, columns)

    # Warm up both on a few series first, so one-off costs (numba compilation in mlforecast's
    # dependencies, imports) are not counted as work on the panel.
    few = panel["unique_id"].isin(panel["unique_id"].unique()[:3])
    run_mlforecast(panel[few], columns, lags, windows)
    small_monthly = monthly[monthly[KINDERGARTEN_ID].isin(panel.loc[few, "unique_id"].unique())]
    build_feature_table(replace(district, monthly=small_monthly), lags=lags, windows=windows)

    feature_table = build_feature_table(district, lags=lags, windows=windows)
    n_columns = feature_table.shape[1]
    table_mb = feature_table.memory_usage(deep=True).sum() / 1024.0**2
    del feature_table
    names = (
        "ours: build_feature_table (all features)",
        "ours: lag_features (lags + rolling means only)",
        f"mlforecast preprocess ×{len(columns)} targets",
    )
    measured = measure(
        {
            names[0]: lambda: build_feature_table(district, lags=lags, windows=windows),
            names[1]: lambda: lag_features(
                lag_input,
                columns,
                lags=lags,
                windows=windows,
                id_col=KINDERGARTEN_ID,
                month_col=MONTH,
            ),
            names[2]: lambda: run_mlforecast(panel, columns, lags, windows),
        },
        repeat=args.repeat,
    )
    ours_all, ours_lags, peer = (measured[name] for name in names)

    table = Table(
        title=f"feature table benchmark (best wall time of {args.repeat}; never asserted)"
    )
    for heading in ("run", "wall s", "peak RSS Δ MB", "tracemalloc peak MB"):
        table.add_column(heading, justify="left" if heading == "run" else "right")
    for m in (ours_all, ours_lags, peer):
        table.add_row(m.name, f"{m.seconds:.2f}", f"{m.peak_rss_mb:.0f}", f"{m.peak_traced_mb:.0f}")
    console.print(table)
    console.print(f"build_feature_table: {n_columns} columns, {table_mb:.0f} MB in memory")
    for ours in (ours_all, ours_lags):
        console.print(
            f"ratio ours/mlforecast — {ours.name}: time {ours.seconds / peer.seconds:.2f}, "
            f"tracemalloc peak {ours.peak_traced_mb / max(peer.peak_traced_mb, 1e-9):.2f}"
        )

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    peak_gb = max(ours_all.peak_rss_mb, ours_all.peak_traced_mb) / 1024.0
    console.print(
        f"goal: whole table < 60 s and < 4 GB — {verdict(ours_all.seconds < 60 and peak_gb < 4)} "
        f"({ours_all.seconds:.1f} s, {peak_gb:.2f} GB); same lags and rolling means no slower "
        f"than mlforecast — {verdict(ours_lags.seconds <= peer.seconds)}; whole table no slower "
        f"than mlforecast's lags alone — {verdict(ours_all.seconds <= peer.seconds)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
