"""On-disk cache of the peers' forecasts and fit + forecast seconds in ``bench_forecast``.

The peers (statsforecast AutoETS, mlforecast LightGBM) do not change when this engine's model
changes, yet they take most of a benchmark run (AutoETS and mlforecast's two-thread timing took
20–45 minutes per origin on the loaded shared machine). Each entry is one peer run on one
(family, seed, origin, horizon, target): its forecasts (parquet) and a JSON record of the seconds
it took, when and on which host it was measured, the machine's load then, and the peer library's
version. The key holds all of those inputs plus a fingerprint of the very series the peer was
given, so a change of simulator, data or library version misses the cache instead of serving a
stale forecast. The time ratio of a cached run uses the recorded seconds, measured on this
machine in an earlier run; ``bench_forecast`` prints when.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import pandas as pd

#: Default cache folder (git-ignored: ``artifacts/``).
DEFAULT_PEER_CACHE = Path("artifacts") / "peer_cache"
#: The library each peer's forecasts come from: its version is part of the key.
PEER_LIBRARY = {"autoets": "statsforecast", "mlforecast": "mlforecast"}


@dataclass(frozen=True)
class PeerRun:
    """One peer's forecasts for one (origin, target) and how long they took."""

    forecasts: pd.DataFrame
    seconds: float
    measured_at: str
    host: str
    load: float
    cached: bool


def series_fingerprint(series: pd.DataFrame) -> str:
    """A short hash of the series a peer is given (unique_id, ds, y)."""
    hashed = pd.util.hash_pandas_object(series[["unique_id", "ds", "y"]], index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()[:16]


def entry_name(
    *,
    peer: str,
    threads: int,
    family: str,
    seed: int,
    origin: pd.Period,
    horizon: int,
    target: str,
    fingerprint: str,
) -> str:
    """The file stem of one cache entry: every input that changes the peer's output or time."""
    library = PEER_LIBRARY[peer]
    return (
        f"{family}/seed{seed}/{peer}-{threads}t-{library}{version(library)}"
        f"-lightgbm{version('lightgbm')}/{origin}-h{horizon}-{target}-{fingerprint}"
    )


def cached_peer_run(
    cache: Path | None,
    name: str,
    run: Callable[[], pd.DataFrame],
) -> PeerRun:
    """The cached run ``name`` under ``cache``, or ``run()`` timed and stored there (``cache``
    None: always run, store nothing)."""
    if cache is not None:
        table, record = cache / f"{name}.parquet", cache / f"{name}.json"
        if table.exists() and record.exists():
            meta = json.loads(record.read_text())
            return PeerRun(
                pd.read_parquet(table),
                float(meta["seconds"]),
                str(meta["measured_at"]),
                str(meta["host"]),
                float(meta["load"]),
                cached=True,
            )
    load = os.getloadavg()[0]
    started = time.perf_counter()
    forecasts = run()
    seconds = time.perf_counter() - started
    measured_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    host = platform.node()
    if cache is not None:
        table.parent.mkdir(parents=True, exist_ok=True)
        forecasts.to_parquet(table, index=False)
        meta = {"seconds": seconds, "measured_at": measured_at, "host": host, "load": load}
        record.write_text(json.dumps(meta, indent=1))
    return PeerRun(forecasts, seconds, measured_at, host, load, cached=False)


def describe_timings(runs: list[PeerRun]) -> str:
    """One line: how many peer runs were read from the cache, when and where they were timed."""
    if not runs:
        return "no peer runs"
    cached = sum(r.cached for r in runs)
    stamps = sorted(r.measured_at for r in runs)
    hosts = sorted({r.host for r in runs})
    loads = [r.load for r in runs]
    span = stamps[0] if stamps[0] == stamps[-1] else f"{stamps[0]} – {stamps[-1]}"
    return (
        f"peer times: {cached} of {len(runs)} runs from the cache; measured {span} on "
        f"{', '.join(hosts)} (1-minute load {min(loads):.1f}–{max(loads):.1f} at the start of each)"
    )
