"""Explanations computed once for all lines give the same words and figures as the line-by-line
implementation they replaced (kept here as the oracle), on a small simulated district."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from planning_fixtures import forecasts_around, split_district

from data.contract import RESOURCES
from models.allocation import AllocationSettings, equity_weights, optimise
from models.allocation.explain import (
    _month,
    line_drivers,
    line_marginal_values,
    required_fte,
    suppress_small,
)
from models.allocation.problem import AllocationProblem, ConvexCurve
from models.needs import NeedScenarios, simulate_needs
from serving.planning import SUPPLY_COLUMN, latest_state

ORIGIN = pd.Period("2023-12", "M")


def oracle_marginal_values(problem: AllocationProblem, change_fte: np.ndarray) -> np.ndarray:
    """The former implementation: one curve and one resource at a time."""
    values = np.zeros_like(change_fte, dtype=float)
    for curve in problem.curves:
        coef = np.asarray(curve.coefficients)
        y = float(coef @ change_fte[curve.kindergarten])
        now = float(curve(y))
        for r in np.nonzero(coef)[0]:
            values[curve.kindergarten, r] += now - float(curve(y + coef[r]))
    return values


def oracle_line_drivers(
    needs: NeedScenarios,
    now: pd.DataFrame,
    k: int,
    resource: str,
    required: np.ndarray,
    current: float,
) -> str:
    """The former implementation: one line at a time, the need arrays recomputed per line."""
    months = needs.months
    med = needs.median
    if resource == "resource_pedagogue":
        v31, v37 = med["vedtak_31"][k], med["vedtak_37"][k]
        peak = int(np.argmax(5 * v31 + 3 * v37))
        return (
            f"§ 31/§ 37 decisions {suppress_small(now['vedtak_31'].iloc[k])}/"
            f"{suppress_small(now['vedtak_37'].iloc[k])} now, {suppress_small(v31[peak])}/"
            f"{suppress_small(v37[peak])} expected at the peak ({_month(months[peak])}); "
            f"{np.median(required):.1f} FTE of help needed (p90 {np.quantile(required, 0.9):.1f})"
            f", {current:.1f} FTE now"
        )
    u3, o3 = med["children_under3"][k], med["children_over3"][k]
    peak = int(np.argmax(2 * u3 + o3))
    children = (
        f"children under/over 3 {now['children_under3'].iloc[k]:.0f}/"
        f"{now['children_over3'].iloc[k]:.0f} now, {u3[peak]:.0f}/{o3[peak]:.0f} expected at the "
        f"peak ({_month(months[peak])})"
    )
    if resource == "staff":
        sick = float(np.median(needs.sick_leave_rate[:, k]))
        return (
            f"{children}; staffing norm needs {np.median(required):.1f} FTE (p90 "
            f"{np.quantile(required, 0.9):.1f}) at {sick:.0%} sick leave, {current:.1f} FTE now"
        )
    exact = float(np.median(needs.pedagogue_need_exact[:, k].max(axis=1)))
    return (
        f"{children}; pedagogue norm needs {np.median(required):.0f} positions (exact "
        f"{exact:.2f}; p90 {np.quantile(required, 0.9):.0f}), {current:.1f} FTE now"
    )


@pytest.fixture(scope="module", params=[0, 4], ids=["no moves", "moves"])
def solved(request):
    district, hidden = split_district(seed=2, n_kindergartens=10)
    forecasts = forecasts_around(hidden, ORIGIN, seed=3)
    state = latest_state(district)
    months = pd.period_range(ORIGIN + 1, periods=12, freq="M")
    # kindergartens open the whole plan period (one closing in it gets the fallback in a plan;
    # here the oracle compares explanations on forecast-covered lines only)
    in_period = hidden[hidden["month"].isin(months)]
    open_all_year = in_period.groupby("kindergarten_id")["month"].nunique() == len(months)
    ids = tuple(sorted(set(state.index) & set(open_all_year[open_all_year].index)))
    assert len(ids) >= 8  # of the 10 simulated
    state = state.loc[list(ids)]
    current = state[[SUPPLY_COLUMN[r] for r in RESOURCES]].to_numpy(float)
    needs = simulate_needs(
        forecasts,
        kindergarten_ids=ids,
        months=months,
        current_fte=current,
        n_scenarios=60,
        seed=5,
    )
    equity = equity_weights(
        state["low_income_share"].to_numpy(), state["minority_language_share"].to_numpy(), 1.0
    )
    problem, solution = optimise(
        needs,
        pools_fte=np.array([2.5, 2.0, 1.2]),
        cost_per_fte_nok=np.array([650_000.0, 750_000.0, 750_000.0]),
        equity=equity,
        settings=AllocationSettings(),
        max_moves=request.param,
    )
    return needs, state, problem, solution


def test_line_drivers_equal_the_line_by_line_oracle(solved) -> None:
    needs, state, problem, _ = solved
    required = required_fte(needs)
    fast = line_drivers(needs, state, required, problem.current_fte)
    for k in range(len(needs.kindergarten_ids)):
        for r, resource in enumerate(RESOURCES):
            slow = oracle_line_drivers(
                needs, state, k, resource, required[:, k, r], float(problem.current_fte[k, r])
            )
            assert fast[k][r] == slow, (k, resource)


def test_marginal_values_equal_the_curve_by_curve_oracle(solved) -> None:
    _, _, problem, solution = solved
    expected = oracle_marginal_values(problem, solution.change_fte)
    np.testing.assert_allclose(
        line_marginal_values(problem, solution.change_fte), expected, rtol=1e-12, atol=1e-12
    )
    assert (expected > 0).any()  # the comparison covers lines where more FTE helps
    # and at other plans: nothing, and arbitrary changes off the step grid, below and past it
    rng = np.random.default_rng(0)
    for change in (
        np.zeros_like(solution.change_fte),
        rng.uniform(-3.0, 12.0, size=solution.change_fte.shape),
        np.full_like(solution.change_fte, 500.0),
    ):
        np.testing.assert_allclose(
            line_marginal_values(problem, change),
            oracle_marginal_values(problem, change),
            rtol=1e-12,
            atol=1e-12,
        )


def test_curve_table_evaluates_like_each_curve() -> None:
    from models.allocation.problem import CurveTable

    curves = [
        ConvexCurve(0, (1.0, 0.0, 0.0), -1.0, 0.1, np.array([9.0, 7.0, 5.5, 5.0, 5.0])),
        ConvexCurve(1, (0.0, 1.0, 0.0), 0.0, 1.0, np.array([4.0])),
        ConvexCurve(1, (1.0, 1.0, 0.0), 0.0, 0.5, np.array([3.0, 1.0])),
    ]
    table = CurveTable.of(curves)
    for y in np.linspace(-2.0, 3.0, 101):
        got = table(np.full(len(curves), y))
        want = [float(c(y)) for c in curves]
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)


def test_need_arrays_are_computed_once_and_read_only(solved) -> None:
    needs, *_ = solved
    assert needs.staff_need_fte is needs.staff_need_fte
    assert needs.pedagogue_need_exact is needs.pedagogue_need_exact
    assert needs.special_needs_fte is needs.special_needs_fte
    with pytest.raises(ValueError):
        needs.pedagogue_need[0, 0, 0] = 99.0
