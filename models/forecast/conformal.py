"""Conformalised quantile regression (CQR), scaled by the interval's own width, per target and
horizon.

For each central interval (p05–p95 = 90 %, p10–p90 = 80 %, p25–p75 = 50 %) the nonconformity
score of an outcome y against a predicted interval [lo, hi] is

    s = max(lo − y, y − hi) / (hi − lo + δ)

(negative inside the interval). The calibrated interval is [lo − Q·w, hi + Q·w] with
w = hi − lo + δ and Q the ⌈(n + 1)·c⌉-th smallest score for nominal coverage c: Q > 0 widens an
interval that covered too little, Q < 0 narrows one that covered too much. Scaling by the width
keeps the correction proportional for small and large kindergartens (an absolute correction would
over-cover the small ones and under-cover the large). δ (one child for counts, one percentage point
for shares) keeps zero-width intervals — a kindergarten with no § 37 decisions — correctable.

The corrections are fitted per target and horizon, and within that apart for target months right
after the age shift (:data:`SHIFT_SEASON_MONTHS`, where the August intake makes errors larger than
the intervals' width says) and for the rest of the year, where each part has
:data:`MIN_SEASON_ROWS` calibration rows (else the pooled correction stands). Pooled, the 80 %
intervals of children covered 0.73–0.75 after the shift and more the rest of the year.

Everything learned is plain floats in nested dicts, so pickling and MLflow keep it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from data.contract import COUNT_TARGETS, QUANTILES, SHARE_TARGETS

#: (lower quantile, upper quantile) → nominal coverage.
INTERVAL_PAIRS = ((0.05, 0.95), (0.10, 0.90), (0.25, 0.75))
#: Target calendar months calibrated apart from the rest: the age shift and the intake (August)
#: and the months that still carry them.
SHIFT_SEASON_MONTHS = (8, 9, 10)
#: Fewest calibration rows a season needs for corrections of its own.
MIN_SEASON_ROWS = 40
BY_SEASON = "by_season"


def width_floor(target: str) -> float:
    """δ in the score's denominator, in the target's unit (children, decisions, share)."""
    if target in SHARE_TARGETS:
        return 0.01
    if target in COUNT_TARGETS:
        return 1.0
    return 1e-3


def interval_pairs(quantiles: Sequence[float]) -> list[tuple[int, int, float]]:
    """(lower column, upper column, nominal coverage) for the symmetric pairs present."""
    qs = [round(float(q), 6) for q in quantiles]
    pairs = []
    for lo, hi in INTERVAL_PAIRS:
        if lo in qs and hi in qs:
            pairs.append((qs.index(lo), qs.index(hi), round(hi - lo, 6)))
    return pairs


#: Score of a count's outcome equal to its whole-number p50: the forecast interval covers its
#: p50 whatever the correction (:func:`~models.forecast.levels.integer_median` keeps every
#: quantile on its side of it, after calibration), and at this score a correction has closed the
#: interval onto its middle. Scored as a plain outcome instead, such rows looked uncovered to
#: corrections that narrow the interval, which then covered more than asked: § 31's 80 %
#: intervals covered 0.829 / 0.815 on the cohort / capacity family (tuning seeds 1–3, 2 origins)
#: and 0.815 / 0.790 scored this way. Children's counts sit on their p50 less often and moved
#: both ways (over 3 on the capacity family 0.797 → 0.778), so only § 31 is scored this way.
#: Off by default since 2026-12-07: on the report seeds 101–103 (4 origins) it left the capacity
#: family's § 31 at 0.778, just under 0.78, and it took the short-history backtest of the suite
#: (30 capacity kindergartens from 2019, seed 5, 3 origins) from 0.753 to 0.748 pooled 80 %
#: coverage, outside 0.80 ± 0.05, where the children already cover 0.73–0.75. Short histories
#: under-cover; narrowing any interval there is the wrong direction until that is fixed.
MEDIAN_COVERED_SCORE = -0.5
MEDIAN_COVERED_TARGETS: tuple[str, ...] = ()


def conformity_scores(
    quantile_predictions: np.ndarray,
    actual: np.ndarray,
    *,
    lower: int,
    upper: int,
    floor: float,
    median: int | None = None,
) -> np.ndarray:
    """The scores of ``actual`` against each row's interval; with ``median`` (the column of a
    count's whole-number p50) an outcome equal to it scores at most
    :data:`MEDIAN_COVERED_SCORE`: the forecast interval always covers it."""
    lo, hi = quantile_predictions[:, lower], quantile_predictions[:, upper]
    scores = np.maximum(lo - actual, actual - hi) / (hi - lo + floor)
    if median is not None:
        at_median = actual == quantile_predictions[:, median]
        scores = np.where(at_median, np.minimum(scores, MEDIAN_COVERED_SCORE), scores)
    return scores


def conformal_correction(scores: np.ndarray, coverage: float) -> float:
    """Q: the ⌈(n + 1)·c⌉-th smallest score (finite-sample valid); the largest when n is small."""
    scores = np.sort(scores[np.isfinite(scores)])
    n = len(scores)
    if n == 0:
        return 0.0
    rank = min(n, math.ceil((n + 1) * coverage))
    return float(scores[rank - 1])


def fit_calibration(
    quantile_predictions: np.ndarray,
    actual: np.ndarray,
    *,
    target: str,
    quantiles: Sequence[float] = QUANTILES,
) -> dict[str, float | int]:
    """Corrections for one target and horizon: ``{"0.9": Q, "0.8": Q, "0.5": Q, "n": n}`` plus
    the raw (uncalibrated) coverage of each pair, kept for reports."""
    floor = width_floor(target)
    result: dict[str, float | int] = {"n": int(np.isfinite(actual).sum())}
    qs = np.asarray(quantiles, dtype=float)
    median = int(np.argmin(np.abs(qs - 0.5))) if target in MEDIAN_COVERED_TARGETS else None
    for lower, upper, coverage in interval_pairs(quantiles):
        scores = conformity_scores(
            quantile_predictions, actual, lower=lower, upper=upper, floor=floor, median=median
        )
        result[str(coverage)] = conformal_correction(scores, coverage)
        raw = float(np.mean(scores <= 0)) if len(scores) else math.nan
        result[f"raw_coverage_{coverage}"] = raw
    return result


def apply_calibration(
    quantile_predictions: np.ndarray,
    corrections: dict[str, float | int],
    *,
    target: str,
    quantiles: Sequence[float] = QUANTILES,
) -> np.ndarray:
    """Move each interval pair by its correction; rows stay sorted (no crossing quantiles)."""
    out = np.array(quantile_predictions, dtype=np.float64, copy=True)
    floor = width_floor(target)
    for lower, upper, coverage in interval_pairs(quantiles):
        q = float(corrections.get(str(coverage), 0.0))
        lo, hi = quantile_predictions[:, lower], quantile_predictions[:, upper]
        width = hi - lo + floor
        out[:, lower] = lo - q * width
        out[:, upper] = hi + q * width
    return np.sort(out, axis=1)


def season_masks(target_calendar_month: np.ndarray) -> dict[str, np.ndarray]:
    """``shift`` (target months in :data:`SHIFT_SEASON_MONTHS`) and ``rest``."""
    shift = np.isin(np.asarray(target_calendar_month), SHIFT_SEASON_MONTHS)
    return {"shift": shift, "rest": ~shift}


def fit_season_calibration(
    quantile_predictions: np.ndarray,
    actual: np.ndarray,
    target_calendar_month: np.ndarray | None,
    *,
    target: str,
    quantiles: Sequence[float] = QUANTILES,
) -> dict:
    """:func:`fit_calibration` on every row, plus under :data:`BY_SEASON` the corrections of each
    season of :func:`season_masks` with at least :data:`MIN_SEASON_ROWS` rows."""
    pooled: dict = fit_calibration(quantile_predictions, actual, target=target, quantiles=quantiles)
    if target_calendar_month is None:
        return pooled
    seasons = {
        name: fit_calibration(
            quantile_predictions[mask], actual[mask], target=target, quantiles=quantiles
        )
        for name, mask in season_masks(target_calendar_month).items()
        if mask.sum() >= MIN_SEASON_ROWS
    }
    if seasons:
        pooled[BY_SEASON] = seasons
    return pooled


def apply_season_calibration(
    quantile_predictions: np.ndarray,
    corrections: dict,
    target_calendar_month: np.ndarray | None,
    *,
    target: str,
    quantiles: Sequence[float] = QUANTILES,
) -> np.ndarray:
    """:func:`apply_calibration` with each row's season's corrections where they were fitted (the
    pooled ones elsewhere, and for corrections fitted before seasons existed)."""
    seasons = corrections.get(BY_SEASON)
    if not seasons or target_calendar_month is None:
        return apply_calibration(
            quantile_predictions, corrections, target=target, quantiles=quantiles
        )
    out = np.empty_like(np.asarray(quantile_predictions, dtype=np.float64))
    for name, mask in season_masks(target_calendar_month).items():
        out[mask] = apply_calibration(
            quantile_predictions[mask],
            seasons.get(name, corrections),
            target=target,
            quantiles=quantiles,
        )
    return out
