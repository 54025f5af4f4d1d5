"""The estimated age structure the under-3 median sees (``UNDER3_AGE_STRUCTURE``): the five
birth cohorts at the origin, the school leavers within the horizon and the staying under-3s
less the label's base — against a plain loop over the rows, the cohorts adding up to the
counts, and point-in-time (SIMULATED, both families)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.age_cohorts import (
    AUGUST,
    JULY,
    MIDDLE_OVER3,
    OLDER_UNDER3,
    OLDEST_OVER3,
    learned_age_cohort_estimate,
)
from models.forecast.cohort_columns import UNDER3_AGE_STRUCTURE
from models.forecast.frames import design_feature_names, horizon_frame
from models.forecast.inputs import as_of, feature_inputs

TARGETS = ["children_under3", "children_over3"]
TARGET = "children_under3"
COHORT_NAMES = UNDER3_AGE_STRUCTURE[:5]


def months_to(month: int, origin: pd.Period) -> int:
    """Months from ``origin`` to the next ``month`` of the year strictly after it (1–12)."""
    return (month - origin.month - 1) % 12 + 1


@pytest.fixture(scope="module", params=["capacity", "cohort"])
def district(request):
    if request.param == "capacity":
        from simulate.capacity import simulate_capacity

        return simulate_capacity(
            seed=4, n_kindergartens=12, start=pd.Period("2020-01", "M")
        ).district
    from simulate import simulate_district

    return simulate_district(
        "district", seed=4, n_kindergartens=12, start=pd.Period("2020-01", "M")
    ).district


@pytest.fixture(scope="module")
def grid(district):
    return feature_inputs(district, TARGETS, months_ahead=0).grid


def plain_rows(grid, k, t, h, anchor):
    """Each row's seven columns, one row at a time: the cohorts the estimate holds at t; the
    leavers — where the school starters leave with the August shift, the oldest over-3 cohort
    when that August is in the span; where they leave by July, the oldest when a July is in the
    span, except from a July origin, whose next July is a year on (after an August): then the
    middle cohort, which will be the oldest by then; and the under-3s at t, less the older
    under-3 cohort when the August is in the span, less the row's base."""
    estimate = learned_age_cohort_estimate(
        grid.targets["children_under3"],
        grid.targets["children_over3"],
        np.asarray(grid.months.month),
    )
    out = []
    for ki, ti, base in zip(k, t, anchor, strict=True):
        origin = grid.months[ti]
        cohorts = estimate.cohorts[ki, ti]
        leaving_month = int(estimate.leaving_month[ti])
        if leaving_month == AUGUST:
            leavers = cohorts[OLDEST_OVER3] if months_to(AUGUST, origin) <= h else 0.0
        else:
            assert leaving_month == JULY
            which = MIDDLE_OVER3 if origin.month == JULY else OLDEST_OVER3
            leavers = cohorts[which] if months_to(JULY, origin) <= h else 0.0
        crossing = cohorts[OLDER_UNDER3] if months_to(AUGUST, origin) <= h else 0.0
        staying = grid.targets[TARGET][ki, ti] - crossing
        out.append([*cohorts, leavers, staying - base])
    return np.array(out, dtype=np.float64)


@pytest.mark.parametrize("h", [1, 5, 12])
def test_matches_a_plain_loop(grid, h):
    frame = horizon_frame(grid, TARGET, h, stacked=True, cohort_features=True)
    names = design_feature_names(grid, stacked=True, target=TARGET, cohort_features=True)
    rng = np.random.default_rng(h)
    pick = rng.choice(len(frame.label), size=80, replace=False)
    k, t = frame.kindergarten_index[pick], frame.origin_index[pick]
    expected = plain_rows(grid, k, t, h, frame.anchor[pick].astype(np.float64))
    for j, name in enumerate(UNDER3_AGE_STRUCTURE):
        got = frame.features[pick, names.index(name)].astype(np.float64)
        np.testing.assert_allclose(got, expected[:, j], rtol=1e-4, atol=1e-3, err_msg=name)
    leavers = expected[:, 5]
    assert ((leavers > 0).any() and (leavers == 0).any()) or h == 12


def test_cohorts_add_up_to_the_counts(grid):
    """The two under-3 cohorts hold the under-3s at the origin and the three over-3 cohorts the
    over-3s: the split moves children between ages, never adds or loses any."""
    frame = horizon_frame(grid, TARGET, 3, stacked=True, cohort_features=True)
    names = design_feature_names(grid, stacked=True, target=TARGET, cohort_features=True)
    cohorts = np.column_stack([frame.features[:, names.index(n)] for n in COHORT_NAMES])
    k, t = frame.kindergarten_index, frame.origin_index
    np.testing.assert_allclose(cohorts[:, :2].sum(axis=1), grid.targets[TARGET][k, t], atol=1e-3)
    np.testing.assert_allclose(
        cohorts[:, 2:].sum(axis=1), grid.targets["children_over3"][k, t], atol=1e-3
    )
    assert (cohorts >= 0).all()


def test_rows_at_an_origin_do_not_see_data_after_it(district):
    """The seven columns of the rows made at origin t are the same whether the data hold the
    months after t or not."""
    origin = district.monthly["month"].max() - 14
    full = feature_inputs(district, TARGETS, months_ahead=0).grid
    known = feature_inputs(as_of(district, origin), TARGETS, months_ahead=12).grid
    names = design_feature_names(full, stacked=True, target=TARGET, cohort_features=True)
    columns = [names.index(n) for n in UNDER3_AGE_STRUCTURE]
    for h in (2, 7, 12):
        a, b = (
            horizon_frame(
                g,
                TARGET,
                h,
                stacked=True,
                cohort_features=True,
                origins=np.array([g.month_index(origin)]),
                need_label=False,
            )
            for g in (full, known)
        )
        rows = pd.Index(known.kindergarten_ids[b.kindergarten_index]).get_indexer(
            full.kindergarten_ids[a.kindergarten_index]
        )
        assert (rows >= 0).all() and len(rows) > 5
        np.testing.assert_array_equal(a.features[:, columns], b.features[rows][:, columns])
