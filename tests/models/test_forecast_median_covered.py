"""§ 31's conformal scores count an outcome on the whole-number p50 as covered whatever the
correction: the forecast interval always holds its p50 (integer_median clips the quantiles to it
after calibration)."""

from __future__ import annotations

import numpy as np

from data.contract import QUANTILES
from models.forecast import conformal
from models.forecast.conformal import (
    MEDIAN_COVERED_SCORE,
    apply_calibration,
    conformity_scores,
    fit_calibration,
)
from models.forecast.levels import integer_median

QS = list(QUANTILES)
MEDIAN, LO, HI = QS.index(0.5), QS.index(0.1), QS.index(0.9)


def _rows() -> tuple[np.ndarray, np.ndarray]:
    # every interval [1, 5] around a p50 of 3; half the outcomes on the p50, the rest spread
    n = 200
    predictions = np.tile(np.linspace(0.5, 5.5, len(QS)), (n, 1))
    predictions[:, MEDIAN] = 3.0
    predictions[:, LO], predictions[:, HI] = 1.0, 5.0
    actual = np.where(np.arange(n) % 2 == 0, 3.0, np.arange(n) % 7)
    return predictions, actual


def test_an_outcome_on_the_p50_scores_as_covered_by_any_correction() -> None:
    predictions, actual = _rows()
    plain = conformity_scores(predictions, actual, lower=LO, upper=HI, floor=1.0)
    scored = conformity_scores(predictions, actual, lower=LO, upper=HI, floor=1.0, median=MEDIAN)
    on_median = actual == 3.0
    assert np.all(scored[on_median] <= MEDIAN_COVERED_SCORE)
    assert np.all(plain[on_median] > MEDIAN_COVERED_SCORE)  # -0.4: would look uncovered at -0.45
    np.testing.assert_array_equal(scored[~on_median], plain[~on_median])


def _varied_rows(n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    # whole-number p50s in intervals of varied width, often lopsided (a p10 just under the
    # p50); 40 % of the outcomes on the p50, the rest up to 2 either side: too wide for 80 %
    rng = np.random.default_rng(3)
    median = rng.integers(4, 10, n).astype(float)
    below, above = rng.uniform(0.1, 6.0, n), rng.uniform(0.1, 6.0, n)
    predictions = np.column_stack(
        [
            median - below * (0.5 - q) / 0.4 if q < 0.5 else median + above * (q - 0.5) / 0.4
            for q in QS
        ]
    )
    step = rng.choice([-2, -1, 1, 2], n)
    actual = np.where(rng.random(n) < 0.4, median, median + step)
    return predictions, actual


def test_calibrated_80_percent_intervals_of_decisions_cover_80_percent_as_forecast(
    monkeypatch,
) -> None:
    """The rule where it is switched on (off by default since 2026-12-07, see
    models.forecast.conformal.MEDIAN_COVERED_TARGETS): § 31 scored with it, § 37 without."""
    monkeypatch.setattr(conformal, "MEDIAN_COVERED_TARGETS", ("vedtak_31",))
    predictions, actual = _varied_rows()

    def coverage(target: str) -> float:
        corrections = fit_calibration(predictions, actual, target=target, quantiles=QUANTILES)
        out = apply_calibration(predictions, corrections, target=target, quantiles=QUANTILES)
        out = integer_median(np.sort(np.maximum(out, 0.0), axis=1), MEDIAN)
        return float(np.mean((actual >= out[:, LO]) & (actual <= out[:, HI])))

    # § 37 is scored as plain outcomes: the rows on the p50 drag the correction down only to be
    # put back inside by the clip, and the forecast intervals cover more than asked
    assert coverage("vedtak_37") > 0.81
    assert 0.79 <= coverage("vedtak_31") <= 0.81
