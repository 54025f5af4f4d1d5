"""Bounded training: the pipeline chooses its sampled rows first and builds only those; the
boosters must see exactly the rows (same draw, same order, same float32 values) that building
every row and then sampling gave (SIMULATED district)."""

from __future__ import annotations

import numpy as np
import pytest

from models.forecast import ForecastPipeline
from models.forecast.frames import horizon_frame, horizon_rows, stack_frames, subsample
from models.forecast.inputs import feature_inputs

TARGETS = ["children_under3", "children_over3", "vedtak_31", "sick_leave_rate"]
HORIZONS = 4
MAX_ROWS = 300


@pytest.fixture(scope="module")
def inputs():
    from simulate import simulate_district

    district = simulate_district("district", seed=5, n_kindergartens=9).district
    return feature_inputs(district, TARGETS, months_ahead=0)


def _full_frames(inputs, target, strategy, last_index, cohort_features=False, seasonal_level=False):
    return [
        horizon_frame(
            inputs.grid,
            target,
            h,
            stacked=strategy == "stacked",
            max_target_index=last_index,
            cohort_features=cohort_features,
            seasonal_level=seasonal_level,
        )
        for h in range(1, HORIZONS + 1)
    ]


def _assert_same(a, b):
    assert a.horizon == b.horizon
    for name in ("features", "label", "anchor", "kindergarten_index", "origin_index"):
        left, right = getattr(a, name), getattr(b, name)
        assert left.dtype == right.dtype, name
        np.testing.assert_array_equal(left, right, err_msg=name)


@pytest.mark.parametrize("strategy", ["stacked", "direct"])
@pytest.mark.parametrize("target", TARGETS)
def test_sampled_rows_built_alone_equal_the_full_frames_sampled(inputs, strategy, target):
    """The calibration round's training rows, the rows it scores and the final round's training
    rows, built together once per horizon and split, equal each built from every row alone."""
    last_index = inputs.grid.n_months - 1
    pipeline = ForecastPipeline(
        strategy=strategy,
        horizons=HORIZONS,
        max_rows_per_model=MAX_ROWS,
        calibration_origins=3,
        random_state=3,
    )
    cutoff = last_index - HORIZONS - 3 + 1
    # built as the pipeline builds them (cohort features are its default for over-3s, the
    # seasonal level's for sick leave)
    features = {"cohort_features": pipeline.cohort_features}
    features["seasonal_level"] = pipeline.seasonal_level
    full, before_cutoff = (
        _full_frames(inputs, target, strategy, last, **features) for last in (last_index, cutoff)
    )
    assert sum(len(f.label) for f in before_cutoff) > MAX_ROWS  # sampling must actually happen
    calibration, scored, final = pipeline._target_frames(inputs, target, cutoff, last_index)
    for built, frames in ((final, full), (calibration, before_cutoff)):
        if strategy == "stacked":
            expected = {0: stack_frames(frames, max_rows=MAX_ROWS, random_state=3)}
        else:
            expected = {f.horizon: subsample(f, max_rows=MAX_ROWS, random_state=3) for f in frames}
        assert built.keys() == expected.keys()
        for key in expected:
            _assert_same(built[key], expected[key])
            assert len(built[key].label) <= MAX_ROWS
            assert built[key].features.dtype == np.float32
    origins = np.arange(cutoff, cutoff + 3)
    assert [f.horizon for f in scored] == list(range(1, HORIZONS + 1))
    for frame in scored:
        expected_frame = horizon_frame(
            inputs.grid,
            target,
            frame.horizon,
            stacked=strategy == "stacked",
            origins=origins,
            max_target_index=last_index,
            **features,
        )
        assert len(frame.label) > 0
        _assert_same(frame, expected_frame)


def test_rows_are_the_rows_the_full_frame_holds(inputs):
    grid = inputs.grid
    for h in (1, 6, 12):
        k, t = horizon_rows(grid, "children_over3", h)
        frame = horizon_frame(grid, "children_over3", h, stacked=True)
        np.testing.assert_array_equal(k, frame.kindergarten_index)
        np.testing.assert_array_equal(t, frame.origin_index)
        # every row has a known value at the origin and at the target month
        y = grid.targets["children_over3"]
        assert not np.isnan(y[k, t]).any() and not np.isnan(y[k, t + h]).any()


def test_rows_of_every_origin_are_those_of_the_origins_named_one_by_one(inputs):
    """horizon_rows reads every origin as slices of the grid; naming the origins (the gather)
    gives the same rows in the same order, at every cut-off and with or without labels."""
    grid = inputs.grid
    every = np.arange(grid.n_months)
    for target in TARGETS:
        for h in (1, 5, 12):
            for cut in (None, 0, h - 1, h, h + 7, grid.n_months - 13, grid.n_months + 3):
                for need_label in (True, False):
                    fast = horizon_rows(
                        grid, target, h, max_target_index=cut, need_label=need_label
                    )
                    named = horizon_rows(
                        grid, target, h, origins=every, max_target_index=cut, need_label=need_label
                    )
                    for a, b in zip(fast, named, strict=True):
                        assert a.dtype == b.dtype == np.int64
                        np.testing.assert_array_equal(a, b)


def test_calendar_months_are_the_months_and_read_only(inputs):
    grid = inputs.grid
    months = grid.calendar_months()
    np.testing.assert_array_equal(months, np.asarray(grid.months.month, dtype=np.int64))
    assert grid.calendar_months() is months
    with pytest.raises(ValueError):
        months[0] = 1
