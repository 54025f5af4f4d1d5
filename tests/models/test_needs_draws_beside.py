"""The copula's draws are made in a thread beside the backtest's scores: the scenarios equal
those of the draws made in turn (the fallback scores, then the blocks' noise, then the blocks'
order, from one generator), with and without a backtest history."""

from __future__ import annotations

import numpy as np
from test_needs import MONTHS, ORIGIN, backtest_with_persistent_errors, draw, normal_forecasts

from data.contract import QUANTILE_COLUMNS
from models.needs import NEED_TARGETS, pit_scores
from models.needs.quantiles import extend_tails, quantile_function
from models.needs.scenarios import (
    backtest_blocks,
    block_scores,
    cell_rank_values,
    gaussian_copula_scores,
    normal_rank_levels,
    scores_to_probabilities,
)

IDS = ("a", "b", "c")


def quantile_cube(target: str) -> np.ndarray:
    """(K, M, 7) the test forecasts' quantiles of one target."""
    frame = normal_forecasts(IDS)
    values = frame.loc[frame["target"] == target, list(QUANTILE_COLUMNS)].to_numpy(float)
    return values.reshape(len(IDS), len(MONTHS), len(QUANTILE_COLUMNS))


def in_turn(history, n: int, seed: int) -> np.ndarray:
    """The children over 3 drawn the way simulate_needs drew them before the thread."""
    horizons = np.array([(m - ORIGIN).n for m in MONTHS])
    rng = np.random.default_rng(seed)
    z = gaussian_copula_scores(rng, n, len(IDS), NEED_TARGETS, horizons)
    if history is not None:
        blocks = backtest_blocks(pit_scores(history), IDS, NEED_TARGETS, horizons)
        noise = gaussian_copula_scores(rng, n, len(IDS), NEED_TARGETS, horizons)
        z, _ = block_scores(rng, blocks, z, noise)
    u = cell_rank_values(z, scores_to_probabilities(normal_rank_levels(n)))
    t = NEED_TARGETS.index("children_over3")
    knots = extend_tails(quantile_cube("children_over3"), lower=0.0)
    return np.maximum(np.round(quantile_function(knots[None], u[:, :, t])), 0.0)


def test_scenarios_equal_the_draws_made_in_turn() -> None:
    history = backtest_with_persistent_errors()
    for pit_history in (None, history):
        needs = draw(n=300, seed=5, pit_history=pit_history)
        expected = in_turn(pit_history, 300, 5)
        np.testing.assert_array_equal(needs.children_over3, expected)
