"""One LightGBM booster per quantile over the same rows, as a scikit-learn regressor.

The binned ``lightgbm.Dataset`` is built once and reused by every quantile's booster: binning is
a large share of LightGBM's fit time on small boosters, and the quantiles share the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from features.contract import QUANTILES

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


#: Overrides for the quantiles other than the median: 25 rounds at 3.5× the learning rate, a
#: quarter of the median's fit. The tails are conformalised afterwards, so a coarser fit there
#: loses little: on the simulated district and city the pinball loss rose by 0–3 % and 80 %
#: coverage stayed at 0.79–0.83 for children and § 31, while the whole fit took 0.4× the time of
#: 100 rounds for every quantile (4 rolling origins, district 9.5 s against 22.6 s).
DEFAULT_TAIL_LGBM_PARAMS: dict[str, Any] = {"n_estimators": 25, "learning_rate": 0.35}


def lgbm_params(overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Default parameters updated with a user's (e.g. Optuna's) overrides."""
    params = dict(DEFAULT_LGBM_PARAMS)
    params.update(overrides or {})
    return params


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
    random_state : seed for LightGBM's feature/row sampling.
    """

    def __init__(
        self,
        *,
        quantiles: Sequence[float] = QUANTILES,
        params: dict[str, Any] | None = None,
        tail_params: dict[str, Any] | None = None,
        random_state: int = 0,
    ) -> None:
        self.quantiles = quantiles
        self.params = params
        self.tail_params = tail_params
        self.random_state = random_state

    def fit(
        self,
        X: Any,
        y: Any,
        feature_names: Sequence[str] | None = None,
    ) -> QuantileLGBMRegressor:
        import lightgbm as lgb

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
        n_rows = X.shape[0]
        median_index = int(np.argmin(np.abs(np.asarray(quantiles) - 0.5)))
        median_params = lgbm_params(self.params)
        tail_params = {**median_params, **(self.tail_params or {})}
        for params in (median_params, tail_params):
            # LightGBM refuses leaves bigger than the data; tiny fits (tests) still work.
            params["min_data_in_leaf"] = max(1, min(int(params["min_data_in_leaf"]), n_rows // 2))
        dataset_params = {
            "max_bin": median_params.get("max_bin", 255),
            "verbose": -1,
            "min_data_in_bin": 1,
            "feature_pre_filter": False,
            # bin edges from a sample of rows: binning all of them cost more than a booster
            "bin_construct_sample_cnt": 2000,
        }
        data = lgb.Dataset(
            X,
            label=np.asarray(y, dtype=np.float64),
            params=dataset_params,
            feature_name=([str(n) for n in feature_names] if feature_names is not None else "auto"),
            free_raw_data=False,
        )
        self.boosters_ = []
        for i, q in enumerate(quantiles):
            own = dict(median_params if i == median_index else tail_params)
            rounds = int(own.pop("n_estimators"))
            booster_params = {
                **own,
                **dataset_params,
                "objective": "quantile",
                "alpha": q,
                "seed": self.random_state,
                "deterministic": True,
                "force_row_wise": True,
            }
            self.boosters_.append(lgb.train(booster_params, data, num_boost_round=rounds))
        self.quantiles_ = np.asarray(quantiles)
        self.feature_names_ = list(data.feature_name)
        return self

    def predict_quantiles(self, X: Any) -> np.ndarray:
        """(n_rows, n_quantiles), sorted along each row so quantiles never cross."""
        check_is_fitted(self, "boosters_")
        X = validate_data(
            self, X, reset=False, dtype=[np.float32, np.float64], ensure_all_finite="allow-nan"
        )
        columns = [b.predict(X, num_threads=self._threads()) for b in self.boosters_]
        return np.sort(np.column_stack(columns), axis=1)

    def predict(self, X: Any) -> np.ndarray:
        quantiles = self.predict_quantiles(X)
        return quantiles[:, int(np.argmin(np.abs(self.quantiles_ - 0.5)))]

    def contributions(self, X: np.ndarray, quantile: float = 0.5) -> np.ndarray:
        """SHAP values of the booster nearest ``quantile``: (n_rows, n_features + 1), the last
        column the expected value."""
        check_is_fitted(self, "boosters_")
        booster = self.boosters_[int(np.argmin(np.abs(self.quantiles_ - quantile)))]
        return np.asarray(booster.predict(X, pred_contrib=True, num_threads=self._threads()))

    def _threads(self) -> int:
        return int(lgbm_params(self.params).get("n_jobs", 2))

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
