"""The tail boosters (p10, p90) on fewer rows than the median (``tail_max_rows``) and without
some of the median's columns (``tail_unused_features``): the median's booster is untouched, the
tails see exactly the rows and columns asked for, and tails fitted on a third of the rows still
give intervals whose width follows the noise. SIMULATED data."""

from __future__ import annotations

import numpy as np
import pytest

from models.forecast import ForecastPipeline
from models.forecast.quantile_lgbm import DEFAULT_TAIL_LGBM_PARAMS, QuantileLGBMRegressor

PARAMS = {"n_estimators": 30, "min_data_in_leaf": 20}
TAILS = {"n_estimators": 15, "learning_rate": 0.5}


def _rows_seen(booster) -> int:
    """Rows the booster was trained on: its first tree's root holds them all."""
    return int(booster.dump_model()["tree_info"][0]["tree_structure"]["internal_count"])


def _noisy(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y = 2·x0 + (0.5 + 2·|x1|)·ε: the centre moves with x0, the spread with x1."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    spread = 0.5 + 2.0 * np.abs(X[:, 1])
    return X, 2.0 * X[:, 0] + spread * rng.standard_normal(n), spread


@pytest.mark.parametrize("median_only", [[], ["f3"]], ids=["shared-columns", "own-columns"])
def test_tails_see_the_drawn_rows_the_median_every_row(median_only):
    X, y, _ = _noisy(0, 3_000)
    names = ["f0", "f1", "f2", "f3"]

    def fit(tail_max_rows):
        return QuantileLGBMRegressor(
            quantiles=(0.1, 0.5, 0.9),
            params=PARAMS,
            tail_params=TAILS,
            median_only_features=median_only,
            tail_max_rows=tail_max_rows,
        ).fit(X, y, feature_names=names)

    every_row, fewer = fit(None), fit(1_000)
    assert every_row.boosters_[1].model_to_string() == fewer.boosters_[1].model_to_string()
    assert _rows_seen(fewer.boosters_[1]) == 3_000
    assert [_rows_seen(fewer.boosters_[i]) for i in (0, 2)] == [1_000, 1_000]
    tail_names = [n for n in names if n not in median_only]
    assert [fewer.boosters_[i].feature_name() for i in (0, 2)] == [tail_names] * 2
    assert not np.array_equal(fewer.predict_quantiles(X), every_row.predict_quantiles(X))
    # no more rows than asked for: every row, the very same boosters
    as_many = fit(3_000)
    for a, b in zip(as_many.boosters_, every_row.boosters_, strict=True):
        assert a.model_to_string() == b.model_to_string()


@pytest.mark.parametrize(
    ("tail_max_rows", "median_only"),
    [(None, []), (2_000, []), (2_000, ["f3"])],
    ids=["every-row", "a-third", "a-third-own-columns"],
)
def test_default_tails_keep_coverage_and_the_width_s_shape(tail_max_rows, median_only):
    """The default tails (15 rounds at 5× the median's learning rate) give uncalibrated 80 %
    intervals that cover about 80 % of fresh data and are wide where the noise
    is; so do tails fitted on a third of the rows, drawn with their own labels (a shuffled label,
    or rows paired with other rows' labels, breaks both)."""
    X, y, _ = _noisy(1, 6_000)
    model = QuantileLGBMRegressor(
        quantiles=(0.1, 0.5, 0.9),
        params=PARAMS,
        tail_params=DEFAULT_TAIL_LGBM_PARAMS,
        tail_max_rows=tail_max_rows,
        median_only_features=median_only,
    ).fit(X, y, feature_names=["f0", "f1", "f2", "f3"])
    for i in (0, 2):  # the tails' rounds and leaves as asked for
        trees = model.boosters_[i].dump_model()["tree_info"]
        assert len(trees) == DEFAULT_TAIL_LGBM_PARAMS["n_estimators"]
        assert max(t["num_leaves"] for t in trees) <= PARAMS.get("num_leaves", 15)
    fresh_X, fresh_y, spread = _noisy(2, 4_000)
    predicted = model.predict_quantiles(fresh_X)
    inside = (fresh_y >= predicted[:, 0]) & (fresh_y <= predicted[:, 2])
    assert 0.72 <= inside.mean() <= 0.88
    width = predicted[:, 2] - predicted[:, 0]
    assert np.corrcoef(width, spread)[0, 1] > 0.8


def test_a_tail_row_limit_below_one_is_refused():
    X, y, _ = _noisy(3, 200)
    with pytest.raises(ValueError, match="tail_max_rows must be at least 1"):
        QuantileLGBMRegressor(quantiles=(0.1, 0.5, 0.9), tail_max_rows=0).fit(X, y)


@pytest.fixture(scope="module")
def district():
    from simulate import simulate_district

    return simulate_district("district", seed=4, n_kindergartens=8).district


def test_pipeline_tails_leave_out_their_columns_and_the_median_keeps_them(district):
    left_out = ["children_total", "target_last", "no_such_column"]  # a missing name is skipped
    pipeline = ForecastPipeline(
        targets=["children_under3"],
        horizons=3,
        calibration_origins=3,
        lgbm_params={"n_estimators": 10, "min_data_in_leaf": 20},
        tail_unused_features={"children_under3": left_out},
        tail_max_rows=300,
        n_jobs=1,
    ).fit(district)
    regressor = pipeline.models_["children_under3"][0]
    lower, median, upper = regressor.boosters_
    assert {"children_total", "target_last"} <= set(median.feature_name())
    for tail in (lower, upper):
        assert not {"children_total", "target_last"} & set(tail.feature_name())
        assert _rows_seen(tail) == 300
    assert _rows_seen(median) > 300
