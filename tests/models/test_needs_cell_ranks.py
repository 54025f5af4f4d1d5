"""Each cell's normal ranks from one sort equal ranking by a second argsort and Φ⁻¹ of every
rank (the implementation they replaced, kept here as the oracle), ties included."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr, ndtri

from models.needs.scenarios import cell_normal_ranks, cell_rank_values, normal_rank_levels


def oracle_cell_normal_ranks(z: np.ndarray) -> np.ndarray:
    order = np.argsort(np.argsort(z, axis=0, kind="stable"), axis=0, kind="stable")
    return ndtri((order + 0.5) / z.shape[0])


@pytest.mark.parametrize("shape", [(200, 7, 6, 12), (9, 3, 2), (1, 4), (50,)])
def test_cell_normal_ranks_equal_the_double_argsort(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(len(shape))
    z = rng.standard_normal(shape)
    if z.ndim > 1:
        z[:, 0] = np.round(z[:, 0])  # many ties: broken by scenario order
    np.testing.assert_array_equal(cell_normal_ranks(z), oracle_cell_normal_ranks(z))


@pytest.mark.parametrize("spread", [1.0, 0.8, 1.3])
def test_probabilities_from_the_rank_levels_equal_phi_of_every_cell(spread: float) -> None:
    z = np.random.default_rng(5).standard_normal((60, 4, 3, 5))
    z[:, 1] = np.round(z[:, 1])
    levels = ndtr(normal_rank_levels(60) * spread)
    np.testing.assert_array_equal(
        cell_rank_values(z, levels), ndtr(oracle_cell_normal_ranks(z) * spread)
    )
