"""The peers of ``bench_forecast`` (issue 17), as the issue names them, on one target's regular
series at one origin: statsforecast ``AutoETS(season_length=12)`` per kindergarten (fallback
``Naive`` for series too short to fit) and mlforecast's global ``LGBMRegressor`` (lags 1, 2, 12
and the month, recursive, conformal ``PredictionIntervals(n_windows=2, h)``); and both at every
origin and target of a family and seed, each read from the peer cache when it holds the same run
(:mod:`benchmarks.peer_cache`). Peers need regular series, so a kindergarten's missing months are
filled with its last value (our engine keeps gaps as gaps)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.peer_cache import PeerRun, cached_peer_run, entry_name, series_fingerprint
from data.contract import KINDERGARTEN_ID, MONTH, District


def regular_series(district: District, target: str, origin: pd.Period) -> pd.DataFrame:
    """unique_id, ds (month start), y up to ``origin``; gaps filled with the last value."""
    monthly = district.monthly
    rows = monthly.loc[monthly[MONTH] <= origin, [KINDERGARTEN_ID, MONTH, target]].dropna()
    parts = []
    for kid, group in rows.groupby(KINDERGARTEN_ID, sort=True):
        series = group.set_index(MONTH)[target]
        full = series.reindex(pd.period_range(series.index.min(), series.index.max(), freq="M"))
        parts.append(
            pd.DataFrame(
                {
                    "unique_id": kid,
                    "ds": pd.PeriodIndex(full.index, freq="M").to_timestamp(),
                    "y": full.ffill().to_numpy(float),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _as_forecasts(
    frame: pd.DataFrame, model: str, column: str, origin: pd.Period, target: str
) -> pd.DataFrame:
    month = pd.PeriodIndex(pd.to_datetime(frame["ds"]), freq="M")
    return pd.DataFrame(
        {
            KINDERGARTEN_ID: frame["unique_id"].to_numpy(),
            "origin": origin,
            "month": month,
            "horizon": [(m - origin).n for m in month],
            "target": target,
            "model": model,
            "p50": np.maximum(frame[column].to_numpy(float), 0.0),
            "p10": frame[f"{column}-lo-80"].to_numpy(float),
            "p90": frame[f"{column}-hi-80"].to_numpy(float),
        }
    )


def autoets_forecast(
    series: pd.DataFrame, origin: pd.Period, horizon: int, target: str
) -> pd.DataFrame:
    """statsforecast AutoETS on one target's regular series (:func:`regular_series`)."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, Naive

    model = StatsForecast(
        models=[AutoETS(season_length=12)], freq="MS", n_jobs=1, fallback_model=Naive()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = model.forecast(df=series, h=horizon, level=[80])
    return _as_forecasts(out, "autoets", "AutoETS", origin, target)


def mlforecast_forecast(
    series: pd.DataFrame, origin: pd.Period, horizon: int, target: str, threads: int = 1
) -> pd.DataFrame:
    """mlforecast LightGBM on one target's regular series (:func:`regular_series`)."""
    from lightgbm import LGBMRegressor
    from mlforecast import MLForecast
    from mlforecast.utils import PredictionIntervals

    # conformal windows need 2 × h months after the lags; shorter series are left out
    long_enough = series.groupby("unique_id")["y"].transform("size") >= 2 * horizon + 13
    forecaster = MLForecast(
        models={
            "lgbm": LGBMRegressor(
                n_estimators=100, learning_rate=0.05, num_leaves=31, verbose=-1, n_jobs=threads
            )
        },
        freq="MS",
        lags=[1, 2, 12],
        date_features=["month"],
        num_threads=threads,
    )
    forecaster.fit(
        series[long_enough], prediction_intervals=PredictionIntervals(n_windows=2, h=horizon)
    )
    out = forecaster.predict(h=horizon, level=[80])
    return _as_forecasts(out, "mlforecast", "lgbm", origin, target)


@dataclass
class PeerResults:
    """The peers' forecasts on every origin and target, their fit + forecast seconds (mlforecast
    on one and on two threads) and each run's timing record."""

    forecasts: pd.DataFrame
    seconds: dict[str, float]
    runs: list[PeerRun]


def origin_span(n_origins: int) -> int:
    """Months a run's rolling origins spread over: three apart, at most 36."""
    return 3 * n_origins if n_origins < 12 else 36


def forecast_every_target(
    forecast: Callable[..., pd.DataFrame],
    series: Mapping[str, pd.DataFrame],
    origin: pd.Period,
    horizon: int,
    *args: int,
) -> list[pd.DataFrame]:
    """``forecast`` (:func:`autoets_forecast`, :func:`mlforecast_forecast`) on each target's
    regular series of ``series``, from ``origin`` ``horizon`` months on (``args``: mlforecast's
    threads): one timed fit + forecast of a peer for all the targets."""
    return [forecast(frame, origin, horizon, target, *args) for target, frame in series.items()]


def peer_horizon(last: pd.Period, origin: pd.Period) -> int:
    """Months the peers forecast from ``origin``: up to 12, as far as the data reach."""
    return min(12, int((last - origin).n))


def run_peers(
    district: District,
    origins: Sequence[pd.Period],
    targets: Sequence[str],
    *,
    family: str,
    seed: int,
    cache: Path | None,
    mlforecast_threads: Sequence[int] = (1, 2),
) -> PeerResults:
    """AutoETS and mlforecast (forecasts on one thread, timed on one and on two) at each origin
    and target, each read from ``cache`` when it holds the same run (benchmarks.peer_cache)."""
    last = district.monthly[MONTH].max()
    seconds = {"autoets": 0.0, "mlforecast": 0.0}
    if 2 in mlforecast_threads:
        seconds["mlforecast 2 threads"] = 0.0
    parts, runs = [], []
    for origin in origins:
        horizon = peer_horizon(last, origin)
        for target in targets:
            series = regular_series(district, target, origin)
            key = partial(
                entry_name,
                family=family,
                seed=seed,
                origin=origin,
                horizon=horizon,
                target=target,
                fingerprint=series_fingerprint(series),
            )
            peers: list[tuple[str, str, int, Callable[[], pd.DataFrame]]] = [
                (
                    "autoets",
                    "autoets",
                    1,
                    partial(autoets_forecast, series, origin, horizon, target),
                ),
                *(
                    (
                        "mlforecast" if threads == 1 else "mlforecast 2 threads",
                        "mlforecast",
                        threads,
                        partial(mlforecast_forecast, series, origin, horizon, target, threads),
                    )
                    for threads in mlforecast_threads
                ),
            ]
            for timed_as, peer, threads, run in peers:
                result = cached_peer_run(cache, key(peer=peer, threads=threads), run)
                seconds[timed_as] += result.seconds
                runs.append(result)
                # ours fits targets in 2 processes, so mlforecast is timed on both cores as
                # well; its forecasts are the one-thread run's
                if timed_as != "mlforecast 2 threads":
                    parts.append(result.forecasts)
        print(f"  peers origin {origin} done", flush=True)
    return PeerResults(pd.concat(parts, ignore_index=True), seconds, runs)
