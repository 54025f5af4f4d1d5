"""Scenario values picked from each cell's knots by index equal the take_along_axis over a
broadcast view they replaced (kept here as the oracle), for the shapes the scenarios use."""

from __future__ import annotations

import numpy as np
import pytest

from models.needs.quantiles import (
    PROBABILITIES,
    TAIL_HIGH,
    TAIL_LOW,
    extend_tails,
    quantile_function,
)


def oracle_quantile_function(knots: np.ndarray, u: np.ndarray) -> np.ndarray:
    u = np.clip(np.asarray(u, dtype=float), TAIL_LOW, TAIL_HIGH)
    upper = np.clip(np.searchsorted(PROBABILITIES, u, side="right"), 1, len(PROBABILITIES) - 1)
    p_lo, p_hi = PROBABILITIES[upper - 1], PROBABILITIES[upper]
    weight = (u - p_lo) / (p_hi - p_lo)
    knots = np.broadcast_to(knots, (*u.shape, knots.shape[-1]))
    v_lo = np.take_along_axis(knots, (upper - 1)[..., None], axis=-1)[..., 0]
    v_hi = np.take_along_axis(knots, upper[..., None], axis=-1)[..., 0]
    return v_lo + weight * (v_hi - v_lo)


@pytest.mark.parametrize("leading", [(1,), ()], ids=["scenario axis", "none"])
def test_quantile_function_equals_take_along_axis(leading: tuple[int, ...]) -> None:
    rng = np.random.default_rng(3)
    knots = extend_tails(np.sort(rng.uniform(0, 30, (9, 12, 7)), axis=-1), lower=0.0)
    knots = knots.reshape(*leading, *knots.shape)
    u = rng.uniform(size=(50, 9, 12))
    u[0, 0, :4] = [0.0, 1.0, 0.5, TAIL_LOW]  # clipped, at a knot, at the tail
    np.testing.assert_array_equal(quantile_function(knots, u), oracle_quantile_function(knots, u))
    one = knots.reshape(-1, 9)[0]
    for level in (0.0, 0.3, 0.95, 1.0):
        assert quantile_function(one, np.array(level)) == oracle_quantile_function(
            one, np.array(level)
        )
