"""``ForecastPipeline``: features → global LightGBM quantile models → conformal calibration →
forecasts in the contract's format. The one object training logs, registers and serves.

Counts get a whole-number p50 (:func:`~models.forecast.levels.integer_median`). The targets'
rounds are fitted side by side in ``n_jobs`` threads
(:func:`~models.forecast.target_fit.fit_targets`). How the boosters' output becomes calibrated
forecasts of a level, in the calibration round and when forecasting alike, is
:class:`~models.forecast.levels.LevelForecaster`.

Fit, in two rounds so calibration costs one extra fit rather than one per inner origin:
1. *calibration round*: models trained on target months up to a cut-off c = T − H − n + 1
   (T the last month, H the horizons, n = ``calibration_origins``) forecast from the n origins
   c … c + n − 1 (every horizon's target month then lies within the data); the residuals of all
   kindergartens give the conformal corrections per target and horizon (``calibration_``);
2. *final round*: the same models refit on everything, used for forecasts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from data.contract import QUANTILES, District
from features.intake_mechanism import MECHANISM_FEATURES
from models.forecast.august_split import AUGUST_SPLIT_TARGETS
from models.forecast.capacity_bound import CAPACITY_BOUND_TARGETS
from models.forecast.conformal import UNCLIPPED_CALIBRATION_TARGETS
from models.forecast.forecasting import (
    TargetForecast,
    contribution_table,
    forecast_table,
    origin_inputs,
    target_forecast,
    targets_on_other_features,
    with_lineage,
)
from models.forecast.frames import (
    SEASON_MONTHS,
    HorizonFrame,
    design_feature_names,
    horizon_frame,
)
from models.forecast.inputs import (
    FeatureInputs,
    as_of,
    check_history,
    check_horizon,
    feature_inputs,
    resolve_targets,
)
from models.forecast.levels import BASE_MEDIAN_TARGETS, LevelForecaster
from models.forecast.quantile_lgbm import DEFAULT_BOOSTER_QUANTILES
from models.forecast.target_fit import fit_targets, target_frames

#: ``progress(description, completed, total)``; the command line wraps a Rich progress bar in it.
Progress = Callable[[str, int, int], None]
STRATEGIES = ("direct", "stacked")
INTERVAL_METHODS = ("residual", "cqr")
#: Origins the models need beyond the seasonal lag, the horizons and the calibration origins.
MIN_TRAINING_ORIGINS = 6


def _no_progress(description: str, completed: int, total: int) -> None:
    return None


class ForecastPipeline(BaseEstimator):
    """Probabilistic forecasts of every target for every kindergarten, 1 … ``horizons`` months on.

    Parameters
    ----------
    targets : targets to model; ``None`` = every contract target in the data (absent ones skipped
        with a warning). A target asked for by name and absent is an error.
    horizons : the longest horizon in months.
    quantiles : forecast quantiles (the contract's p05 … p95).
    strategy : ``"stacked"`` — one model per target and quantile with the horizon as a feature,
        or ``"direct"`` — one model per target, horizon and quantile. Stacked is the default:
        on a simulated district (45 kindergartens, origins 2023-10 and 2025-04, 12 horizons) its
        WAPE was 0.063 / 0.049 / 0.414 for children under 3 / over 3 / § 31 against direct's
        0.066 / 0.052 / 0.411, pinball loss lower on all three, in 117 s against 202 s.
    transform : ``"change"`` — models learn y(t+h) − y(t) (counts move slowly around a
        kindergarten's own level), or ``"level"`` — y(t+h) itself.
    interval_method : ``"cqr"`` — quantile boosters (``booster_quantiles``), conformalised
        (:mod:`~models.forecast.conformal`), or ``"residual"`` — one median booster per target,
        the other quantiles the p50 plus scaled out-of-sample residual quantiles per target and
        horizon (:mod:`~models.forecast.residual_intervals`). CQR is the default: on the
        simulated city (2 origins) its 80 % intervals covered 0.79–0.81 of the children counts
        against the residual method's 0.70–0.74, whose width follows size and horizon but not
        the season (the August intake); residual fits one booster per target, not three.
    booster_quantiles : quantiles with a booster of their own (CQR); the others are read off the
        nearest boosted quantile on their side of the median and calibrated like all of them
        (:func:`~models.forecast.quantile_lgbm.spread_quantiles`). ``None`` = a booster for every
        quantile. The default p10/p50/p90 fits in 0.6× the time of seven boosters; on simulated
        districts (seeds 1 and 2, 4 origins) the WAPE moved by under 1 %, the pinball loss rose by
        0–3 % and 80 % coverage stayed within a point or two.
    tail_lgbm_params : LightGBM overrides for the boosters of the quantiles other than the
        median; ``None`` = :data:`~models.forecast.quantile_lgbm.DEFAULT_TAIL_LGBM_PARAMS`,
        ``{}`` = the median's own parameters.
    lgbm_params : LightGBM overrides of :data:`~models.forecast.quantile_lgbm.DEFAULT_LGBM_PARAMS`
        and of the per-target defaults in
        :data:`~models.forecast.quantile_lgbm.TARGET_LGBM_PARAMS`, for every target.
    calibration_origins : inner origins whose residuals calibrate the intervals. Twelve, so each
        horizon's corrections see target months in every calendar month (the August intake
        included): over 8 rolling origins on simulated districts (seeds 1–3) the 80 % intervals
        of children and § 31 were 1.1 points from nominal on average against 2.0 with six.
    max_rows_per_model : training rows per booster, sampled at random beyond it (speed).
    calibration_rows : the calibration round's forecasts per target at most; beyond, a random
        sample of kindergartens with all their origins and horizons (``None``: every row). A
        district's or a city's are all kept (a city's 700 kindergartens are about 100,000 rows);
        at the nation (792,000 rows per target) LightGBM predicting them was the largest single
        cost of a fit (benchmarks/README.md, 2026-12-07 scale4).
    cohort_features : give the children over 3 features from their birth cohorts estimated from
        the monthly totals (:mod:`features.age_cohorts`: who crosses the age-3 line next August,
        who leaves for school next July), seen by the median's booster only. On by default since
        2026-12-06: on the tuning seeds 1–3 of both simulator families (2 origins each) over-3
        WAPE fell 2.0 % on the cohort family (0.0493 → 0.0483) and 3.2 % on the capacity family
        (0.0772 → 0.0748), 80 % coverage unchanged (0.759 → 0.762, 0.733 → 0.733)
        (:data:`~models.forecast.frames.COHORT_FEATURES`; benchmarks/README.md).
    mechanism_features : give the models of every target but sick leave the features of the
        August intake mechanism (:mod:`features.intake_mechanism`: places free after the next
        August, the estimated cohorts crossing and leaving, last August's intake, how full the
        kindergarten ran, the waiting list at the deadline); off, they are left out of the
        feature table's columns. On the tuning seeds 1–3 of both families (2 origins) they took
        under-3 WAPE 2.6 % lower on the capacity family (0.1130 → 0.1101), level on the cohort
        family (0.0648 → 0.0649), § 31 3.3 % / 0.6 % lower, over-3 level; sick leave was 0.9 % /
        2.1 % worse with them, so its models leave them out
        (:data:`~models.forecast.frames.NOT_SICK_LEAVE_DRIVERS`).
    season_calibration : conformal corrections of their own, per target and horizon, for spans
        that cross no August shift, for target months in the three months after a shift the span
        crosses and for later ones (:mod:`~models.forecast.conformal`); off, one correction per
        target and horizon.
    seasonal_level : give sick leave's models its seasonal level (the kindergarten's mean over 60
        months plus the district's season of the target month, :mod:`features.seasonal_level`),
        the last value's departure from it and the part of that departure expected to last, and
        staffing against its own level (:data:`~models.forecast.frames.SEASONAL_LEVEL_FEATURES`).
        On by default since 2026-12-06: on the tuning seeds 1–3 of both simulator families
        (2 origins) sick-leave WAPE fell 4.2 % on the cohort family (0.1416 → 0.1356) and 2.0 %
        on the capacity family (0.1874 → 0.1837), 80 % coverage 0.802 → 0.816 and
        0.817 → 0.805 (benchmarks/README.md).
    base_median_targets : targets whose p50 is the label's base itself, rounded (``transform``
        ``"change"`` only): no median booster is fitted for them, their other quantiles keep
        their boosters and calibration, held on their side of the base, and their drivers
        (:meth:`predict_contributions`) are the base alone. ``None`` (default):
        :data:`~models.forecast.levels.BASE_MEDIAN_TARGETS` with the ``change`` transform (§ 31:
        its stock-flow projection, 1.1 % and 1.9 % lower WAPE on the tuning seeds of the
        capacity and cohort families), none with ``level`` (its label has no base); ``()``:
        every target's median has its booster.
    median_only_columns : the features of
        :data:`~models.forecast.frames.MEDIAN_ONLY_FEATURES` (cohorts, intake mechanism) are seen
        by the median's booster alone, the other quantiles' boosters are fitted without them (a
        Dataset of their own per round); ``False``: every booster sees every column.
    calibration_rounds_share : the calibration round's median boosters are fitted in this share
        of the final round's rounds (rounded up) at the learning rate divided by it; the other
        quantiles' boosters keep their own rounds (``tail_lgbm_params``). The final round, whose
        median is the forecast, is not changed: this moves the conformal corrections (fitted on
        the calibration round's forecasts), and with them a p50 that a corrected interval
        crosses, and the residual correlations. 0.5 since 2026-12-07 (issue 17, fit + forecast
        time): on the tuning seeds 1–3 of both simulator families (4 rolling origins, goal
        targets) WAPE pooled 1.000 × the full rounds' on every target and family, 80 % coverage
        as close to 0.80 or closer (cohort family over 3 0.877 → 0.873, sick leave 0.817 →
        0.816; capacity family under 3 0.801 → 0.800, sick leave 0.802 → 0.801; the rest
        equal), about an eighth less CPU per fit + forecast (benchmarks/README.md).
    target_calibration_rounds_share : per target, a ``calibration_rounds_share`` of its own;
        ``None`` (default): :data:`~models.forecast.target_fit.TARGET_CALIBRATION_ROUNDS_SHARE`.
    unused_features : per target, design features no booster of that target sees (left out of
        its boosters' columns; the frames keep the full design). ``None`` (default):
        :data:`~models.forecast.quantile_lgbm.TARGET_UNUSED_FEATURES`; ``{}``: every booster sees
        its target's whole design.
    tail_unused_features : per target, design features the boosters of the quantiles other
        than the median do not see (the median's booster does), beside the median-only columns;
        a name the design lacks is skipped. ``None``: none.
    tail_max_rows : the boosters of the quantiles other than the median are fitted on at most
        this many of their round's ``max_rows_per_model`` rows (a random draw); ``None``: on
        every row, as the median's.
    august_split_targets : targets whose median, for the rows whose span ends before the next
        August shift, is a booster fitted on those rows alone (in 1.5 times the rounds) in the
        final round; the rows after the shift and every row's tails keep the boosters of every
        row (:class:`~models.forecast.august_split.AugustSplitRegressor`; stacked strategy
        only). ``None`` (default): :data:`~models.forecast.august_split.AUGUST_SPLIT_TARGETS`,
        children under 3 since 2026-12-07: on the tuning seeds (4 rolling origins, LightGBM
        random states 0–2 on seeds 1–3, 0–1 on seeds 4–6) under-3 WAPE −3.5 % / −3.7 % on the
        capacity family, −0.5 % / −0.9 % on the cohort family, over 3 and 80 % coverage
        unchanged, the early rows' median about 2.9 % of a fit + forecast's CPU
        (benchmarks/README.md, helper kids7); ``()``: none.
    unclipped_calibration_targets : targets whose conformal corrections are fitted on the
        calibration round's quantiles before the clip at 0 and the whole-number p50, as a
        forecast's are corrected; the others' on the clipped forecasts. ``None`` (default):
        :data:`~models.forecast.conformal.UNCLIPPED_CALIBRATION_TARGETS`, § 31 since 2026-12-07
        (its clipped lower ends tied many calibration outcomes at a score of 0: 80 % coverage
        on the tuning seeds 1–3 / 4–6 0.801 → 0.797 / 0.841 → 0.836 on the capacity family,
        0.836 → 0.830 / 0.785 → 0.783 on the cohort family; benchmarks/README.md, helper
        cover7); ``()``: every target's on the clipped forecasts.
    capacity_bound_targets : targets held inside approved capacity when forecast beside the
        other children's count (:mod:`models.forecast.capacity_bound`): the under-3 p50 at most
        (capacity − the over-3 p50) ÷ 2 and its quantiles moved down with it, those above it at
        most (capacity − the over-3 p05) ÷ 2, for kindergartens whose places used never
        exceeded capacity up to the origin. ``None`` (default):
        :data:`~models.forecast.capacity_bound.CAPACITY_BOUND_TARGETS`, children under 3 since
        2026-12-08 (tuning seeds 1–3 / 4–6: capacity family under-3 WAPE −3.7 % / −1.0 %,
        interval score −5.3 % / −3.7 %; the cohort family level; benchmarks/README.md, helper
        kids11); ``()``: none.
    n_jobs : worker threads fitting the targets' calibration and final rounds side by side while
        the calling thread builds the next target's frames (1 = everything in the calling
        thread, one after another).
    random_state : seed for sampling and LightGBM.
    """

    #: pipelines pickled before the option existed were fitted without: they read it from here
    cohort_features = False
    calibration_rows: int | None = None
    mechanism_features = False
    season_calibration = False
    seasonal_level = False
    base_median_targets: Sequence[str] | None = ()
    unused_features: Mapping[str, Sequence[str]] | None = MappingProxyType({})
    median_only_columns = True
    #: pipelines pickled before the option existed were fitted with the full rounds
    calibration_rounds_share = 1.0
    target_calibration_rounds_share: Mapping[str, float] | None = MappingProxyType({})
    tail_max_rows: int | None = None
    tail_unused_features: Mapping[str, Sequence[str]] | None = None
    august_split_targets: Sequence[str] | None = ()
    unclipped_calibration_targets: Sequence[str] | None = ()
    capacity_bound_targets: Sequence[str] | None = ()

    def __init__(
        self,
        *,
        targets: Sequence[str] | None = None,
        horizons: int = 12,
        quantiles: Sequence[float] = QUANTILES,
        strategy: str = "stacked",
        transform: str = "change",
        interval_method: str = "cqr",
        lgbm_params: dict[str, Any] | None = None,
        tail_lgbm_params: dict[str, Any] | None = None,
        booster_quantiles: Sequence[float] | None = DEFAULT_BOOSTER_QUANTILES,
        calibration_origins: int = 12,
        max_rows_per_model: int | None = 6_000,
        calibration_rows: int | None = 200_000,
        cohort_features: bool = True,
        mechanism_features: bool = True,
        season_calibration: bool = True,
        seasonal_level: bool = True,
        base_median_targets: Sequence[str] | None = None,
        median_only_columns: bool = True,
        calibration_rounds_share: float = 0.5,
        target_calibration_rounds_share: Mapping[str, float] | None = None,
        unused_features: Mapping[str, Sequence[str]] | None = None,
        tail_unused_features: Mapping[str, Sequence[str]] | None = None,
        tail_max_rows: int | None = None,
        august_split_targets: Sequence[str] | None = None,
        unclipped_calibration_targets: Sequence[str] | None = None,
        capacity_bound_targets: Sequence[str] | None = None,
        n_jobs: int = 2,
        random_state: int = 0,
    ) -> None:
        self.targets = targets
        self.horizons = horizons
        self.quantiles = quantiles
        self.strategy = strategy
        self.transform = transform
        self.interval_method = interval_method
        self.lgbm_params = lgbm_params
        self.tail_lgbm_params = tail_lgbm_params
        self.booster_quantiles = booster_quantiles
        self.calibration_origins = calibration_origins
        self.max_rows_per_model = max_rows_per_model
        self.calibration_rows = calibration_rows
        self.cohort_features = cohort_features
        self.mechanism_features = mechanism_features
        self.season_calibration = season_calibration
        self.seasonal_level = seasonal_level
        self.base_median_targets = base_median_targets
        self.median_only_columns = median_only_columns
        self.calibration_rounds_share = calibration_rounds_share
        self.target_calibration_rounds_share = target_calibration_rounds_share
        self.unused_features = unused_features
        self.tail_unused_features = tail_unused_features
        self.tail_max_rows = tail_max_rows
        self.august_split_targets = august_split_targets
        self.unclipped_calibration_targets = unclipped_calibration_targets
        self.capacity_bound_targets = capacity_bound_targets
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, district: District, progress: Progress | None = None) -> ForecastPipeline:
        """Fit the calibration round, the conformal corrections, then the final models."""
        self._fit_inputs(district, months_ahead=0, progress=progress)
        return self

    def fit_predict(
        self, district: District, *, horizon: int = 12, progress: Progress | None = None
    ) -> pd.DataFrame:
        """``fit`` on the district as known at its last month (``as_of``), then ``predict`` from
        that month ``horizon`` months on: a backtest fold's work, on one feature table. The
        fit's grid reaches ``horizon`` months past the data, so the forecasts read its features
        and the quantities the fit derived from them instead of building them again (a nation's
        fold paid for both twice). The models and forecasts are those of ``fit`` then
        ``predict``: every feature of a month reads months up to it only."""
        check_horizon(horizon, self.horizons)
        last = district.monthly["month"].max()
        known = as_of(district, last)
        inputs, made = self._fit_inputs(
            known, months_ahead=horizon, progress=progress, forecast=(last, horizon)
        )
        return forecast_table(self, inputs, last, horizon, made)

    def _fit_inputs(
        self,
        district: District,
        *,
        months_ahead: int,
        progress: Progress | None,
        forecast: tuple[pd.Period, int] | None = None,
    ) -> tuple[FeatureInputs, dict[str, TargetForecast]]:
        """Fit on ``district`` (see :meth:`fit`) from its feature table on a grid reaching
        ``months_ahead`` months past the data; returns that table's inputs and, given
        ``forecast`` = (origin, horizon), the targets' forecasts from that origin."""
        self._check_params()
        report = progress or _no_progress
        targets = resolve_targets(district, self.targets)
        required = self.months_required()
        check_history(district, targets, required)
        inputs = feature_inputs(
            district, targets, months_ahead=months_ahead, exclude=self._excluded_features()
        )
        last_index = inputs.grid.month_index(district.monthly["month"].max())
        cutoff = last_index - self.horizons - self.calibration_origins + 1
        calibration: dict[str, Any] = {
            "method": (
                "CQR scaled by interval width, one calibration fit"
                if self.interval_method == "cqr"
                else "split-conformal residual quantiles scaled by sqrt(level + 1) for counts, "
                "one calibration fit"
            ),
            "cutoff_month": str(inputs.grid.months[cutoff]),
            "origins": [
                str(inputs.grid.months[cutoff + i]) for i in range(self.calibration_origins)
            ],
            "corrections": {},
            "district_correlation": {},
        }
        models: dict[str, dict[int, Any]] = {}
        made: dict[str, TargetForecast] = {}
        # the data's fingerprint while the workers boost the last targets, not after them
        fingerprint: list[str] = []
        for done, fitted in enumerate(
            fit_targets(
                self,
                inputs,
                targets,
                cutoff,
                last_index,
                forecast,
                while_waiting=lambda: fingerprint.append(district.fingerprint()),
            ),
            start=1,
        ):
            calibration["corrections"][fitted.target] = fitted.corrections
            calibration["district_correlation"][fitted.target] = fitted.correlations
            models[fitted.target] = fitted.models
            if fitted.forecast is not None:
                # made here as each target's rounds finish: this thread waits for the workers'
                # last rounds anyway, and the forecasts were a serial step after them
                made[fitted.target] = target_forecast(
                    self,
                    fitted.target,
                    fitted.models,
                    fitted.corrections,
                    *fitted.forecast,
                )
            report(f"fitted {fitted.target}", done, len(targets))
        # in target order, whichever finished first
        self.models_ = {t: models[t] for t in targets}
        for key in ("corrections", "district_correlation"):
            calibration[key] = {t: calibration[key][t] for t in targets}
        self.calibration_ = calibration
        self.targets_ = targets
        self.feature_names_: dict[str, Any] = {
            "point_in_time": inputs.point_in_time,
            "known_future": inputs.known_future,
            "design": {t: self._design_names(inputs, t) for t in targets},
        }
        self.n_months_required_ = required
        # how each column was published (data.lineage): a model fed a flat frame later (MLflow's
        # pyfunc input) reads the data with the same point-in-time rules it was trained with
        self.lineage_ = district.lineage
        self.training_last_month_ = str(district.monthly["month"].max())
        self.training_fingerprint_ = fingerprint[0]
        return inputs, made

    def _target_frames(
        self, inputs: FeatureInputs, target: str, cutoff: int, last_index: int
    ) -> tuple[dict[int, HorizonFrame], list[HorizonFrame], dict[int, HorizonFrame]]:
        """One target's frames for the calibration round, its scored rows and the final round
        (:func:`~models.forecast.target_fit.target_frames`)."""
        return target_frames(self, inputs, target, cutoff, last_index)

    def _excluded_features(self) -> tuple[str, ...]:
        return () if self.mechanism_features else MECHANISM_FEATURES

    def months_required(self) -> int:
        """Months of history a target needs to be fitted (seasonal lag, horizons, calibration)."""
        return SEASON_MONTHS + self.horizons + self.calibration_origins + MIN_TRAINING_ORIGINS

    def _check_params(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.transform not in ("change", "level"):
            raise ValueError(f"transform must be 'change' or 'level', got {self.transform!r}")
        if not 1 <= int(self.horizons) <= 24:
            raise ValueError(f"horizons must be 1 … 24 months, got {self.horizons}")
        if self.interval_method not in INTERVAL_METHODS:
            raise ValueError(
                f"interval_method must be one of {INTERVAL_METHODS}, got {self.interval_method!r}"
            )
        if int(self.calibration_origins) < 1:
            raise ValueError("calibration_origins must be at least 1")
        if not 0 < float(self.calibration_rounds_share) <= 1:
            share = self.calibration_rounds_share
            raise ValueError(f"calibration_rounds_share must lie in (0, 1], got {share!r}")
        for target, share in (self.target_calibration_rounds_share or {}).items():
            if not 0 < float(share) <= 1:
                raise ValueError(
                    f"target_calibration_rounds_share of {target} must lie in (0, 1], got {share!r}"
                )
        if isinstance(self.unclipped_calibration_targets, str):
            raise ValueError(
                "unclipped_calibration_targets must be a sequence of target names, "
                f"got the string {self.unclipped_calibration_targets!r}"
            )
        if isinstance(self.base_median_targets, str):
            raise ValueError(
                "base_median_targets must be a sequence of target names, "
                f"got the string {self.base_median_targets!r}"
            )
        if self._base_median_targets() and self.transform != "change":
            raise ValueError(
                "base_median_targets needs transform 'change' (the median is the label's base), "
                f"got {self.transform!r}"
            )

    def _frames(
        self,
        inputs: FeatureInputs,
        target: str,
        *,
        origins: np.ndarray | None = None,
        max_target_index: int | None = None,
        need_label: bool = True,
        horizons: Sequence[int] | None = None,
    ) -> list[HorizonFrame]:
        stacked = self.strategy == "stacked"
        return [
            horizon_frame(
                inputs.grid,
                target,
                h,
                stacked=stacked,
                transform=self.transform,
                origins=origins,
                max_target_index=max_target_index,
                need_label=need_label,
                cohort_features=self.cohort_features,
                seasonal_level=self.seasonal_level,
            )
            for h in (horizons or range(1, self.horizons + 1))
        ]

    def _frame(
        self, inputs: FeatureInputs, target: str, horizon: int, rows: tuple[np.ndarray, np.ndarray]
    ) -> HorizonFrame:
        return horizon_frame(
            inputs.grid,
            target,
            horizon,
            stacked=self.strategy == "stacked",
            transform=self.transform,
            cohort_features=self.cohort_features,
            seasonal_level=self.seasonal_level,
            rows=rows,
        )

    def _design_names(self, inputs: FeatureInputs, target: str) -> list[str]:
        return design_feature_names(
            inputs.grid,
            stacked=self.strategy == "stacked",
            target=target,
            cohort_features=self.cohort_features,
            seasonal_level=self.seasonal_level,
        )

    def _level_forecaster(self) -> LevelForecaster:
        return LevelForecaster(
            strategy=self.strategy,
            transform=self.transform,
            interval_method=self.interval_method,
            quantiles=tuple(float(q) for q in self.quantiles),
            season_calibration=self.season_calibration,
            base_median_targets=self._base_median_targets(),
            unclipped_calibration_targets=(
                UNCLIPPED_CALIBRATION_TARGETS
                if self.unclipped_calibration_targets is None
                else tuple(self.unclipped_calibration_targets)
            ),
        )

    def _base_median_targets(self) -> tuple[str, ...]:
        """``base_median_targets`` resolved: ``None`` is the default's (see the class)."""
        if self.base_median_targets is None:
            return BASE_MEDIAN_TARGETS if self.transform == "change" else ()
        return tuple(self.base_median_targets)

    def _august_split_targets(self) -> tuple[str, ...]:
        """``august_split_targets`` resolved: ``None`` is the default's (see the class); none for
        the direct strategy, whose designs have no horizon column."""
        if self.strategy != "stacked":
            return ()
        if self.august_split_targets is None:
            return AUGUST_SPLIT_TARGETS
        return tuple(self.august_split_targets)

    def _capacity_bound_targets(self) -> tuple[str, ...]:
        """``capacity_bound_targets`` resolved: ``None`` is the default's (see the class)."""
        if self.capacity_bound_targets is None:
            return CAPACITY_BOUND_TARGETS
        return tuple(self.capacity_bound_targets)

    def median_is_base(self, target: str) -> bool:
        """Whether ``target``'s p50 is its label's base, without a median booster."""
        return target in self._base_median_targets()

    def _booster_quantiles(self) -> list[float] | None:
        """The quantiles with a booster of their own: ``booster_quantiles`` that are among the
        forecast quantiles, plus the median; ``None`` = every one (and always for residual)."""
        if self.booster_quantiles is None or self.interval_method != "cqr":
            return None
        wanted = [float(q) for q in self.quantiles]
        median = wanted[self._level_forecaster().median_column]
        chosen = {q for q in wanted if any(np.isclose(q, b) for b in self.booster_quantiles)}
        return sorted(chosen | {median})

    def _model_quantiles(self) -> tuple[float, ...]:
        """Quantiles the boosters learn: all of them (CQR) or the median alone (residual)."""
        return tuple(self.quantiles) if self.interval_method == "cqr" else (0.5,)

    # -- forecasting -------------------------------------------------------------------------
    def _with_lineage(self, district: District) -> District:
        """``district`` with the lineage the model was fitted with, when it brings none."""
        return with_lineage(self, district)

    def targets_on_other_features(self, district: District) -> list[str]:
        """The fitted targets whose design features differ from the ones this version of the
        engine builds from ``district`` with this pipeline's parameters: a model it cannot
        forecast with (fitted on an older definition of a feature). Targets absent from the
        data are not compared."""
        return targets_on_other_features(self, district)

    def predict(
        self, district: District, *, horizon: int = 12, origin: pd.Period | None = None
    ) -> pd.DataFrame:
        """Calibrated quantile forecasts (FORECAST_COLUMNS) for every kindergarten with data at
        ``origin`` (default: the last month), target and horizon 1 … ``horizon``. Uses only data
        up to ``origin``."""
        inputs, origin = origin_inputs(self, district, horizon, origin)
        return forecast_table(self, inputs, origin, horizon)

    def predict_contributions(
        self,
        district: District,
        *,
        horizon: int = 12,
        top: int = 5,
        origin: pd.Period | None = None,
    ) -> pd.DataFrame:
        """Top drivers of each p50 forecast per kindergarten, target and horizon
        (``CONTRIBUTION_COLUMNS`` of :mod:`models.forecast.contributions`)."""
        inputs, origin = origin_inputs(self, district, horizon, origin)
        return contribution_table(self, inputs, origin, horizon, top)
