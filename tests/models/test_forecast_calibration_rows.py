"""The calibration round's rows at most ``calibration_rows`` per target: below the cap every row
(a district's and a city's fits unchanged), above it whole kindergartens sampled, with all their
origins and horizons (SIMULATED district)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.forecast import ForecastPipeline
from models.forecast.inputs import as_of
from models.forecast.row_choice import calibration_sample

FAST = {"n_estimators": 25, "learning_rate": 0.15, "min_data_in_leaf": 20}


@pytest.fixture(scope="module")
def district():
    from simulate import simulate_district

    known = simulate_district("district", seed=6, n_kindergartens=10).district
    return as_of(known, known.monthly["month"].max() - 4)


def _pipeline(rows: int | None) -> ForecastPipeline:
    return ForecastPipeline(
        targets=["children_over3", "vedtak_31"],
        horizons=3,
        calibration_origins=3,
        lgbm_params=FAST,
        n_jobs=1,
        calibration_rows=rows,
    )


def test_below_the_cap_every_row_is_kept(district):
    capped, every = _pipeline(10_000).fit(district), _pipeline(None).fit(district)
    assert capped.calibration_ == every.calibration_
    pd.testing.assert_frame_equal(
        capped.predict(district, horizon=3), every.predict(district, horizon=3)
    )


def test_above_the_cap_whole_kindergartens_are_sampled():
    rng = np.random.default_rng(0)
    rows = {}
    for h in (1, 2, 3):
        k = np.repeat(np.arange(40), 6)
        t = np.tile(np.arange(6), 40) + h
        keep = rng.random(len(k)) > 0.1  # a few rows missing, as gaps leave them
        rows[h] = (k[keep], t[keep])
    total = sum(len(k) for k, _ in rows.values())
    every = {h: np.ones(len(k), dtype=bool) for h, (k, _) in rows.items()}
    sampled = calibration_sample(rows, every, limit=total // 4, random_state=0)
    chosen = set(np.concatenate([rows[h][0][mask] for h, mask in sampled.items()]))
    assert len(chosen) == 10  # a quarter of the 40 kindergartens
    for h, mask in sampled.items():
        # every row of a chosen kindergarten, none of the others
        np.testing.assert_array_equal(mask, np.isin(rows[h][0], sorted(chosen)))
    again = calibration_sample(rows, every, limit=total // 4, random_state=0)
    assert all(np.array_equal(again[h], sampled[h]) for h in rows)  # seeded
    assert calibration_sample(rows, every, limit=None, random_state=0) is every
    # only rows already among the calibration round's are ever kept
    some = {h: mask & (rows[h][1] % 2 == 0) for h, mask in every.items()}
    within = calibration_sample(rows, some, limit=total // 8, random_state=0)
    assert all(not (within[h] & ~some[h]).any() for h in rows)
