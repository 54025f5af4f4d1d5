"""Children under 3 held inside approved capacity
(``ForecastPipeline(capacity_bound_targets=…)``).

Places are counted in over-3 equivalents and a child under 3 uses two (DOMAIN.md), so a
kindergarten that keeps to its approved capacity holds at most (capacity − over-3s) ÷ 2 children
under 3. The two counts are forecast by separate models, and their medians together ran past
capacity in about 4 % of the capacity family's kindergarten-months (tuning seeds, 4 rolling
origins), mostly before the next August, where the rolling intake tops a full kindergarten up
and the under-3 median does not see that the over-3s already use the room. The bound: the
under-3 p50 at most ⌊(capacity − the over-3 p50 of the same kindergarten and month) ÷ 2⌋, every
under-3 quantile moved down with it (the interval keeps its shape around the median); then the
quantiles above the median at most ⌊(capacity − the over-3 p05) ÷ 2⌋, the room left should the
over-3s fall to their lowest quantile.

Whether a kindergarten keeps to its capacity is read from its own data: the bound holds only
where the places used (2 · under 3 + over 3) never exceeded capacity in any month up to the
origin. In the cohort family (whose kindergartens run past capacity at times) that left almost
no row bound; in the capacity family (which never exceeds it) every row whose medians did.
Tuning seeds 1–3 / 4–6, 4 rolling origins, mean of LightGBM random states 0–4
(benchmarks/README.md, 2026-12-08, helper kids11): capacity family under-3 WAPE −3.7 % /
−1.0 %, 80 % interval score −5.3 % / −3.7 %, coverage 0.807 → 0.811 / 0.828 → 0.828; cohort
family level (−0.02 % / 0). Bounding the over-3 median by the under-3 one instead cost the
capacity family's over 3 4.4 % / 0.5 %; the upper quantiles bounded by the over-3 quantile at
1 − their level (p90 by p10 …) narrowed the intervals further but took the suite's short-history
under-3 coverage to 0.759 (band 0.75–0.85).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: The targets bound by default (``ForecastPipeline(capacity_bound_targets=None)``).
CAPACITY_BOUND_TARGETS: tuple[str, ...] = ("children_under3",)
#: The bounded target, the count whose quantiles bound it, and the places an under-3 uses.
UNDER3, OVER3 = "children_under3", "children_over3"
PLACES_PER_UNDER3 = 2.0


def kept_to_capacity(
    under3: np.ndarray, over3: np.ndarray, capacity: np.ndarray, last: int
) -> np.ndarray:
    """(kindergartens,) whether each kindergarten's places used, 2 · ``under3`` + ``over3``
    ((kindergarten × month) grids, NaN for a gap), stayed within its ``capacity`` (the same
    grid's shape, in places) in every month 0 … ``last`` with all three known, and it has at
    least one such month. Point-in-time: months after ``last`` are not read."""
    places = PLACES_PER_UNDER3 * under3[:, : last + 1] + over3[:, : last + 1]
    room = capacity[:, : last + 1]
    known = ~np.isnan(places) & ~np.isnan(room)
    over = known & (places > room)
    return np.asarray(known.any(axis=1) & ~over.any(axis=1))


def bound_under3(
    under3_levels: np.ndarray,
    over3_levels: np.ndarray,
    capacity: np.ndarray,
    bound: np.ndarray,
    quantiles: Sequence[float],
) -> np.ndarray:
    """``under3_levels`` (rows × ``quantiles``, sorted) held inside ``capacity`` beside
    ``over3_levels`` (the same rows and quantiles) on the rows where ``bound`` holds and the
    capacity and the over-3 median are known: every quantile moved down by as much as the
    median lies above ⌊(capacity − the over-3 median) ÷ 2⌋, then each quantile above the
    median at most ⌊(capacity − the over-3 lowest quantile) ÷ 2⌋ (never below the median):
    more under-3s than that need fewer over-3s than their lowest quantile. Never below 0;
    other rows unchanged."""
    levels = np.asarray(under3_levels, dtype=np.float64)
    over3 = np.asarray(over3_levels, dtype=np.float64)
    median_column = int(np.argmin(np.abs(np.asarray(quantiles, dtype=np.float64) - 0.5)))
    holds = np.asarray(bound) & ~np.isnan(capacity) & ~np.isnan(over3[:, median_column])
    if not holds.any():
        return levels
    room = np.maximum(np.floor((capacity[:, None] - over3) / PLACES_PER_UNDER3), 0.0)
    excess = np.maximum(levels[:, median_column] - room[:, median_column], 0.0)
    out = np.maximum(levels - np.where(holds, excess, 0.0)[:, None], 0.0)
    median = out[:, median_column : median_column + 1]
    upper = out[:, median_column + 1 :]
    # the lowest over-3 quantile leaves the most room (the quantiles are sorted)
    capped = np.maximum(np.minimum(upper, room[:, :1]), median)
    out[:, median_column + 1 :] = np.where(holds[:, None], capped, upper)
    return out
