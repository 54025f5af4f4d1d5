"""A target's rows whose span ends before the next August shift given a median booster of their
own (``ForecastPipeline(august_split_targets=…)``).

The stacked model reads the horizon and the target month's place in the kindergarten year as
two columns; whether the span (t, t + h] holds an August — the age shift and the main intake —
is the diagonal ``horizon ≥ month_of_kg_year(t + h)`` of the two, which trees of 15 leaves in
40 rounds cut only in steps. Before the shift a count moves by the rolling intake and moves
alone; after it, by the intake that refills the places the shift freed. The rows before the
shift get a median booster fitted on them alone; the rows after it keep the median fitted on
every row (fitted on the after-shift rows alone, the cohort family's under-3 forecasts after the
shift lost what the rows before it teach about a kindergarten's level), and every row keeps the
tail boosters fitted on every row (the tails are conformalised afterwards; a second set cost
time for nothing: benchmarks/README.md, 2026-12-07, helper kids7). Which rows go where is known
at the origin (the calendar).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from models.forecast.quantile_lgbm import QuantileLGBMRegressor, lgbm_params

#: The design columns the side of a row is read from: the horizon h and the target month's
#: month of the kindergarten year (August = 1 … July = 12).
HORIZON_COLUMN = "horizon"
KG_MONTH_COLUMN = "known_month_of_kg_year"
#: The targets split by default (``ForecastPipeline(august_split_targets=None)``): children
#: under 3, whose count before the shift moves by the capacity family's rolling intake up to
#: capacity and after it by the August intake. Under-3 WAPE (tuning seeds, 4 rolling origins,
#: mean over LightGBM random states 0–2 on seeds 1–3 and 0–1 on seeds 4–6): capacity family
#: −3.5 % / −3.7 %, cohort family −0.5 % / −0.9 %; children over 3 the same. Over 3 split too
#: (a regressor per side) cost the cohort family 2.7 % (helper kids7).
AUGUST_SPLIT_TARGETS: tuple[str, ...] = ("children_under3",)
#: The early rows' median booster is fitted in this multiple of the median's rounds (rounded
#: up), at its learning rate. Under-3 WAPE against the defaults' (tuning seeds, 4 rolling
#: origins; mean over LightGBM random states 0–2 on seeds 1–3 and 0–1 on seeds 4–6): capacity
#: family −3.5 % / −3.7 % (in the median's own rounds −1.6 % / −2.1 %), cohort family −0.5 % /
#: −0.9 % (−0.2 % / −1.1 %); the learning rate times 1.5 in the same rounds instead (no extra
#: cost) −3.6 % / −3.6 % and −0.1 % / −0.7 %, the cohort family worse than the defaults at two
#: of five states (benchmarks/README.md, helper kids7).
BEFORE_MEDIAN_ROUNDS_SCALE = 1.5
#: … and at this multiple of the median's learning rate (0.1 for children under 3's 0.05) since
#: 2026-12-08: under-3 WAPE against the same rounds at the median's rate (tuning seeds, 4 rolling
#: origins; mean over LightGBM random states 0–2 on seeds 1–3 and 0–3 on seeds 4–6): capacity
#: family −2.4 % / −1.4 %, cohort family +0.1 % / +0.7 %, no extra CPU (the same rounds). Twice
#: the rounds at the median's rate instead −1.1 % / −0.7 % and −0.1 % / +0.2 %; 1.5 times the
#: rate −1.6 % / −0.9 % and +0.6 % / +0.3 %; 0.8 of the columns per tree with 2 or 1.5 times the
#: rate, and 4 times the rounds, gained more on the capacity family (up to −3.0 % on seeds 1–3)
#: and lost 0.5–1.7 % on the cohort family (benchmarks/README.md, helper kids9).
BEFORE_MEDIAN_LEARNING_RATE_SCALE = 2.0
#: Whether the calibration round's median is split too (else only the final round's, whose median
#: is the forecast: split in both, the WAPE and coverage were the same on the tuning seeds 1–3).
SPLIT_IN_CALIBRATION_ROUND = False


def crosses_august(X: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Per row of ``X`` (columns ``names``): whether its span (t, t + h] holds an August, i.e.
    h ≥ the target month's month of the kindergarten year (a target month in August, month 1,
    is the shift itself; one in July, month 12, is 11 months after the last shift)."""
    names = list(names)
    horizon = X[:, names.index(HORIZON_COLUMN)]
    kg_month = X[:, names.index(KG_MONTH_COLUMN)]
    return np.asarray(horizon >= kg_month)


def can_split(names: Sequence[str]) -> bool:
    """Whether a design of ``names`` carries the two columns a row's side is read from (a
    stacked design does; a direct one has no horizon column)."""
    return HORIZON_COLUMN in names and KG_MONTH_COLUMN in names


class AugustSplitRegressor:
    """A :class:`~models.forecast.quantile_lgbm.QuantileLGBMRegressor` fitted on every row
    (``params``), whose median, for the rows whose span holds no August
    (:func:`crosses_august`), is a median booster fitted on those rows alone (the same
    parameters, its rounds times :data:`BEFORE_MEDIAN_ROUNDS_SCALE`, its learning rate times
    ``learning_rate_scale``, ``None`` = :data:`BEFORE_MEDIAN_LEARNING_RATE_SCALE`); the other
    quantiles are the regressor's, spread and sorted around that median as around its own
    (:meth:`QuantileLGBMRegressor.predict_quantiles`'s ``median``). With under two rows before
    the shift, or a regressor without a median booster, the regressor predicts every row."""

    def __init__(self, *, learning_rate_scale: float | None = None, **params: Any) -> None:
        self.learning_rate_scale = learning_rate_scale
        self.params = params

    def fit(self, X: Any, y: Any, feature_names: Sequence[str]) -> AugustSplitRegressor:
        X = np.asarray(X)
        label = np.asarray(y)
        self.feature_names_ = [str(n) for n in feature_names]
        before = ~crosses_august(X, self.feature_names_)
        self.regressor_ = QuantileLGBMRegressor(**self.params).fit(
            X, label, feature_names=self.feature_names_
        )
        self.before_median_: QuantileLGBMRegressor | None = None
        if before.sum() >= 2 and self.regressor_.has_median_booster:
            own = dict(self.params.get("params") or {})
            median_params = lgbm_params(own)
            own["n_estimators"] = math.ceil(
                int(median_params["n_estimators"]) * BEFORE_MEDIAN_ROUNDS_SCALE
            )
            own["learning_rate"] = float(median_params["learning_rate"]) * (
                BEFORE_MEDIAN_LEARNING_RATE_SCALE
                if self.learning_rate_scale is None
                else self.learning_rate_scale
            )
            median_only = {
                **self.params,
                "params": own,
                "quantiles": (0.5,),
                "booster_quantiles": None,
            }
            self.before_median_ = QuantileLGBMRegressor(**median_only).fit(
                X[before], label[before], feature_names=self.feature_names_
            )
        self.quantiles_ = self.regressor_.quantiles_
        return self

    def __getattr__(self, name: str) -> Any:
        """The fitted attributes of the regressor of every row (``boosters_``,
        ``boosted_quantiles_``, ``used_columns_`` …): it is the model but for the early rows'
        median."""
        if name.startswith("__") or name in {
            "regressor_",
            "before_median_",
            "params",
            "learning_rate_scale",
        }:
            raise AttributeError(name)
        return getattr(self.regressor_, name)

    def _before(self, X: np.ndarray) -> np.ndarray:
        """The rows of ``X`` whose median is the before-shift booster's (none without it)."""
        if self.before_median_ is None:
            return np.zeros(len(X), dtype=bool)
        return ~crosses_august(X, self.feature_names_)

    def predict_quantiles(self, X: Any) -> np.ndarray:
        """(n_rows, n_quantiles), sorted along each row."""
        X = np.asarray(X)
        before = self._before(X)
        if not before.any():
            return self.regressor_.predict_quantiles(X)
        assert self.before_median_ is not None
        median = self.before_median_.predict(X[before])
        early = self.regressor_.predict_quantiles(X[before], median=median)
        if before.all():
            return early
        full = np.empty((len(X), early.shape[1]))
        full[before] = early
        full[~before] = self.regressor_.predict_quantiles(X[~before])
        return full

    def predict(self, X: Any) -> np.ndarray:
        quantiles = self.predict_quantiles(X)
        return quantiles[:, int(np.argmin(np.abs(self.quantiles_ - 0.5)))]

    def _is_median(self, quantile: float) -> bool:
        levels = self.regressor_.boosted_quantiles_
        return bool(np.isclose(levels[np.argmin(np.abs(levels - quantile))], 0.5))

    def contributions(self, X: np.ndarray, quantile: float = 0.5) -> np.ndarray:
        """SHAP values as :meth:`QuantileLGBMRegressor.contributions`; the median's of a row
        before the shift from the before-shift booster."""
        X = np.asarray(X)
        out = self.regressor_.contributions(X, quantile)
        before = self._before(X) if self._is_median(quantile) else np.zeros(len(X), dtype=bool)
        if before.any():
            assert self.before_median_ is not None
            out[before] = self.before_median_.contributions(X[before], 0.5)
        return out

    @property
    def has_median_booster(self) -> bool:
        return self.regressor_.has_median_booster

    def boosters_nearest(self, quantile: float = 0.5) -> list[Any]:
        """The booster of the boosted quantile nearest ``quantile``, and for the median the
        before-shift one too."""
        boosters = [self.regressor_.booster_nearest(quantile)]
        if self._is_median(quantile) and self.before_median_ is not None:
            boosters.append(self.before_median_.booster_nearest(0.5))
        return boosters
