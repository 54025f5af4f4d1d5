"""The district's change over a calendar span in past years (features.district_span): against a
plain loop over kindergartens and years, and point-in-time."""

from __future__ import annotations

import numpy as np
import pytest

from features.district_span import MONTHS_PER_YEAR, SPAN_YEARS, district_span_ratio


def plain_ratio(y: np.ndarray, t: int, h: int) -> float:
    """Σ end ÷ Σ start over the past spans ended by t, kindergartens with both ends known."""
    start_sum = end_sum = 0.0
    spans = 0
    first = -(-h // MONTHS_PER_YEAR)
    for j in range(first, first + SPAN_YEARS):
        start, end = t - MONTHS_PER_YEAR * j, t + h - MONTHS_PER_YEAR * j
        if start < 0:
            continue
        assert end <= t
        both = [k for k in range(y.shape[0]) if not np.isnan(y[k, start] + y[k, end])]
        spans += bool(both)
        start_sum += sum(y[k, start] for k in both)
        end_sum += sum(y[k, end] for k in both)
    return end_sum / start_sum if spans and start_sum > 0 else np.nan


@pytest.fixture
def counts() -> np.ndarray:
    rng = np.random.default_rng(3)
    y = rng.poisson(3.0, (6, 50)).astype(np.float64)
    y[1, :9] = np.nan  # opened later
    y[2, 30:] = np.nan  # closed
    y[4, 17] = np.nan  # a gap
    return y


@pytest.mark.parametrize("h", [1, 5, 12, 13, 24])
def test_matches_a_plain_loop(counts, h):
    got = district_span_ratio(counts, h)
    expected = np.array([plain_ratio(counts, t, h) for t in range(counts.shape[1])])
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert np.isnan(got[: MONTHS_PER_YEAR * -(-h // MONTHS_PER_YEAR)]).all()
    assert np.isfinite(got[-1])


def test_a_ratio_reads_no_month_after_its_origin(counts):
    for h in (2, 12):
        full = district_span_ratio(counts, h)
        for t in (20, 35):
            cut = counts.copy()
            cut[:, t + 1 :] = np.nan
            assert district_span_ratio(cut, h)[t] == pytest.approx(full[t])


def test_no_decisions_at_the_start_of_the_spans_gives_no_ratio():
    y = np.zeros((3, 30))
    y[:, 25:] = 2.0
    assert np.isnan(district_span_ratio(y, 3)[20])
