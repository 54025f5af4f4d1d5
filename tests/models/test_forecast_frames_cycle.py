"""Horizon frames of the children counts: the intake-cycle projections as features and as the
label's base, the children's curated design, and point-in-time rows; staff leavers' trailing-mean
base (SIMULATED district)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.intake import intake_cycle_projection, trailing_level
from models.forecast.frames import (
    CYCLE_TARGETS,
    PEAK_LEVEL_MONTHS,
    SPAN_BASE_TARGETS,
    TRAILING_MEAN_MONTHS,
    TRAILING_MEAN_TARGETS,
    design_feature_names,
    horizon_frame,
    projection_feature_names,
    span_base,
)
from models.forecast.inputs import as_of, feature_inputs

TARGETS = ["children_under3", "children_over3", "vedtak_31", "staff_leavers"]


@pytest.fixture(scope="module")
def district():
    from simulate import simulate_district

    return simulate_district("district", seed=11, n_kindergartens=10).district


@pytest.fixture(scope="module")
def inputs(district):
    return feature_inputs(district, TARGETS, months_ahead=0)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("h", [1, 7, 12])
def test_label_is_the_change_from_the_base_and_the_base_is_the_projections_mean(inputs, target, h):
    grid = inputs.grid
    frame = horizon_frame(grid, target, h, stacked=True)
    names = design_feature_names(grid, stacked=True, target=target)
    assert frame.features.shape[1] == len(names)
    y = grid.targets[target]
    k, t = frame.kindergarten_index, frame.origin_index
    np.testing.assert_allclose(frame.label + frame.anchor, y[k, t + h])
    last = frame.features[:, names.index("target_last")]
    if target in TRAILING_MEAN_TARGETS:
        expected = [
            _plain_trailing_mean(y[ki], ti, TRAILING_MEAN_MONTHS)
            for ki, ti in zip(k, t, strict=True)
        ]
        np.testing.assert_allclose(frame.anchor, expected)
        return
    if target in SPAN_BASE_TARGETS:
        # the frame's base is the stock-flow projection (checked against a plain loop in
        # test_forecast_frames_span_base.py): a whole number of decisions, never below 0
        np.testing.assert_array_equal(frame.anchor, span_base(grid, target, h, k, t))
        assert (frame.anchor >= 0).all()
        np.testing.assert_array_equal(frame.anchor, np.round(frame.anchor))
        return
    if target not in CYCLE_TARGETS:
        assert not any(n.startswith("target_intake_projection") for n in names)
        np.testing.assert_array_equal(frame.anchor, y[k, t])
        return
    projections = [
        frame.features[:, names.index(n)].astype(np.float64)
        for n in projection_feature_names(target)
    ]
    np.testing.assert_allclose(frame.anchor, np.mean(projections, axis=0), rtol=1e-6)
    # the 12-month projection is the plain function's (from the peak where the target has one
    # and it is known), y(t) where the history is too short
    calendar_month = np.asarray(grid.months.month, dtype=np.int64)
    direct = intake_cycle_projection(y, calendar_month, h, level_months=12)[k, t]
    expected = np.where(np.isnan(direct), y[k, t], direct)
    peak_months = PEAK_LEVEL_MONTHS.get(target)
    if peak_months is not None:
        from_peak = intake_cycle_projection(
            y, calendar_month, h, level_months=12, peak_months=peak_months
        )[k, t]
        assert np.isfinite(from_peak).any() and (np.isnan(from_peak) & ~np.isnan(direct)).any()
        expected = np.where(np.isnan(from_peak), expected, from_peak)
    np.testing.assert_allclose(projections[0], expected, rtol=1e-6)
    early = np.isnan(direct)
    assert early.any() and (~early).any(), "both the young and the settled rows are exercised"
    np.testing.assert_array_equal(frame.anchor[early], last[early])


def _plain_trailing_mean(row: np.ndarray, t: int, months: int) -> float:
    """The known values of months t − months + 1 … t, averaged one by one."""
    values = [row[m] for m in range(max(0, t - months + 1), t + 1) if not np.isnan(row[m])]
    return float(np.mean(values)) if values else float("nan")


def test_trailing_mean_base_matches_a_plain_loop_and_skips_gaps():
    """The leavers' base: ``trailing_level`` with one known month enough."""
    rng = np.random.default_rng(3)
    y = rng.poisson(0.3, size=(4, 30)).astype(float)
    y[0, 5:9] = np.nan  # a gap inside the window
    y[1, :] = np.nan  # a kindergarten with no data
    y[2, 0] = np.nan
    got = trailing_level(y, window=12, min_months=1)
    for k in range(y.shape[0]):
        for t in range(y.shape[1]):
            expected = _plain_trailing_mean(y[k], t, 12)
            if np.isnan(expected):
                assert np.isnan(got[k, t])
            else:
                assert got[k, t] == pytest.approx(expected)
    # one month with a leaver among eleven without: 1/12 a month, not the month's 1
    row = np.zeros((1, 12))
    row[0, -1] = 1.0
    assert trailing_level(row, window=12, min_months=1)[0, -1] == pytest.approx(1 / 12)


def test_children_models_leave_out_staffing_and_decisions_but_keep_capacity(inputs):
    children = set(design_feature_names(inputs.grid, stacked=True, target="children_under3"))
    decisions = set(design_feature_names(inputs.grid, stacked=True, target="vedtak_31"))
    for name in ("staff_fte", "vedtak_31", "sick_leave_rate", "pedagogue_fte_minus_norm"):
        assert name not in children and name in decisions
    for name in ("capacity", "places_used", "capacity_headroom_places", "waiting_list_per_place"):
        assert name in children
    assert len(children) < len(decisions)


def test_rows_at_an_origin_do_not_see_data_after_it(district):
    """Features, base and projections of the rows made at origin t are the same whether the
    grid holds the months after t or not."""
    origin = district.monthly["month"].max() - 14
    full = feature_inputs(district, TARGETS, months_ahead=0).grid
    known = feature_inputs(as_of(district, origin), TARGETS, months_ahead=12).grid
    for target in (*CYCLE_TARGETS, *TRAILING_MEAN_TARGETS):
        for h in (1, 6, 12):
            a = horizon_frame(
                full, target, h, stacked=True, origins=np.array([full.month_index(origin)])
            )
            b = horizon_frame(
                known,
                target,
                h,
                stacked=True,
                origins=np.array([known.month_index(origin)]),
                need_label=False,
            )
            ids_a = full.kindergarten_ids[a.kindergarten_index]
            ids_b = pd.Index(known.kindergarten_ids[b.kindergarten_index])
            rows = ids_b.get_indexer(ids_a)
            assert (rows >= 0).all() and len(rows) > 5
            np.testing.assert_array_equal(a.features, b.features[rows])
            np.testing.assert_array_equal(a.anchor, b.anchor[rows])
