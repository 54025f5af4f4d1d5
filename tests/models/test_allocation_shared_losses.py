"""The planning service solves the risk-neutral comparison beside the plan from losses built
once: the same allocations as the losses built by each solve and the re-solve inside
``compare_allocations``."""

from __future__ import annotations

import numpy as np
import pytest
from test_allocation_curves import tiny_needs

from models.allocation import AllocationSettings, SolverOptions, equity_cost_share, optimise
from models.allocation.comparison import RISK_NEUTRAL, compare_allocations, risk_neutral_settings
from models.allocation.plan import allocation_losses

OPTIONS = SolverOptions(time_limit_s=30)
POOLS = np.array([1.5, 1.0, 1.0])
COST = np.array([650_000.0, 780_000.0, 800_000.0])
EQUITY = np.array([1.0, 1.2, 1.6, 0.9])


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("max_moves", [0, 2])
def test_risk_neutral_from_shared_losses_equals_the_comparison_re_solve(seed, max_moves):
    needs = tiny_needs(seed, n_k=4)
    settings = AllocationSettings(equity_cost_share=equity_cost_share(1.0))
    terms = {
        "pools_fte": POOLS,
        "cost_per_fte_nok": COST,
        "equity": EQUITY,
        "max_moves": max_moves,
        "options": OPTIONS,
    }
    problem, solution = optimise(needs, settings=settings, **terms)
    losses = allocation_losses(needs, settings, max_moves)
    assert allocation_losses(needs, settings, max_moves, reuse=losses) is losses
    _, shared_solution = optimise(
        needs,
        settings=settings,
        losses=losses,
        **terms,
    )
    np.testing.assert_array_equal(shared_solution.change_fte, solution.change_fte)
    _, neutral = optimise(
        needs,
        settings=risk_neutral_settings(settings),
        losses=losses,
        **terms,
    )
    common = {
        "settings": settings,
        "equity": EQUITY,
        "children": np.full(4, 40.0),
        "decisions": np.ones(4),
        "options": OPTIONS,
    }
    re_solved = compare_allocations(needs, problem, solution.change_fte, **common)
    given = compare_allocations(
        needs, problem, solution.change_fte, risk_neutral_change_fte=neutral.change_fte, **common
    )
    np.testing.assert_array_equal(given.changes[RISK_NEUTRAL], re_solved.changes[RISK_NEUTRAL])
    assert given.spend_nok == re_solved.spend_nok
