"""A target's rows whose span ends before the next August shift predicted by boosters of their
own (``ForecastPipeline(august_split_targets=…)``).

The stacked model reads the horizon and the target month's place in the kindergarten year as
two columns; whether the span (t, t + h] holds an August — the age shift and the main intake —
is the diagonal ``horizon ≥ month_of_kg_year(t + h)`` of the two, which trees of 15 leaves in
40 rounds cut only in steps. Before the shift a count moves by the rolling intake and moves
alone; after it, by the intake that refills the places the shift freed. The rows before the
shift get a :class:`~models.forecast.quantile_lgbm.QuantileLGBMRegressor` fitted on them alone;
the rows after it keep the one fitted on every row (fitted on the after-shift rows alone, the
cohort family's under-3 forecasts after the shift lost what the rows before it teach about a
kindergarten's level: benchmarks/README.md, 2026-12-07, helper kids7). Which rows go where is
known at the origin (the calendar).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from models.forecast.quantile_lgbm import QuantileLGBMRegressor

#: The design columns the side of a row is read from: the horizon h and the target month's
#: month of the kindergarten year (August = 1 … July = 12).
HORIZON_COLUMN = "horizon"
KG_MONTH_COLUMN = "known_month_of_kg_year"
#: The targets split by default (``ForecastPipeline(august_split_targets=None)``).
AUGUST_SPLIT_TARGETS: tuple[str, ...] = ()


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
    """Two :class:`~models.forecast.quantile_lgbm.QuantileLGBMRegressor` with the same
    parameters (``params``): one fitted on the rows whose span holds no August
    (:func:`crosses_august`), which predicts those rows, and one fitted on every row, which
    predicts the rest. With under two rows before the shift, the one of every row predicts
    all."""

    def __init__(self, **params: Any) -> None:
        self.params = params

    def fit(self, X: Any, y: Any, feature_names: Sequence[str]) -> AugustSplitRegressor:
        X = np.asarray(X)
        label = np.asarray(y)
        self.feature_names_ = [str(n) for n in feature_names]
        before = ~crosses_august(X, self.feature_names_)
        everything = QuantileLGBMRegressor(**self.params).fit(
            X, label, feature_names=self.feature_names_
        )
        own = everything
        if before.sum() >= 2:
            own = QuantileLGBMRegressor(**self.params).fit(
                X[before], label[before], feature_names=self.feature_names_
            )
        #: (the regressor of the rows before the shift, the regressor of every row)
        self.parts_ = (own, everything)
        self.quantiles_ = everything.quantiles_
        return self

    def _routed(self, X: Any, method: str, *args: Any) -> np.ndarray:
        """``method`` of each side's regressor on its rows of ``X``, in the rows' order."""
        X = np.asarray(X)
        after = crosses_august(X, self.feature_names_)
        out: np.ndarray | None = None
        for side, part in zip((False, True), self.parts_, strict=True):
            rows = after == side
            if not rows.any():
                continue
            values = np.asarray(getattr(part, method)(X[rows], *args))
            if out is None:
                out = np.zeros((len(X), *values.shape[1:]))
            out[rows] = values
        if out is None:  # no rows: the shape the regressor gives
            return np.asarray(getattr(self.parts_[1], method)(X, *args))
        return out

    def predict_quantiles(self, X: Any) -> np.ndarray:
        """(n_rows, n_quantiles), each row from its side's regressor."""
        return self._routed(X, "predict_quantiles")

    def predict(self, X: Any) -> np.ndarray:
        return self._routed(X, "predict")

    def contributions(self, X: np.ndarray, quantile: float = 0.5) -> np.ndarray:
        """SHAP values as :meth:`QuantileLGBMRegressor.contributions`, each row's from its side's
        booster."""
        return self._routed(X, "contributions", quantile)

    @property
    def has_median_booster(self) -> bool:
        return all(part.has_median_booster for part in self.parts_)

    def boosters_nearest(self, quantile: float = 0.5) -> list[Any]:
        """Each regressor's booster of the boosted quantile nearest ``quantile`` (one when the
        two are the same)."""
        parts = self.parts_[1:] if self.parts_[0] is self.parts_[1] else self.parts_
        return [part.booster_nearest(quantile) for part in parts]
