"""LightGBM quantile boosters over the same rows, as a scikit-learn regressor.

A booster for each of a few quantiles (by default p10, p50, p90); every other quantile is spread
from them (:func:`spread_quantiles`) and, in the pipeline, conformalised like the rest. The binned
``lightgbm.Dataset`` is built once and reused by every booster: binning is a large share of
LightGBM's fit time on small boosters, and the quantiles share the rows.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
import pyarrow as pa
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from data.contract import QUANTILES

#: Lean defaults: a pipeline fits targets × quantiles × 2 rounds of boosters, so each must be
#: cheap. The model learns changes from the last value, a small signal that few, small trees
#: catch. One thread: OpenMP threads spin when the cores are shared (pytest -n 2, parallel
#: backtests) and a two-thread fit then runs many times slower than a one-thread fit.
DEFAULT_LGBM_PARAMS: dict[str, Any] = {
    "n_estimators": 100,
    "learning_rate": 0.1,
    "num_leaves": 15,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.5,
    "bagging_fraction": 1.0,
    "bagging_freq": 0,
    "lambda_l2": 0.0,
    "max_bin": 63,
    "n_jobs": 1,
}


#: Overrides for the quantiles other than the median: 15 rounds at 5× the learning rate, a
#: seventh of the median's rounds. The tails are conformalised afterwards, so a coarser fit there
#: loses little: on simulated districts (seeds 1 and 2, 4 origins, p10/p90 boosted) the pinball
#: loss rose by 1–4 % against 25 rounds at 0.35, 80 % coverage moved by under 3 points either
#: way, and the whole fit took 0.87× the time.
#: 7 leaves (as § 31's tails have) were the default for an hour on 2026-12-07 and were taken
#: back: on the tuning seeds 1–3 and 4–6 of both simulator families (4 origins) they left the
#: p50 alone (WAPE 0.999–1.002), moved 80 % coverage within the seeds' noise and saved 3–6 % of a
#: fit + forecast's CPU (helper speed5), but on short histories (the suite's test: 30
#: kindergartens from 2019, seed 5, 6 origins) capacity under 3 fell from 0.762 to 0.702 and
#: cohort over 3 after the August shift from 0.782 to 0.741 — out of the test's 0.75–0.85
#: (benchmarks/README.md, 2026-12-07). ``bench_selection``'s variant ``tail-leaves-7`` keeps it.
DEFAULT_TAIL_LGBM_PARAMS: dict[str, Any] = {"n_estimators": 15, "learning_rate": 0.5}

#: The quantiles with a booster of their own; the rest come from :func:`spread_quantiles`.
DEFAULT_BOOSTER_QUANTILES: tuple[float, ...] = (0.10, 0.50, 0.90)

#: LightGBM defaults per target, over :data:`DEFAULT_LGBM_PARAMS`
#: (a user's ``lgbm_params`` override both). Measured over 8 rolling origins on simulated
#: districts (seeds 1–3):
#: - the children counts learn a small correction to their intake-cycle projection, and beyond
#:   10–20 rounds the extra trees fit noise: under-3 WAPE was 1–3 % lower at 20 rounds than at
#:   100, over 3 the same; with the projection's persistence per month, 10 rounds were 0.3 %
#:   (over 3) and 0.8 % (under 3) better than 20, and 40 worse. Under-3s, projected from the
#:   level of a full group (:data:`~models.forecast.frames.PEAK_LEVEL_MONTHS`), need fewer
#:   still: at 5 rounds their WAPE was 0.2 / 0.4 / 0.5 % lower than at 10 on the district
#:   (8 origins, seeds 1–3), 0.7 % on the benchmark's 4 origins, and on the city −1.2 / +0.7 /
#:   +0.2 % (seeds 1–3); a single round swung further both ways (district −0.8 to −2.4 %,
#:   city −1.9 / +2.0 / +1.1 %);
#: - § 31 needs more (up to 5 % worse at 20 rounds); at 60 rounds of 0.15 with 7 leaves it was
#:   level with 100 rounds of 0.1 (−0.4 / −0.7 / +0.4 %);
#: - § 37 and sick leave at 50 rounds of 0.2 were 1.1 % and 1.7 % worse than at 100 of 0.1, in
#:   half the boosting; § 37 kept 50 of 0.2. Sick leave is back at 100 of 0.1 since 2026-12-06:
#:   on the tuning seeds 1–3 of both simulator families (2 origins) its WAPE was 1.9 % (cohort,
#:   0.1443 → 0.1416) and 1.0 % (capacity, 0.1893 → 0.1874) lower, where kindergartens short of
#:   staff need the extra rounds;
#: - staff leavers, based on their trailing mean (:mod:`models.forecast.frames`), forecast the
#:   same at 20 rounds as at 100 (their median is 0 almost everywhere; the tail boosters carry
#:   the forecast);
#: - the children counts since 2026-12-07 (issue 17; tuning seeds 1–3 of both simulator families,
#:   4 rolling origins, ``benchmarks/README.md``): the rounds above were chosen on the cohort
#:   family alone, where the label's base leaves little to learn. On the capacity family the
#:   under-3 median has more to learn from the intake-mechanism features (the spring's rolling
#:   intake up to capacity): 40 rounds of 0.05 took its WAPE 0.0811 → 0.0762 (−6.0 %) and the
#:   cohort family's 0.0559 → 0.0557; 20 / 40 rounds of 0.1 (−5.4 / −8.1 % on the capacity
#:   family) cost the cohort family 1.4 / 1.8 %, 60 rounds of 0.05 (−6.8 %) 0.5 %. Over-3s at
#:   20 rounds: −0.6 % (capacity), −0.9 % (cohort). Only the medians change (the tails keep
#:   their own 15 rounds).
TARGET_LGBM_PARAMS: dict[str, dict[str, Any]] = {
    "children_under3": {"n_estimators": 40, "learning_rate": 0.05},
    "children_over3": {"n_estimators": 20},
    "vedtak_31": {"n_estimators": 60, "learning_rate": 0.15, "num_leaves": 7},
    "vedtak_37": {"n_estimators": 50, "learning_rate": 0.2},
    "sick_leave_rate": {"n_estimators": 100, "learning_rate": 0.1},
    "staff_leavers": {"n_estimators": 20, "learning_rate": 0.4},
}


#: Per target, design features none of its boosters sees (``ForecastPipeline(unused_features=…)``;
#: a name the data's design lacks is skipped). Sick leave: the 26 columns carrying under 1.25 % of
#: the gain in every one of its boosters (median and tails, final round, tuning seeds 1–3 of both
#: simulator families, 2 origins): children's lags and means, the staffing and norm columns, the
#: waiting list, § 37 and the district's reporting count. Without them (4 origins, WAPE pooled
#: over seeds as a ratio to every column; 80 % coverage before → after) seeds 1–3: cohort 0.990
#: (0.822 → 0.828), capacity 0.997 (0.799 → 0.795); seeds 4–6: 0.996 (0.804 → 0.810), 0.998
#: (0.804 → 0.804); a fit + forecast about 14 % less CPU (benchmarks/README.md, 2026-12-07).
#: Then 9 more (under 0.75 % of the gain on average in every booster without the 26: the
#: district's children and waiting list per child, places used, capacity, children in all, § 31,
#: the August and summer flags), against the 26 alone: seeds 1–3 cohort 0.988 (0.828 → 0.821),
#: capacity 0.998 (0.795 → 0.805); seeds 4–6 1.000 (0.810 → 0.817), 0.995 (0.804 → 0.793); about
#: 6 % less CPU. 16 more (under 1 %) was dropped: cohort seeds 1–3 1.004 (helper speed4).
#: § 31 (its tails; its median is the stock-flow base, no booster): the 65 of 73 columns under
#: 3 % of the gain on average in each tail booster (final round, tuning seeds 1–3 of both
#: families, 2 origins, main b24e48e; the tails keep horizon, § 31's level, means and rate per
#: child, the 1–5 population, the under-3 crossing share and over-3 six months back). WAPE
#: unchanged (the median is not a booster); 80 % coverage (every column → without) seeds
#: 1–3: cohort 0.851 → 0.836, capacity 0.807 → 0.801; seeds 4–6: 0.788 → 0.785, 0.837 → 0.841;
#: a fit + forecast about 8 % less CPU. Under 2 % (54 columns) was dropped: capacity seeds 4–6
#: 0.837 → 0.859 (benchmarks/README.md, 2026-12-07, helper speed4).
TARGET_UNUSED_FEATURES: dict[str, tuple[str, ...]] = {
    "sick_leave_rate": (
        "capacity", "children_over3", "children_over3_lag3", "children_over3_mean_12m",
        "children_over3_mean_3m", "children_total", "children_under3", "children_under3_lag2",
        "children_under3_lag3", "children_under3_lag6", "children_under3_mean_3m",
        "district_children", "district_children_under3", "district_kindergartens_reporting",
        "district_vedtak_31_per_child", "district_waiting_list_per_child", "effective_staff_fte",
        "known_is_august", "known_is_summer", "low_income_share", "pedagogue_fte",
        "pedagogue_fte_minus_norm", "pedagogue_norm_positions", "places_used",
        "resource_pedagogue_fte", "sick_leave_rate_mean_3m", "staff_fte", "staff_leavers",
        "staff_norm_fte", "turnover_per_fte_year_3m", "u3_crossing_next_august", "vedtak_31",
        "vedtak_37", "waiting_list", "waiting_list_per_place",
    ),
    "vedtak_31": (
        "capacity", "capacity_headroom_places", "capacity_utilisation", "children_over3",
        "children_over3_lag1", "children_over3_lag12", "children_over3_lag2",
        "children_over3_lag3", "children_over3_mean_12m", "children_over3_mean_3m",
        "children_total", "children_under3", "children_under3_lag1", "children_under3_lag12",
        "children_under3_lag2", "children_under3_lag3", "children_under3_lag6",
        "children_under3_mean_12m", "children_under3_mean_3m", "district_children",
        "district_children_under3", "district_kindergartens_reporting",
        "district_sick_leave_rate_mean", "district_vedtak_31_per_child",
        "district_vedtak_37_per_child", "district_waiting_list_per_child", "effective_staff_fte",
        "effective_staff_fte_minus_norm", "known_calendar_month", "known_is_august",
        "known_is_summer", "known_month_of_kg_year", "known_months_to_august",
        "known_population_0", "known_population_1", "known_population_1_5_growth",
        "low_income_share", "minority_language_share", "pedagogue_fte", "pedagogue_fte_minus_norm",
        "pedagogue_norm_positions", "places_used", "resource_pedagogue_fte",
        "share_of_district_children", "sick_leave_rate", "staff_fte", "staff_fte_minus_norm",
        "staff_fte_per_norm", "staff_leavers", "staff_norm_fte",
        "target_change_same_span_last_year", "target_last", "target_same_month_last_year",
        "turnover_per_fte_year_12m", "turnover_per_fte_year_3m", "u3_crossing_next_august",
        "vedtak_31_lag1", "vedtak_31_lag12", "vedtak_31_lag2", "vedtak_31_lag3", "vedtak_31_lag6",
        "vedtak_37", "vedtak_37_per_child", "waiting_list", "waiting_list_per_place",
    ),
}  # fmt: skip


def lgbm_params(overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Default parameters updated with a user's (e.g. Optuna's) overrides."""
    params = dict(DEFAULT_LGBM_PARAMS)
    params.update(overrides or {})
    return params


def boosted_quantiles(
    quantiles: Sequence[float], booster_quantiles: Sequence[float] | None
) -> list[float]:
    """The quantiles that get a booster: ``booster_quantiles`` (each one of ``quantiles``, the
    median among them) or all of ``quantiles``."""
    if booster_quantiles is None:
        return [float(q) for q in quantiles]
    boosted = sorted(float(q) for q in booster_quantiles)
    wanted = {round(float(q), 6) for q in quantiles}
    if not boosted or any(round(q, 6) not in wanted for q in boosted):
        raise ValueError(f"booster_quantiles {booster_quantiles!r} must be among {quantiles!r}")
    median = min(quantiles, key=lambda q: abs(float(q) - 0.5))
    if round(float(median), 6) not in {round(q, 6) for q in boosted}:
        raise ValueError(f"booster_quantiles {booster_quantiles!r} must include {median}")
    return boosted


@functools.lru_cache(maxsize=64)
def _normal_quantile(level: float) -> float:
    return statistics.NormalDist().inv_cdf(level)


def spread_quantiles(
    boosted: np.ndarray, boosted_levels: np.ndarray, levels: np.ndarray
) -> np.ndarray:
    """(n_rows, len(levels)) from the boosted columns (n_rows, len(boosted_levels)), sorted.

    A level without a booster is m + (b − m)·z(level)/z(b): m the median column, b the boosted
    level nearest it on the same side of the median, z the standard normal quantile — the shape a
    normal distribution would give, with each side's own spread."""
    boosted_levels = np.asarray(boosted_levels, dtype=np.float64)
    median_at = int(np.argmin(np.abs(boosted_levels - 0.5)))
    median, centre = boosted[:, median_at], boosted_levels[median_at]
    out = np.empty((boosted.shape[0], len(levels)))
    for j, level in enumerate(np.asarray(levels, dtype=np.float64)):
        exact = np.flatnonzero(np.isclose(boosted_levels, level))
        if len(exact):
            out[:, j] = boosted[:, exact[0]]
            continue
        side = np.flatnonzero((boosted_levels - centre) * (level - centre) > 0)
        if len(side) == 0:  # nothing boosted on this side: the median (calibration widens it)
            out[:, j] = median
            continue
        nearest = side[np.argmin(np.abs(boosted_levels[side] - level))]
        ratio = _normal_quantile(level) / _normal_quantile(float(boosted_levels[nearest]))
        out[:, j] = median + (boosted[:, nearest] - median) * ratio
    return out


def pin_median(quantiles: np.ndarray, median_column: int, median: np.ndarray) -> np.ndarray:
    """``quantiles`` (n_rows, n) with column ``median_column`` set to ``median`` and the columns
    on each side of it sorted and clipped to that side: a sort that leaves the median where it
    is (a plain sort would put a lower quantile above it in its place)."""
    out = np.array(quantiles, dtype=np.float64, copy=True)
    out[:, median_column] = median
    lower, upper = out[:, :median_column], out[:, median_column + 1 :]
    out[:, :median_column] = np.minimum(np.sort(lower, axis=1), median[:, None])
    out[:, median_column + 1 :] = np.maximum(np.sort(upper, axis=1), median[:, None])
    return out


def _tail_rows(n_rows: int, max_rows: int | None, random_state: int) -> np.ndarray | None:
    """Sorted positions of the rows the tail boosters are fitted on: ``max_rows`` of ``n_rows``
    drawn without replacement, or ``None`` (every row) when there are no more than that."""
    if max_rows is None or n_rows <= max_rows:
        return None
    if max_rows < 1:
        raise ValueError(f"tail_max_rows must be at least 1, got {max_rows}")
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n_rows, size=int(max_rows), replace=False))


def _arrow_table(by_column: np.ndarray, columns: Iterable[int]) -> Any:
    """The rows of ``by_column`` (one feature per row, C-contiguous) at ``columns`` as an Arrow
    table of float columns, for ``lightgbm.Dataset``: LightGBM bins an Arrow table column by
    column, to the same bins as the row-major matrix (every forecast identical) in about 15 %
    less time, where a matrix costs it a vector of (feature, value) pairs per row. NaN stays a
    float NaN, which LightGBM reads as missing as before."""
    arrays = [pa.array(by_column[j]) for j in columns]
    # LightGBM's own names for a matrix's columns, which a fit without feature names keeps
    return pa.Table.from_arrays(arrays, names=[f"Column_{i}" for i in range(len(arrays))])


def _append_columns(dataset: Any, other: Any) -> None:
    """``other``'s binned columns appended to ``dataset``'s, both constructed on the same rows:
    LightGBM's ``LGBM_DatasetAddFeaturesFrom``, the call inside ``Dataset.add_features_from``.
    That method also warns on every call that it drops the raw rows and resets the categorical
    features, which say nothing here (the boosters need only the bins; no column is
    categorical), and warning filters set on import do not reach every caller (pytest resets
    them after collecting), so the library call is made without the method's notes."""
    lgb.basic._safe_call(lgb.basic._LIB.LGBM_DatasetAddFeaturesFrom(dataset._handle, other._handle))


def _median_and_tail_datasets(
    dataset: Callable[..., Any],
    used_columns: np.ndarray,
    tail_columns: np.ndarray,
    n_rows: int,
) -> tuple[Any, Any]:
    """The median's Dataset (``used_columns``) and the tails' (``tail_columns``, a subset of
    them in the same order), each column binned once: every run of consecutive columns that
    both see, or only the median sees, is a Dataset of its own, and each side's Dataset is its
    runs joined in order (:func:`_append_columns`). Binning the two sides apart pushed
    each shared column's rows twice, a third of a children's fit's binning (6,000 rows × 56
    columns: 38 → 25 ms). A column is binned from the same sampled rows (the same seed and row
    count) whatever else is in its Dataset, and LightGBM samples a booster's columns by
    position, so the boosters are the very ones the two Datasets built whole give
    (tests/models/test_forecast_shared_binning.py). ``dataset(columns, labelled=…)`` builds one
    run's Dataset; only the runs each side starts from need the label (joining keeps the first
    Dataset's, and a label costs a run ~0.2 ms of its ~0.4 ms besides its columns)."""
    hidden = ~np.isin(used_columns, tail_columns)
    starts = np.flatnonzero(np.diff(hidden.astype(np.int8))) + 1
    runs = np.split(np.arange(len(used_columns)), starts)
    first_shared = next(i for i, run in enumerate(runs) if not hidden[run[0]])
    built = [
        dataset(used_columns[run], labelled=i in (0, first_shared)).construct()
        for i, run in enumerate(runs)
    ]
    shared = [part for part, run in zip(built, runs, strict=True) if not hidden[run[0]]]
    # the first run starts both sides when both see it: the median gets a copy of its bins
    median = built[0].subset(np.arange(n_rows)).construct() if not hidden[0] else built[0]
    for part in built[1:]:
        _append_columns(median, part)
    tails = shared[0]
    for part in shared[1:]:
        _append_columns(tails, part)
    return median, tails


class QuantileLGBMRegressor(RegressorMixin, BaseEstimator):
    """Quantile regression with LightGBM: ``predict_quantiles`` gives one column per quantile,
    ``predict`` the median (or the quantile nearest 0.5), so it passes scikit-learn's checks.

    Parameters
    ----------
    quantiles : sequence of float in (0, 1)
    params : LightGBM parameters (``n_estimators`` = boosting rounds); ``None`` = the defaults.
    tail_params : overrides of ``params`` for every quantile but the median (e.g. fewer rounds at
        a higher learning rate: the tails are conformalised afterwards, the median is the
        forecast everyone reads); ``None`` = the same as the median's.
    booster_quantiles : the quantiles that get a booster of their own; ``None`` = all of
        ``quantiles``. Every other quantile is read off the nearest boosted quantile on its side
        of the median by the normal distribution's ratio of quantiles (:func:`spread_quantiles`):
        a booster per side keeps the skew and the width's dependence on the inputs, and
        conformal calibration sets each interval's coverage afterwards.
    median_only_features : names of features only the median's booster sees (the other boosters
        are fitted on the remaining columns): inputs that say where a count goes but not how
        uncertain it is. Needs ``feature_names`` at fit.
    median_booster : ``False``: no booster for the median, whose column is 0 — for a label that
        is a change from a base the median forecast is the base itself; the other quantiles keep
        their boosters and stay on their side of 0.
    unused_features : names of features no booster sees (they are left out of every booster's
        columns, at fit and when predicting, so ``X`` keeps the full design). Needs
        ``feature_names`` at fit.
    tail_max_rows : the boosters other than the median's are fitted on at most this many of the
        rows, drawn at random (``random_state``) without replacement; ``None`` = every row. The
        tails are conformalised afterwards: they need the width's shape, not the last digit.
    random_state : seed for LightGBM's feature/row sampling.
    """

    #: regressors pickled before the options existed all had a median booster and used every
    #: column
    median_booster = True
    unused_features: Sequence[str] | None = None
    tail_max_rows: int | None = None

    def __init__(
        self,
        *,
        quantiles: Sequence[float] = QUANTILES,
        params: dict[str, Any] | None = None,
        tail_params: dict[str, Any] | None = None,
        booster_quantiles: Sequence[float] | None = None,
        median_only_features: Sequence[str] | None = None,
        median_booster: bool = True,
        unused_features: Sequence[str] | None = None,
        tail_max_rows: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.quantiles = quantiles
        self.params = params
        self.tail_params = tail_params
        self.booster_quantiles = booster_quantiles
        self.median_only_features = median_only_features
        self.median_booster = median_booster
        self.unused_features = unused_features
        self.tail_max_rows = tail_max_rows
        self.random_state = random_state

    def fit(
        self,
        X: Any,
        y: Any,
        feature_names: Sequence[str] | None = None,
    ) -> QuantileLGBMRegressor:
        X, y = validate_data(
            self,
            X,
            y,
            dtype=[np.float32, np.float64],
            ensure_all_finite="allow-nan",
            y_numeric=True,
        )
        quantiles = [float(q) for q in self.quantiles]
        if not quantiles or any(not 0 < q < 1 for q in quantiles):
            raise ValueError(f"quantiles must lie in (0, 1), got {self.quantiles!r}")
        boosted = boosted_quantiles(quantiles, self.booster_quantiles)
        n_rows = X.shape[0]
        median_index = int(np.argmin(np.abs(np.asarray(boosted) - 0.5)))
        median_params = lgbm_params(self.params)
        tail_params = {**median_params, **(self.tail_params or {})}
        tail_rows = _tail_rows(n_rows, self.tail_max_rows, self.random_state)
        for params, rows in (
            (median_params, n_rows),
            (tail_params, n_rows if tail_rows is None else len(tail_rows)),
        ):
            # LightGBM refuses leaves bigger than the data; tiny fits (tests) still work.
            params["min_data_in_leaf"] = max(1, min(int(params["min_data_in_leaf"]), rows // 2))
        dataset_params = {
            "max_bin": median_params.get("max_bin", 255),
            "verbose": -1,
            "min_data_in_bin": 1,
            "feature_pre_filter": False,
            # bin edges from a sample of rows: binning all of them cost more than a booster
            "bin_construct_sample_cnt": median_params.get("bin_construct_sample_cnt", 2000),
            # binning uses the booster's threads: more OpenMP threads than cores spin
            "num_threads": int(median_params.get("n_jobs", 1)),
            # the rows binned are drawn with the boosters' seed, as when a booster's training
            # builds the Dataset: the same bins when one is built first for a tails' subset
            "seed": self.random_state,
        }
        # without names, LightGBM's own for a matrix's columns
        all_names = (
            [str(n) for n in feature_names]
            if feature_names is not None
            else [f"Column_{j}" for j in range(X.shape[1])]
        )
        hidden = set(self.median_only_features or ())
        unused = set(self.unused_features or ())
        for option, given in (("median_only_features", hidden), ("unused_features", unused)):
            if given and feature_names is None:
                raise ValueError(f"{option} needs feature_names")
        # unused columns are left out of every booster (the very boosters a design without them
        # would give); the other boosters than the median's are fitted on the remaining columns
        # without the median-only ones, for the same reason (LightGBM samples columns by
        # position: merely blanking them out changed the tails, and the intervals with them)
        self.used_columns_ = np.asarray(
            [j for j, n in enumerate(all_names) if n not in unused], dtype=np.int64
        )
        self.tail_columns_ = np.asarray(
            [j for j in self.used_columns_ if all_names[j] not in hidden], dtype=np.int64
        )
        label = np.asarray(y, dtype=np.float64)
        # one transposed copy: each column then goes to Arrow without another
        by_column = np.ascontiguousarray(X.T)

        def dataset(
            columns: np.ndarray, rows: np.ndarray | None = None, *, labelled: bool = True
        ) -> Any:
            values = by_column if rows is None else by_column[:, rows]
            return lgb.Dataset(
                _arrow_table(values, columns),
                label=None if not labelled else label if rows is None else label[rows],
                params=dataset_params,
                feature_name=(
                    [all_names[j] for j in columns] if feature_names is not None else "auto"
                ),
                free_raw_data=False,
            )

        same_columns = len(self.tail_columns_) == len(self.used_columns_)
        has_tails = len(boosted) > 1
        if tail_rows is None and not same_columns and self.median_booster and has_tails:
            data, tail_data = _median_and_tail_datasets(
                dataset, self.used_columns_, self.tail_columns_, n_rows
            )
        elif tail_rows is None:
            data = dataset(self.used_columns_)
            tail_data = data if same_columns else dataset(self.tail_columns_)
        elif same_columns:
            data = dataset(self.used_columns_)
            # the median's bins, the rows pushed again: no second search for bin edges
            tail_data = data.construct().subset(tail_rows)
        else:
            data = dataset(self.used_columns_)
            tail_data = dataset(self.tail_columns_, tail_rows)
        self.boosters_: list[Any] = []
        for i, q in enumerate(boosted):
            if i == median_index and not self.median_booster:
                self.boosters_.append(None)  # the median is the base: a change of 0
                continue
            own = dict(median_params if i == median_index else tail_params)
            rounds = int(own.pop("n_estimators"))
            booster_params = {
                **own,
                **dataset_params,
                "objective": "quantile",
                "alpha": q,
                "seed": self.random_state,
                "deterministic": True,
                "force_col_wise": True,
            }
            # keep_training_booster: no round trip through the model's text (the default's way of
            # freeing the training data); the Dataset is dropped with this fit anyway
            own_data = data if i == median_index else tail_data
            self.boosters_.append(
                lgb.train(
                    booster_params, own_data, num_boost_round=rounds, keep_training_booster=True
                )
            )
        for booster in self.boosters_:
            if booster is not None:
                booster.free_dataset()  # the raw rows are not needed to predict
        self.quantiles_ = np.asarray(quantiles)
        self.boosted_quantiles_ = np.asarray(boosted)
        self.median_index_ = median_index
        self.feature_names_ = all_names
        return self

    def predict_quantiles(self, X: Any, median: np.ndarray | None = None) -> np.ndarray:
        """(n_rows, n_quantiles), sorted along each row so quantiles never cross. ``median``
        (n_rows,): in place of the median booster's predictions, before the quantiles without a
        booster are spread from it (:func:`spread_quantiles`) and the columns sorted."""
        check_is_fitted(self, "boosters_")
        X = validate_data(
            self, X, reset=False, dtype=[np.float32, np.float64], ensure_all_finite="allow-nan"
        )
        tail_X = self._tail_view(X)
        median_X = self._median_view(X)
        # models fitted before median-only features existed have neither attribute: their
        # boosters all get tail_X, which is X itself
        median_index = getattr(self, "median_index_", None)
        columns = [
            np.asarray(median, dtype=np.float64)
            if median is not None and i == median_index
            else np.zeros(X.shape[0])
            if b is None
            else b.predict(median_X if i == median_index else tail_X, num_threads=self._threads())
            for i, b in enumerate(self.boosters_)
        ]
        stacked = np.column_stack(columns)
        if self.has_median_booster:
            boosted = np.sort(stacked, axis=1)
        else:  # the median stays 0, the others are sorted on their side of it
            assert median_index is not None
            boosted = pin_median(stacked, median_index, np.zeros(X.shape[0]))
        return np.sort(spread_quantiles(boosted, self.boosted_quantiles_, self.quantiles_), axis=1)

    @property
    def has_median_booster(self) -> bool:
        """Whether the median has a booster of its own (else its column is 0: the base)."""
        median_index = getattr(self, "median_index_", None)
        return median_index is None or self.boosters_[median_index] is not None

    def predict(self, X: Any) -> np.ndarray:
        quantiles = self.predict_quantiles(X)
        return quantiles[:, int(np.argmin(np.abs(self.quantiles_ - 0.5)))]

    def contributions(self, X: np.ndarray, quantile: float = 0.5) -> np.ndarray:
        """SHAP values of the booster nearest ``quantile``: (n_rows, n_features + 1), the last
        column the expected value; 0 for a feature that booster does not see."""
        booster = self.booster_nearest(quantile)
        median = np.isclose(
            self.boosted_quantiles_[np.argmin(np.abs(self.boosted_quantiles_ - quantile))], 0.5
        )
        own = self._median_view(X) if median else self._tail_view(X)
        values = np.asarray(booster.predict(own, pred_contrib=True, num_threads=self._threads()))
        if own.shape[1] == X.shape[1]:
            return values
        seen = self._median_columns(X.shape[1]) if median else self.tail_columns_
        out = np.zeros((X.shape[0], X.shape[1] + 1))
        out[:, seen] = values[:, :-1]
        out[:, -1] = values[:, -1]
        return out

    def booster_nearest(self, quantile: float = 0.5) -> Any:
        """The fitted ``lightgbm.Booster`` of the boosted quantile nearest ``quantile``; a
        ``ValueError`` when that is the median and it has no booster (``median_booster``)."""
        check_is_fitted(self, "boosters_")
        booster = self.boosters_[int(np.argmin(np.abs(self.boosted_quantiles_ - quantile)))]
        if booster is None:
            raise ValueError("the median has no booster: its forecast is the base itself")
        return booster

    def boosters_nearest(self, quantile: float = 0.5) -> list[Any]:
        """The boosters whose trees make the boosted quantile nearest ``quantile``: here its one
        (:meth:`booster_nearest`); a regressor fitted apart before the August shift
        (``august_split.AugustSplitRegressor``) has a second for the median."""
        return [self.booster_nearest(quantile)]

    def _median_columns(self, n_features: int) -> np.ndarray:
        """The columns the median's booster sees (models fitted before ``unused_features``
        existed see every column)."""
        columns = getattr(self, "used_columns_", None)
        return np.arange(n_features) if columns is None else columns

    def _median_view(self, X: np.ndarray) -> np.ndarray:
        """``X`` as the median's booster sees it: without the unused columns."""
        columns = self._median_columns(X.shape[1])
        return X if len(columns) == X.shape[1] else X[:, columns]

    def _tail_view(self, X: np.ndarray) -> np.ndarray:
        """``X`` as the boosters other than the median's see it: without the median-only
        columns (models fitted before those existed see every column)."""
        columns = getattr(self, "tail_columns_", None)
        if columns is None or len(columns) == X.shape[1]:
            return X
        return X[:, columns]

    def _threads(self) -> int:
        return int(lgbm_params(self.params).get("n_jobs", 2))

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
