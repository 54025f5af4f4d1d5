"""The under-3 cohort features of the horizon frames (the staying under-3s and the August fill
from the waiting list and the places free after the shift) and the label's base they enter,
and the over-3 base moved towards the over-3s kept: against a plain loop over the rows, and
point-in-time (SIMULATED capacity family)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from features.age_cohorts import (
    MIDDLE_OVER3,
    OLDER_UNDER3,
    YOUNGER_UNDER3,
    YOUNGEST_OVER3,
    learned_age_cohort_estimate,
)
from features.intake import expanding_blend_weight
from models.forecast.frames import (
    COHORT_BASE_MIN_WEIGHT,
    COHORT_BASE_PRIOR_PAIRS,
    UNDER3_COHORT_FEATURES,
    design_feature_names,
    horizon_frame,
    projection_feature_names,
)
from models.forecast.inputs import as_of, feature_inputs


def months_to_august(month: pd.Period) -> int:
    return (8 - month.month - 1) % 12 + 1


TARGETS = ["children_under3", "children_over3"]
TARGET = "children_under3"


@pytest.fixture(scope="module")
def district():
    from simulate.capacity import simulate_capacity

    return simulate_capacity(seed=4, n_kindergartens=12, start=pd.Period("2020-01", "M")).district


@pytest.fixture(scope="module")
def grid(district):
    return feature_inputs(district, TARGETS, months_ahead=0).grid


def plain_rows(district, grid, k, t, h):
    """Each row's five features and base, one row at a time from the contract's own tables."""
    estimate = learned_age_cohort_estimate(
        grid.targets["children_under3"],
        grid.targets["children_over3"],
        np.asarray(grid.months.month),
    )
    monthly = district.monthly.set_index(["kindergarten_id", "month"])
    capacity = district.kindergartens.set_index("kindergarten_id")["capacity"]
    out = []
    for ki, ti in zip(k, t, strict=True):
        kid, origin = grid.kindergarten_ids[ki], grid.months[ti]
        under3 = float(monthly.loc[(kid, origin), "children_under3"])
        waiting = float(monthly.loc[(kid, origin), "waiting_list"])
        if origin.month not in (3, 4, 5, 6, 7):
            # before this year's deadline: the list at the end of the last March, if it is known
            march = origin - (origin.month - 3) % 12
            if (kid, march) in monthly.index:
                at_deadline = float(monthly.loc[(kid, march), "waiting_list"])
                waiting = waiting if np.isnan(at_deadline) else at_deadline
        cohorts = estimate.cohorts[ki, ti]
        august_ahead = months_to_august(origin) <= h
        crossing = cohorts[OLDER_UNDER3] if august_ahead else 0.0
        staying = under3 - crossing
        free = float(capacity[kid]) - (
            2 * cohorts[YOUNGER_UNDER3]
            + cohorts[OLDER_UNDER3]
            + cohorts[YOUNGEST_OVER3]
            + cohorts[MIDDLE_OVER3]
        )
        fill = min(waiting, max(free, 0.0) / 2) if august_ahead else 0.0
        out.append((crossing, staying, fill, staying + fill, august_ahead))
    return np.array(out, dtype=np.float64)


def fitted_weight(grid, frame, names, target, candidate_name, h):
    """(the intake-cycle base, the candidate, whether the August lies ahead, the weight at each
    origin) of every row of ``frame``: the weight fitted, as the module says, on every row with
    the August ahead whose target month is known by the origin."""
    cycle = np.mean(
        [frame.features[:, names.index(n)] for n in projection_feature_names(target)], axis=0
    ).astype(np.float64)
    candidate = frame.features[:, names.index(candidate_name)].astype(np.float64)
    ahead = np.asarray([months_to_august(grid.months[ti]) <= h for ti in frame.origin_index])
    actual = frame.label + frame.anchor
    weight = expanding_blend_weight(
        cycle[ahead],
        candidate[ahead],
        actual[ahead],
        frame.origin_index[ahead] + h,
        grid.n_months,
        prior_pairs=COHORT_BASE_PRIOR_PAIRS,
    )
    return cycle, candidate, ahead, weight


@pytest.mark.parametrize("h", [1, 4, 12])
def test_matches_a_plain_loop(district, grid, h):
    frame = horizon_frame(grid, TARGET, h, stacked=True, cohort_features=True)
    names = design_feature_names(grid, stacked=True, target=TARGET, cohort_features=True)
    assert set(UNDER3_COHORT_FEATURES) <= set(names)
    rng = np.random.default_rng(h)
    pick = rng.choice(len(frame.label), size=60, replace=False)
    k, t = frame.kindergarten_index[pick], frame.origin_index[pick]
    expected = plain_rows(district, grid, k, t, h)
    got = {n: frame.features[pick, names.index(n)].astype(np.float64) for n in names}
    for j, name in enumerate(UNDER3_COHORT_FEATURES[:4]):
        np.testing.assert_allclose(got[name], expected[:, j], rtol=1e-5, atol=1e-4, err_msg=name)
    cycle = np.mean([got[n] for n in projection_feature_names(TARGET)], axis=0)
    np.testing.assert_allclose(
        got["target_under3_after_intake_vs_base"], expected[:, 3] - cycle, rtol=1e-4, atol=1e-3
    )
    ahead = expected[:, 4] > 0
    _, _, _, weight = fitted_weight(grid, frame, names, TARGET, "target_under3_after_intake", h)
    # the applicants (at t, or at last year's deadline from an August a year ahead) say much
    assert weight[-1] >= COHORT_BASE_MIN_WEIGHT["children_under3"]
    weight = np.where(weight >= COHORT_BASE_MIN_WEIGHT["children_under3"], weight, 0.0)
    base = np.where(ahead, cycle + weight[t] * (expected[:, 3] - cycle), cycle)
    np.testing.assert_allclose(frame.anchor[pick], base, rtol=1e-4, atol=1e-3)
    assert ahead.any() and (h == 12 or (~ahead).any()), "rows before and after an August"
    y = grid.targets[TARGET]
    np.testing.assert_allclose(
        frame.label + frame.anchor, y[frame.kindergarten_index, frame.origin_index + h]
    )


@pytest.mark.parametrize("target", TARGETS)
def test_rows_at_an_origin_do_not_see_data_after_it(district, grid, target):
    """Features and base of the rows made at origin t are the same whether the grid holds the
    months after t or not (both children counts: each has its own fitted base)."""
    origin = district.monthly["month"].max() - 14
    known = feature_inputs(as_of(district, origin), TARGETS, months_ahead=12).grid
    for h in (2, 4, 9):
        a, b = (
            horizon_frame(
                g,
                target,
                h,
                stacked=True,
                cohort_features=True,
                origins=np.array([g.month_index(origin)]),
                need_label=g is grid,
            )
            for g in (grid, known)
        )
        rows = pd.Index(known.kindergarten_ids[b.kindergarten_index]).get_indexer(
            grid.kindergarten_ids[a.kindergarten_index]
        )
        assert (rows >= 0).all() and len(rows) > 5
        np.testing.assert_array_equal(a.features, b.features[rows])
        np.testing.assert_array_equal(a.anchor, b.anchor[rows])


def test_without_a_waiting_list_the_fill_is_unknown_and_the_base_is_the_cycle(grid):
    """A district without a waiting list gets no fill (NaN for the booster) and the intake-cycle
    base."""
    names = [
        "list_not_given" if n.startswith("waiting_list") else n for n in grid.point_in_time_names
    ]
    without = dataclasses.replace(grid, point_in_time_names=names, derived={})
    frame = horizon_frame(without, TARGET, 6, stacked=True, cohort_features=True)
    design = design_feature_names(without, stacked=True, target=TARGET, cohort_features=True)
    fill = frame.features[:, design.index("target_under3_intake_ahead")]
    ahead = fill != 0
    assert np.isnan(fill[ahead]).all() and ahead.any()
    cycle = np.mean(
        [frame.features[:, design.index(n)] for n in projection_feature_names(TARGET)], axis=0
    )
    np.testing.assert_allclose(frame.anchor, cycle, rtol=1e-5)


@pytest.mark.parametrize("h", [4, 9])
def test_over3_base_moves_towards_the_kept_count_only_where_the_data_weigh_it_most(grid, h):
    """Children over 3: where the next August lies in the span, the base is the intake cycle
    moved towards the over-3s kept (y(t) + the crossing − the school leavers) by the weight
    fitted on the rows whose target month is known by then — only where that weight reaches
    the over-3 threshold (the kept count then explains the August better than the cycle)."""
    target = "children_over3"
    frame = horizon_frame(grid, target, h, stacked=True, cohort_features=True)
    names = design_feature_names(grid, stacked=True, target=target, cohort_features=True)
    cycle, kept, ahead, weight = fitted_weight(grid, frame, names, target, "target_cohort_carry", h)
    np.testing.assert_allclose(
        frame.features[:, names.index("target_cohort_carry_vs_base")], kept - cycle, atol=1e-3
    )
    y = grid.targets[target]
    np.testing.assert_allclose(
        frame.label + frame.anchor, y[frame.kindergarten_index, frame.origin_index + h]
    )
    threshold = COHORT_BASE_MIN_WEIGHT[target]
    used = np.where(weight >= threshold, weight, 0.0)[frame.origin_index]
    expected = np.where(ahead, cycle + used * (kept - cycle), cycle)
    np.testing.assert_allclose(frame.anchor, expected, rtol=1e-4, atol=1e-3)
    assert (used[ahead] >= threshold).any(), "on the capacity family the kept count is used"
