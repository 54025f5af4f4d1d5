"""Each forecast cell's predictive distribution from its seven quantiles, both ways: the quantile
function (probability → value) for drawing scenarios, and the PIT (value → probability) for
turning backtest errors into normal scores.

Between the contract's quantiles (p05 … p95) the distribution is linear in probability. The tails
are extended to p01 and p99 linearly in *normal-score* space with the slope of the outer segment
(p05–p10, p90–p95), which is what a normal forecast would do; beyond p01/p99 nothing is drawn.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from data.contract import QUANTILES

TAIL_LOW, TAIL_HIGH = 0.01, 0.99
#: probability grid of the extended knots: p01, p05, …, p95, p99
PROBABILITIES = np.array([TAIL_LOW, *QUANTILES, TAIL_HIGH])
_Z = norm.ppf(PROBABILITIES)


def extend_tails(quantiles: np.ndarray, *, lower: float | None = None) -> np.ndarray:
    """(..., 7) quantiles p05…p95 → (..., 9) knots p01…p99 (non-decreasing; ``lower`` floors
    the extrapolated p01, e.g. 0 for counts and shares)."""
    q = np.maximum.accumulate(np.asarray(quantiles, dtype=float), axis=-1)
    low_slope = (q[..., 1] - q[..., 0]) / (_Z[2] - _Z[1])
    high_slope = (q[..., -1] - q[..., -2]) / (_Z[-2] - _Z[-3])
    p01 = q[..., 0] - low_slope * (_Z[1] - _Z[0])
    p99 = q[..., -1] + high_slope * (_Z[-1] - _Z[-2])
    if lower is not None:
        p01 = np.maximum(p01, lower)
    return np.concatenate([p01[..., None], q, p99[..., None]], axis=-1)


def quantile_function(knots: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Values at probabilities ``u`` (broadcast against ``knots[..., 0]``), linear between knots,
    ``u`` clipped to [p01, p99]."""
    u = np.clip(np.asarray(u, dtype=float), TAIL_LOW, TAIL_HIGH)
    upper = np.clip(np.searchsorted(PROBABILITIES, u, side="right"), 1, len(PROBABILITIES) - 1)
    p_lo, p_hi = PROBABILITIES[upper - 1], PROBABILITIES[upper]
    weight = (u - p_lo) / (p_hi - p_lo)
    knots = np.asarray(knots, dtype=float)
    # each cell's row of knots picked by index (one gather per bound): through a broadcast view
    # with take_along_axis it cost most of drawing a city's scenarios
    rows = np.arange(knots[..., 0].size).reshape(knots.shape[:-1])
    cell = np.broadcast_to(rows, u.shape)
    flat = knots.reshape(-1, knots.shape[-1])
    v_lo, v_hi = flat[cell, upper - 1], flat[cell, upper]
    return v_lo + weight * (v_hi - v_lo)


def pit(knots: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Probability integral transform u = F̂(actual) for each cell (rows of ``knots``).

    Where the forecast puts a point mass (equal quantiles, common for small counts) the actual
    value's u is the middle of the jump, so a perfect count forecast still gives uniform PITs on
    average. Values outside p01…p99 get 0.005 / 0.995.
    """
    knots = np.asarray(knots, dtype=float)
    a = np.asarray(actual, dtype=float)[:, None]
    n = knots.shape[1]
    below = (knots < a).sum(axis=1)  # first knot ≥ a
    at_most = (knots <= a).sum(axis=1)  # one past the last knot ≤ a
    rows = np.arange(len(knots))

    def interpolate(i: np.ndarray) -> np.ndarray:
        """CDF at a inside segment (i−1, i) for 1 ≤ i ≤ n−1."""
        i = np.clip(i, 1, n - 1)
        v_lo, v_hi = knots[rows, i - 1], knots[rows, i]
        width = np.where(v_hi > v_lo, v_hi - v_lo, 1.0)
        w = np.clip((a[:, 0] - v_lo) / width, 0.0, 1.0)
        return PROBABILITIES[i - 1] + w * (PROBABILITIES[i] - PROBABILITIES[i - 1])

    left = np.where(below == 0, 0.005, np.where(below >= n, 0.995, interpolate(below)))
    # last knot ≤ a is at_most − 1; the CDF's right limit there
    right = np.where(
        at_most == 0,
        0.005,
        np.where(at_most >= n, 0.995, interpolate(at_most)),
    )
    jump_left = np.where(below < n, PROBABILITIES[np.clip(below, 0, n - 1)], 0.995)
    jump_right = np.where(at_most > 0, PROBABILITIES[np.clip(at_most - 1, 0, n - 1)], 0.005)
    on_knot = at_most > below  # a equals one or more knots: a (possibly zero-width) jump
    u_left = np.where(on_knot, jump_left, left)
    u_right = np.where(on_knot, jump_right, right)
    return 0.5 * (u_left + u_right)
