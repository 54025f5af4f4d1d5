"""An untimed first fit of every timed model before the benchmarks time them (issue 17's time goal).

A process's first fit of a model pays what no later fit pays: the libraries' lazy imports and
registries (LightGBM reads an Arrow table through narwhals, whose modules and plug-in entry points
load on first use; scikit-learn's input checks ask narwhals too), numba's compilation in
statsforecast, first-use caches. Timed cold, whoever runs first carries the costs the two share
and each carries its own, so a one-origin run's ratio read the order of the runs as much as the
models. Here each model is fitted twice on the same small data — the
:data:`WARM_UP_KINDERGARTENS` kindergartens with the longest histories in the benchmark's own
data, known at its one-origin split — before anything is timed, and both fits' seconds are
returned so that the benchmarks print the first-fit premium beside the timed figures instead of
hiding it. The same rule as ``bench_forecast.import_libraries`` (an import is paid once per
process, not per fit), one step further: a service or a rolling backtest pays these once, not
per fit.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from functools import partial

from benchmarks.peers import (
    autoets_forecast,
    forecast_every_target,
    mlforecast_forecast,
    origin_span,
    peer_horizon,
    regular_series,
)
from data.contract import KINDERGARTEN_ID, MONTH, District
from features.age_cohorts import forget_learned_estimates
from models.forecast import ForecastPipeline
from models.forecast.inputs import as_of
from training.backtest import backtest_origins

#: Kindergartens of the warm-up's data: every step of every model runs on them. The peers' fits
#: on them cost a small part of a timed one (AutoETS fits a model per series), ours about three
#: quarters (its boosting rounds cost what its columns make them cost, hardly its rows).
WARM_UP_KINDERGARTENS = 3


@dataclasses.dataclass(frozen=True)
class WarmUp:
    """Seconds of each model's first and second fit + forecast on the warm-up's data."""

    kindergartens: int
    first: dict[str, float]
    second: dict[str, float]

    def describe(self) -> str:
        """One line: each model's first fit in the process and the same fit again."""
        cells = ", ".join(
            f"{name} {self.first[name]:.2f} s then {self.second[name]:.2f} s" for name in self.first
        )
        return (
            f"warm-up, untimed for the goal (each model's first fit + forecast in this process, "
            f"then the same again, on {self.kindergartens} kindergartens): {cells}"
        )


def small_district(district: District, kindergartens: int = WARM_UP_KINDERGARTENS) -> District:
    """``district`` with only the ``kindergartens`` kindergartens of the most months of data
    (the first by id among equals): long enough for every model (mlforecast leaves out series
    shorter than its lags and conformal windows), where the first by id may have opened late."""
    months = district.monthly.groupby(KINDERGARTEN_ID).size()
    ranked = sorted(months.index, key=lambda kid: (-int(months[kid]), str(kid)))
    kept = ranked[:kindergartens]
    return dataclasses.replace(
        district,
        kindergartens=district.kindergartens[district.kindergartens[KINDERGARTEN_ID].isin(kept)],
        monthly=district.monthly[district.monthly[KINDERGARTEN_ID].isin(kept)],
    )


def warm_up(
    district: District,
    targets: Sequence[str],
    *,
    ours: bool = True,
    mlforecast_threads: Sequence[int] = (1,),
    autoets: bool = False,
) -> WarmUp:
    """Fit + forecast each model twice on :func:`small_district` of ``district`` at its last
    one-origin split: ours (``ForecastPipeline`` on ``targets``, when ``ours``), mlforecast on
    each of ``mlforecast_threads`` and, when ``autoets``, statsforecast's AutoETS. Ours forgets
    its learned age estimate after each fit, as every timed fit of the benchmarks starts
    without it."""
    small = small_district(district)
    last = small.monthly[MONTH].max()
    (origin,) = backtest_origins(last, n_origins=1, span_months=origin_span(1))
    horizon = peer_horizon(last, origin)
    series = {target: regular_series(small, target, origin) for target in targets}
    models: dict[str, Callable[[], object]] = {}
    if ours:
        known = as_of(small, origin)

        def fit_ours() -> None:
            ForecastPipeline(targets=list(targets)).fit_predict(known, horizon=horizon)
            forget_learned_estimates()

        models["ours"] = fit_ours
    for threads in mlforecast_threads:
        name = f"mlforecast {threads} thread{'s' if threads > 1 else ''}"
        models[name] = partial(
            forecast_every_target, mlforecast_forecast, series, origin, horizon, threads
        )
    if autoets:
        models["AutoETS"] = partial(
            forecast_every_target, autoets_forecast, series, origin, horizon
        )
    first = {name: _seconds(fit) for name, fit in models.items()}
    second = {name: _seconds(fit) for name, fit in models.items()}
    return WarmUp(len(small.kindergartens), first, second)


def _seconds(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started
