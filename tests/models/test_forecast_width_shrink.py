"""The width shrink before the conformal corrections (models.forecast.conformal): each interval's
width drawn towards its batch's typical width by a power λ chosen on the calibration rows, on
hand-made forecasts whose widths do or do not say how large the errors are."""

from __future__ import annotations

import numpy as np
import pytest

from models.forecast import conformal
from models.forecast.conformal import (
    LOG_WIDTH_REFERENCE,
    MIN_REFERENCE_ROWS,
    WIDTH_POWER,
    apply_season_calibration,
    fit_season_calibration,
    log_widths,
    reference_log_widths,
    shrink_widths,
)

QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
TARGET = "children_under3"
OFFSETS = np.array([-4, -3, -1.5, 0, 1.5, 3, 4], dtype=float)


def forecasts(n_origins: int, seed: int, *, informative: bool):
    """48 kindergartens per origin, each with an 80 % interval 6–96 children wide (widths well
    above the score's floor δ of one child) around 100; the outcome's spread follows the width
    (``informative``) or is the same for every row (the boosters' width varies more than the
    errors do)."""
    rng = np.random.default_rng(seed)
    n = 48 * n_origins
    scale = np.exp(rng.uniform(0.0, np.log(16.0), n))
    predicted = 100 + np.outer(scale, OFFSETS)
    spread = 2.0 * scale if informative else np.full(n, 8.0)
    actual = 100 + rng.normal(0, spread)
    month = np.repeat(rng.integers(1, 13, n_origins), 48)
    origins = np.repeat(np.arange(n_origins), 48)
    return predicted, actual, month, origins


def covered(predicted: np.ndarray, actual: np.ndarray) -> np.ndarray:
    return (actual >= predicted[:, 1]) & (actual <= predicted[:, 5])


def test_shrink_keeps_the_median_and_the_order_and_draws_widths_together() -> None:
    predicted, *_ = forecasts(5, 0, informative=True)
    reference = np.full(len(predicted), np.log(24.0))
    np.testing.assert_array_equal(
        shrink_widths(predicted, 1.0, reference, target=TARGET, quantiles=QUANTILES), predicted
    )
    before = log_widths(predicted, target=TARGET, quantiles=QUANTILES)
    for power in (0.0, 0.5):
        out = shrink_widths(predicted, power, reference, target=TARGET, quantiles=QUANTILES)
        np.testing.assert_allclose(out[:, 3], predicted[:, 3])
        assert (np.diff(out, axis=1) >= 0).all()
        after = log_widths(out, target=TARGET, quantiles=QUANTILES)
        assert after.std() < before.std()  # widths vary less
    flat = shrink_widths(predicted, 0.0, reference, target=TARGET, quantiles=QUANTILES)
    widths = flat[:, 5] - flat[:, 1]
    # λ = 0: every row about w̄ = 24 wide (the floor δ = 1 is part of the scaled width)
    assert widths.min() > 24.0 * 6 / 7 and widths.max() < 24.0


def test_reference_is_each_origins_mean_log_width_or_the_fallback_for_a_small_batch() -> None:
    rng = np.random.default_rng(1)
    log_width = rng.normal(1.0, 0.5, 40)
    groups = np.array([0] * 25 + [1] * 12 + [2] * (MIN_REFERENCE_ROWS - 7))
    out = reference_log_widths(log_width, groups, fallback=-9.0)
    for i, g in enumerate(groups):
        rows = log_width[groups == g]
        expected = rows.mean() if len(rows) >= MIN_REFERENCE_ROWS else -9.0
        assert out[i] == pytest.approx(expected)
    np.testing.assert_allclose(reference_log_widths(log_width, None, 0.0), log_width.mean())


def test_uninformative_widths_are_shrunk_and_cover_alike_narrow_or_wide() -> None:
    predicted, actual, month, origins = forecasts(12, 2, informative=False)
    fitted = fit_season_calibration(
        predicted, actual, month, horizon=3, target=TARGET, quantiles=QUANTILES, groups=origins
    )
    assert fitted[WIDTH_POWER] == 0.0
    test, y, test_month, test_origins = forecasts(40, 3, informative=False)
    out = apply_season_calibration(
        test, fitted, test_month, horizon=3, target=TARGET, quantiles=QUANTILES, groups=test_origins
    )
    width = test[:, 5] - test[:, 1]
    narrow, wide = width < np.quantile(width, 1 / 3), width > np.quantile(width, 2 / 3)
    inside = covered(out, y)
    assert inside.mean() == pytest.approx(0.80, abs=0.03)
    assert inside[narrow].mean() == pytest.approx(0.80, abs=0.05)
    assert inside[wide].mean() == pytest.approx(0.80, abs=0.05)


def test_without_the_shrink_uninformative_widths_cover_unevenly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The mechanism the shrink answers: scaled by the boosters' own width alone, the narrowest
    third of intervals covers far less than the widest."""
    monkeypatch.setattr(conformal, "WIDTH_POWERS", (1.0,))
    predicted, actual, month, origins = forecasts(12, 2, informative=False)
    fitted = fit_season_calibration(
        predicted, actual, month, horizon=3, target=TARGET, quantiles=QUANTILES, groups=origins
    )
    assert WIDTH_POWER not in fitted
    test, y, test_month, test_origins = forecasts(40, 3, informative=False)
    out = apply_season_calibration(
        test, fitted, test_month, horizon=3, target=TARGET, quantiles=QUANTILES, groups=test_origins
    )
    width = test[:, 5] - test[:, 1]
    inside = covered(out, y)
    assert inside[width < np.quantile(width, 1 / 3)].mean() < 0.65
    assert inside[width > np.quantile(width, 2 / 3)].mean() > 0.95


def test_informative_widths_are_left_as_the_boosters_gave_them() -> None:
    predicted, actual, month, origins = forecasts(12, 4, informative=True)
    fitted = fit_season_calibration(
        predicted, actual, month, horizon=3, target=TARGET, quantiles=QUANTILES, groups=origins
    )
    assert WIDTH_POWER not in fitted and LOG_WIDTH_REFERENCE not in fitted
    test, y, test_month, test_origins = forecasts(40, 5, informative=True)
    out = apply_season_calibration(
        test, fitted, test_month, horizon=3, target=TARGET, quantiles=QUANTILES, groups=test_origins
    )
    width = test[:, 5] - test[:, 1]
    inside = covered(out, y)
    assert inside[width < np.quantile(width, 1 / 3)].mean() == pytest.approx(0.80, abs=0.05)
    assert inside[width > np.quantile(width, 2 / 3)].mean() == pytest.approx(0.80, abs=0.05)


def test_one_kindergarten_alone_is_shrunk_towards_the_calibration_rows_width() -> None:
    predicted, actual, month, origins = forecasts(12, 2, informative=False)
    fitted = fit_season_calibration(
        predicted, actual, month, horizon=3, target=TARGET, quantiles=QUANTILES, groups=origins
    )
    test, _, test_month, test_origins = forecasts(1, 3, informative=False)
    batch = apply_season_calibration(
        test, fitted, test_month, horizon=3, target=TARGET, quantiles=QUANTILES, groups=test_origins
    )
    alone = np.vstack(
        [
            apply_season_calibration(
                test[i : i + 1],
                fitted,
                test_month[i : i + 1],
                horizon=3,
                target=TARGET,
                quantiles=QUANTILES,
                groups=test_origins[i : i + 1],
            )
            for i in range(len(test))
        ]
    )
    # at λ = 0 every row of the batch is as wide as the others; alone, each is as wide as the
    # calibration rows' typical interval — the same up to the batch's mean against theirs
    widths_alone = alone[:, 5] - alone[:, 1]
    assert widths_alone.std() / widths_alone.mean() < 0.25
    assert np.median(widths_alone) == pytest.approx(np.median(batch[:, 5] - batch[:, 1]), rel=0.25)


def sized_forecasts(n_origins: int, seed: int):
    """48 kindergartens per origin of 4–150 children (the p50), whose outcomes spread like
    counts, √(size + 1) children (SD), while the boosters' 80 % widths (6–24 children) say nothing
    about it."""
    rng = np.random.default_rng(seed)
    n = 48 * n_origins
    size = np.exp(rng.uniform(np.log(4.0), np.log(150.0), n))
    scale = np.exp(rng.uniform(np.log(1.0), np.log(4.0), n))
    predicted = size[:, None] + np.outer(scale, OFFSETS)
    actual = size + rng.normal(0, np.sqrt(size + 1.0))
    month = np.repeat(rng.integers(1, 13, n_origins), 48)
    origins = np.repeat(np.arange(n_origins), 48)
    return predicted, actual, month, origins, size


def coverage_by_size(*, target: str) -> tuple[float, float, float]:
    """80 % coverage of the smallest third of kindergartens, all, and the largest third, on
    fresh forecasts calibrated on 12 origins of their kind."""
    predicted, actual, month, origins, _ = sized_forecasts(12, 6)
    fitted = fit_season_calibration(
        predicted, actual, month, horizon=3, target=target, quantiles=QUANTILES, groups=origins
    )
    test, y, test_month, test_origins, size = sized_forecasts(40, 7)
    out = apply_season_calibration(
        test, fitted, test_month, horizon=3, target=target, quantiles=QUANTILES, groups=test_origins
    )
    inside = covered(out, y)
    small, large = size < np.quantile(size, 1 / 3), size > np.quantile(size, 2 / 3)
    return inside[small].mean(), inside.mean(), inside[large].mean()


def test_children_intervals_are_drawn_towards_a_width_growing_with_the_kindergartens_size() -> None:
    """Counts of children spread more in a large kindergarten: drawn towards a typical width that
    grows like √(size + 1), small and large kindergartens alike cover about 80 %."""
    assert conformal.SIZE_POWERS["children_over3"] == 0.5
    small, every, large = coverage_by_size(target="children_over3")
    assert every == pytest.approx(0.80, abs=0.03)
    assert small == pytest.approx(0.80, abs=0.05)
    assert large == pytest.approx(0.80, abs=0.05)


def test_drawn_towards_one_width_for_all_large_kindergartens_cover_too_little(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The mechanism the size term answers: one typical width for the whole batch leaves the
    large kindergartens under-covered and the small ones over-covered."""
    monkeypatch.setattr(conformal, "SIZE_POWERS", {})
    small, every, large = coverage_by_size(target="children_over3")
    assert every == pytest.approx(0.80, abs=0.03)
    assert small > 0.9
    assert large < 0.7


def test_the_size_power_is_stored_with_the_corrections_it_was_fitted_with() -> None:
    predicted, actual, month, origins, _ = sized_forecasts(12, 6)
    fitted = fit_season_calibration(
        predicted,
        actual,
        month,
        horizon=3,
        target="children_over3",
        quantiles=QUANTILES,
        groups=origins,
    )
    assert fitted[conformal.SIZE_POWER] == 0.5
    # corrections fitted before the size term (no key) apply with one width for the batch
    old = {k: v for k, v in fitted.items() if k != conformal.SIZE_POWER}
    test, _, test_month, test_origins, size = sized_forecasts(2, 8)
    widths = {}
    for name, corrections in (("new", fitted), ("old", old)):
        out = apply_season_calibration(
            test,
            corrections,
            test_month,
            horizon=3,
            target="children_over3",
            quantiles=QUANTILES,
            groups=test_origins,
        )
        widths[name] = out[:, 5] - out[:, 1]
    assert np.corrcoef(np.log(size), np.log(widths["new"]))[0, 1] > 0.8
    assert abs(np.corrcoef(np.log(size), np.log(widths["old"]))[0, 1]) < 0.5


def test_row_corrections_are_each_rows_conformal_correction_to_the_bit() -> None:
    """conformal.row_corrections (the λ and the pairs scored as rows of one array) equals
    conformal_correction row by row: finite rows, rows with NaN and ±inf, one coverage or one
    per row, and empty rows."""
    rng = np.random.default_rng(3)
    for n in (0, 1, 7, 40, 513):
        scores = rng.normal(size=(4, n))
        coverages = [0.9, 0.8, 0.5, 0.8]
        assert list(conformal.row_corrections(scores, 0.8)) == [
            conformal.conformal_correction(row, 0.8) for row in scores
        ]
        assert list(conformal.row_corrections(scores, coverages)) == [
            conformal.conformal_correction(row, c) for row, c in zip(scores, coverages, strict=True)
        ]
        if n > 3:
            scores[1, :3] = [np.nan, np.inf, -np.inf]
            scores[2, :] = np.nan
            assert list(conformal.row_corrections(scores, coverages)) == [
                conformal.conformal_correction(row, c)
                for row, c in zip(scores, coverages, strict=True)
            ]


def test_the_width_power_and_the_pairs_corrections_are_those_of_the_plain_loops() -> None:
    """The λ chosen on the 80 % pair's rows equals the lowest score of every column shrunk and
    scored λ by λ (ties to the larger λ), and fit_calibration's corrections and raw coverage
    equal each pair's own scores' — to the bit, NaN outcomes included."""
    rng = np.random.default_rng(11)
    quantiles = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
    for trial in range(30):
        n = int(rng.integers(1, 400))
        middle = rng.gamma(4.0, 3.0, size=n)
        spread = rng.gamma(2.0, 1.0, size=(n, 3)).cumsum(axis=1)
        predictions = np.column_stack(
            [
                middle[:, None] - spread[:, ::-1],
                middle,
                middle[:, None] + spread * rng.uniform(0.5, 2.0, (n, 1)),
            ]
        )
        actual = middle + rng.normal(0.0, 3.0, size=n)
        if trial % 3 == 0:
            actual[rng.random(n) < 0.2] = np.nan
        reference = rng.normal(1.0, 0.3, size=n)
        month = rng.integers(1, 13, size=n)
        masks = [m for m in conformal.shift_regime_masks(month, 4).values() if m.sum() >= 5]
        target = ("children_under3", "sick_leave_rate")[trial % 2]
        plain = min(
            sorted(conformal.WIDTH_POWERS, reverse=True),
            key=lambda p: conformal._shrunk_interval_score(
                conformal.shrink_widths(
                    predictions, p, reference, target=target, quantiles=quantiles
                ),
                actual,
                masks,
                target=target,
                quantiles=quantiles,
            ),
        )
        chosen = conformal._width_power(
            predictions, actual, reference, masks, target=target, quantiles=quantiles
        )
        assert chosen == plain
        fitted = conformal.fit_calibration(predictions, actual, target=target, quantiles=quantiles)
        floor = conformal.width_floor(target)
        for lower, upper, coverage in conformal.interval_pairs(quantiles):
            scores = conformal.conformity_scores(
                predictions, actual, lower=lower, upper=upper, floor=floor
            )
            assert fitted[str(coverage)] == conformal.conformal_correction(scores, coverage)
            assert fitted[f"raw_coverage_{coverage}"] == float(np.mean(scores <= 0))
