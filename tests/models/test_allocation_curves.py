"""Curves, CVaR, the proportional key and equity weights — checked against plain arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.allocation import (
    NeedWeights,
    build_curves,
    cvar,
    equity_weights,
    largest_remainder,
    proportional_allocation,
    shortfalls,
)
from models.needs import NeedScenarios

RESOURCES = ("staff", "pedagogue", "resource_pedagogue")


def tiny_needs(seed: int = 0, n_s: int = 40, n_k: int = 2, n_m: int = 4) -> NeedScenarios:
    rng = np.random.default_rng(seed)
    shape = (n_s, n_k, n_m)
    return NeedScenarios(
        kindergarten_ids=tuple(f"k{i}" for i in range(n_k)),
        months=pd.period_range("2025-01", periods=n_m, freq="M"),
        children_under3=rng.integers(8, 16, shape).astype(float),
        children_over3=rng.integers(20, 36, shape).astype(float),
        vedtak_31=rng.integers(0, 6, shape).astype(float),
        vedtak_37=rng.integers(0, 3, shape).astype(float),
        sick_leave_rate=rng.uniform(0.05, 0.15, shape),
        current_fte=np.tile([8.0, 3.0, 0.3], (n_k, 1)),
    )


def test_cvar_is_the_mean_of_the_worst_tail() -> None:
    losses = np.arange(1.0, 11.0)  # ten scenarios 1…10
    assert cvar(losses, 0.9) == pytest.approx(10.0)
    assert cvar(losses, 0.8) == pytest.approx(9.5)
    assert cvar(losses, 0.85) == pytest.approx((10 + 0.5 * 9) / 1.5)
    assert cvar(losses, 0.0) == pytest.approx(losses.mean())


def test_curves_equal_expectation_plus_cvar_of_direct_shortfalls() -> None:
    """Oracle: the vectorised curve at y equals the objective computed from scratch with
    :func:`shortfalls` for that change, for each resource."""
    needs = tiny_needs()
    weights = NeedWeights()
    equity = np.array([1.0, 1.7])
    curves = build_curves(
        needs,
        step_fte=np.array([0.1, 1.0, 0.1]),
        remove_cap_fte=np.zeros((2, 3)),
        risk=0.9,
        equity=equity,
        weights=weights,
    )
    assert len(curves) == 6
    for curve in curves:
        k = curve.kindergarten
        for y in (0.0, 0.3, 1.0, 2.0, 50.0):
            change = np.zeros((2, 3))
            r = {"staff": 0, "pedagogue": 1, "resource_pedagogue": 2}[curve.need]
            change[k, r] = y
            short = shortfalls(needs, change, weights.quality_buffer)
            if curve.need == "staff":
                loss = weights.legal * short["staffing"][:, k].sum(
                    axis=1
                ) + weights.quality * short["quality"][:, k].sum(axis=1)
            elif curve.need == "pedagogue":
                # a pedagogue also adds staff, but the pedagogue curve counts only its own norm
                loss = weights.legal * short["pedagogue"][:, k].sum(axis=1)
            else:
                loss = weights.special_needs * short["special_needs"][:, k].sum(axis=1)
            expected = equity[k] * (loss.mean() + weights.cvar_weight * cvar(loss, 0.9))
            assert curve(y) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_curves_are_convex_and_non_increasing_and_reach_zero() -> None:
    needs = tiny_needs(1)
    curves = build_curves(
        needs,
        step_fte=np.array([0.1, 1.0, 0.1]),
        remove_cap_fte=np.zeros((2, 3)),
        risk=0.9,
        equity=np.ones(2),
    )
    for curve in curves:
        assert (curve.slopes <= 1e-12).all()
        assert (np.diff(curve.slopes) >= -1e-9).all()
        assert curve.values[-1] == pytest.approx(0.0, abs=1e-9)
        assert curve.slopes[-1] == pytest.approx(0.0, abs=1e-12)


def test_reused_losses_give_the_curves_built_afresh() -> None:
    """The comparisons' re-solves weigh the plan's losses anew (equity 1, CVaR weight 0)
    instead of rebuilding them: the curves are the same numbers; other scenarios or settings
    are built afresh, never reused."""
    from dataclasses import replace

    from models.allocation.curves import curve_losses

    needs = tiny_needs(2)
    settings = {
        "step_fte": np.array([0.5, 1.0, 0.5]),
        "remove_cap_fte": np.zeros((2, 3)),
        "risk": 0.9,
    }
    plan = curve_losses(needs, weights=NeedWeights(), **settings)
    for equity, weights in (
        (np.ones(2), NeedWeights()),
        (np.array([1.2, 1.0]), NeedWeights(cvar_weight=0.0)),
    ):
        fresh = build_curves(needs, equity=equity, weights=weights, **settings)
        reused = build_curves(needs, equity=equity, weights=weights, losses=plan, **settings)
        assert curve_losses(needs, weights=weights, reuse=plan, **settings) is plan
        assert [c.need for c in reused] == [c.need for c in fresh]
        for a, b in zip(reused, fresh, strict=True):
            assert (a.kindergarten, a.y0, a.dy) == (b.kindergarten, b.y0, b.dy)
            np.testing.assert_array_equal(a.values, b.values)
    other_needs = tiny_needs(3)
    assert curve_losses(other_needs, weights=NeedWeights(), reuse=plan, **settings) is not plan
    riskier = {**settings, "risk": 0.8}
    assert curve_losses(needs, weights=NeedWeights(), reuse=plan, **riskier) is not plan
    legal = replace(NeedWeights(), legal=5.0)
    assert curve_losses(needs, weights=legal, reuse=plan, **settings) is not plan


def test_largest_remainder_sums_to_the_pool_in_whole_steps() -> None:
    split = largest_remainder(np.array([45.0, 30.0, 25.0]), 2.0, 0.1)
    assert split.sum() == pytest.approx(2.0)
    assert split == pytest.approx([0.9, 0.6, 0.5])
    uneven = largest_remainder(np.array([1.0, 1.0, 1.0]), 1.0, 0.1)
    assert uneven == pytest.approx([0.4, 0.3, 0.3])  # leftover step to the first on a tie
    assert (np.round(uneven / 0.1, 9) % 1 == 0).all()


def test_proportional_key_spreads_pools_by_children_and_decisions() -> None:
    children = np.array([60.0, 30.0, 10.0])
    decisions = np.array([0.0, 2.0, 6.0])
    out = proportional_allocation(
        children, decisions, np.array([5.0, 3.0, 2.0]), np.array([0.1, 1.0, 0.1]), RESOURCES
    )
    assert out.sum(axis=0) == pytest.approx([5.0, 3.0, 2.0])
    assert out[:, 0] == pytest.approx([3.0, 1.5, 0.5])
    assert out[:, 1] == pytest.approx([2.0, 1.0, 0.0])
    assert out[:, 2] == pytest.approx([0.0, 0.5, 1.5])


def test_equity_weights_rise_with_low_income_and_minority_language_shares() -> None:
    low = np.array([0.05, 0.3, np.nan])
    minority = np.array([0.1, 0.6, 0.2])
    assert equity_weights(low, minority, 0.0) == pytest.approx([1, 1, 1])
    # the default knob tilts: 1 + ¼ × (low-income + minority-language share)
    assert equity_weights(low, minority, 1.0) == pytest.approx([1.0375, 1.225, 1.05])
    # the extreme kindergarten (every child both) weighs its unmet need 1.5 times, no more
    assert equity_weights(np.array([1.0]), np.array([1.0]), 1.0) == pytest.approx([1.5])
    assert equity_weights(low, minority, 4.0) == pytest.approx([1.15, 1.9, 1.2])
