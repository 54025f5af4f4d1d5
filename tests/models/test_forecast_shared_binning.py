"""The median's and the tails' Datasets built from runs of columns binned once
(``quantile_lgbm._median_and_tail_datasets``): every booster is the very one LightGBM trains on
the two Datasets built whole, column by column, whichever columns only the median sees (first,
inside, last, several runs). SIMULATED data."""

from __future__ import annotations

import warnings

import lightgbm as lgb
import numpy as np
import pytest

from models.forecast.quantile_lgbm import QuantileLGBMRegressor, lgbm_params

PARAMS = {"n_estimators": 12, "min_data_in_leaf": 20, "feature_fraction": 0.5}
TAILS = {"n_estimators": 6, "learning_rate": 0.5}
NAMES = [f"f{j}" for j in range(9)]


def _rows(seed: int, n: int = 2_000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, len(NAMES)))
    X[rng.random(X.shape) < 0.05] = np.nan  # missing values bin apart
    X[:, 4] = np.round(X[:, 4])  # a column of few values: few bins
    y = np.nansum(X[:, :4], axis=1) + (1 + np.abs(np.nan_to_num(X[:, 5]))) * rng.standard_normal(n)
    return X, y


def _whole_dataset_boosters(
    X: np.ndarray, y: np.ndarray, model: QuantileLGBMRegressor
) -> list[lgb.Booster]:
    """The oracle: each booster trained as LightGBM's own example does, on one Dataset of all
    its columns built from the matrix, with the regressor's parameters."""
    median = lgbm_params(PARAMS)
    median["min_data_in_leaf"] = min(int(median["min_data_in_leaf"]), len(y) // 2)
    tails = {**median, **TAILS}
    boosters = []
    for i, q in enumerate(model.boosted_quantiles_):
        own = dict(median if i == model.median_index_ else tails)
        rounds = int(own.pop("n_estimators"))
        columns = model.used_columns_ if i == model.median_index_ else model.tail_columns_
        params = {
            **own,
            "max_bin": median.get("max_bin", 255),
            "verbose": -1,
            "min_data_in_bin": 1,
            "feature_pre_filter": False,
            "bin_construct_sample_cnt": median.get("bin_construct_sample_cnt", 2000),
            "num_threads": 1,
            "objective": "quantile",
            "alpha": q,
            "seed": model.random_state,
            "deterministic": True,
            "force_col_wise": True,
        }
        data = lgb.Dataset(
            np.ascontiguousarray(X[:, columns]),
            label=y,
            params=params,
            feature_name=[NAMES[j] for j in columns],
        )
        boosters.append(lgb.train(params, data, num_boost_round=rounds))
    return boosters


def _trees(booster: lgb.Booster) -> str:
    """The model's trees (the text after its header, which lists parameters and versions)."""
    return booster.model_to_string().split("Tree=0", 1)[1]


@pytest.mark.parametrize(
    "median_only",
    [["f0"], ["f3", "f4"], ["f8"], ["f1", "f2", "f6", "f8"], ["f0", "f5", "f6"]],
    ids=["first", "inside", "last", "several-runs", "first-and-inside"],
)
def test_boosters_are_those_of_the_datasets_built_whole(median_only):
    X, y = _rows(0)
    with warnings.catch_warnings(record=True) as caught:
        model = QuantileLGBMRegressor(
            quantiles=(0.1, 0.5, 0.9),
            params=PARAMS,
            tail_params=TAILS,
            median_only_features=median_only,
            random_state=3,
        ).fit(X, y, feature_names=NAMES)
    # LightGBM's notes on joining Datasets (raw rows dropped, categories reset) say nothing here
    assert [str(w.message) for w in caught] == []
    oracle = _whole_dataset_boosters(X, y, model)
    for ours, theirs in zip(model.boosters_, oracle, strict=True):
        assert _trees(ours) == _trees(theirs)
    tail_names = [n for n in NAMES if n not in median_only]
    assert model.boosters_[1].feature_name() == NAMES
    assert [model.boosters_[i].feature_name() for i in (0, 2)] == [tail_names] * 2
    fresh, _ = _rows(1, 500)
    assert np.array_equal(
        model.boosters_[0].predict(fresh[:, model.tail_columns_]),
        oracle[0].predict(np.ascontiguousarray(fresh[:, model.tail_columns_])),
    )
