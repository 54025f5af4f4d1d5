"""Scenario calibration: backtest blocks give the dependence, the calibrated forecast gives the
marginals, counts get uniform PITs, and a kindergarten's need over the year keeps the
persistence the backtest showed (too-certain yearly needs were what made plans miss)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kstest, norm
from test_needs import CENTRE, ORIGIN, SPREAD, draw, normal_forecasts

from data.contract import QUANTILE_COLUMNS
from models.needs import pit_scores
from models.needs.quantiles import extend_tails, quantile_function
from models.needs.scenarios import (
    BLOCK_NOISE_SHARE,
    HORIZON_CORRELATION,
    cell_normal_ranks,
    normal_ranks,
)


def backtest(shift_sd: float = 0.0, n_origins: int = 10, seed: int = 11) -> pd.DataFrame:
    """Backtests where each origin's error is one shock for the whole district and year,
    shifted by ``shift_sd`` forecast standard deviations (a forecaster biased in the past)."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_origins):
        origin = ORIGIN - 24 + i
        f = normal_forecasts(origin=origin, months=pd.period_range(origin + 1, periods=12))
        shock = rng.normal() + shift_sd
        f["actual"] = [CENTRE[t] + SPREAD[t] * shock for t in f["target"]]
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def test_normal_ranks_give_standard_normal_marginals_and_keep_the_order() -> None:
    rng = np.random.default_rng(3)
    blocks = rng.normal(0.8, 0.4, size=(6, 5, 2, 12))  # biased and too narrow
    blocks[0, 0, 0, :] = np.nan  # a cell the backtest lacks stays missing
    ranked = normal_ranks(blocks)
    for t in range(2):
        scores = ranked[:, :, t][np.isfinite(ranked[:, :, t])]
        assert abs(scores.mean()) < 1e-9
        assert scores.std() == pytest.approx(1.0, abs=0.03)
        original = blocks[:, :, t][np.isfinite(blocks[:, :, t])]
        assert (np.argsort(scores) == np.argsort(original)).all()
    assert np.isnan(ranked[0, 0, 0]).all()


def test_count_pits_of_a_calibrated_forecast_are_uniform() -> None:
    """Actual § 37 counts drawn the way scenarios are made (rounded quantile function) from a
    forecast of about 1 decision: the randomised PIT is uniform, so z has variance 1; the
    midpoint PIT would give about 0.4 and too narrow scenarios."""
    rng = np.random.default_rng(5)
    n = 4000
    quantiles = np.tile(
        np.maximum(1.0 + 1.0 * norm.ppf([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]), 0), (n, 1)
    )
    actual = np.maximum(
        np.round(quantile_function(extend_tails(quantiles, lower=0.0), rng.uniform(size=n))), 0
    )
    history = pd.DataFrame(quantiles, columns=list(QUANTILE_COLUMNS)).assign(
        origin="2024-01",
        kindergarten_id=[f"k{i}" for i in range(n)],
        target="vedtak_37",
        horizon=1,
        actual=actual,
    )
    z = pit_scores(history)["z"].to_numpy()
    assert z.var() == pytest.approx(1.0, abs=0.1)
    assert kstest(norm.cdf(z), "uniform").pvalue > 0.01


def test_a_past_bias_in_the_backtest_does_not_shift_the_scenarios() -> None:
    needs = draw(n=2000, pit_history=backtest(shift_sd=1.5))
    o3 = needs.children_over3[:, 0, :]
    # marginals are the forecast's, normal(30, 3) rounded: median 30 (a kept bias would put it
    # near 30 + √½ × 1.5 × 3 ≈ 33) and P(26 ≤ count ≤ 34) = P(|Z| < 4.5 / 3)
    assert np.median(o3) == pytest.approx(CENTRE["children_over3"], abs=0.5)
    inside = (o3 >= 26) & (o3 <= 34)
    assert inside.mean() == pytest.approx(2 * norm.cdf(1.5) - 1, abs=0.03)


def test_yearly_need_keeps_the_persistence_of_backtest_errors() -> None:
    """Backtest errors that last the whole year plus copula noise that persists month to month:
    the spread of a kindergarten's yearly child count is what that mixture implies — wider than
    if the noise were independent from month to month."""
    needs = draw(n=4000, pit_history=backtest())
    yearly = needs.children_over3[:, 0, :].sum(axis=1)
    lag = np.abs(np.subtract.outer(np.arange(12), np.arange(12)))
    persistent_noise = (HORIZON_CORRELATION**lag).sum()
    expected_sd = SPREAD["children_over3"] * np.sqrt(
        (1 - BLOCK_NOISE_SHARE) * 144 + BLOCK_NOISE_SHARE * persistent_noise
    )
    white_noise_sd = SPREAD["children_over3"] * np.sqrt(
        (1 - BLOCK_NOISE_SHARE) * 144 + BLOCK_NOISE_SHARE * 12
    )
    assert yearly.std() == pytest.approx(expected_sd, rel=0.08)
    assert yearly.std() > white_noise_sd * 1.1


def test_cell_normal_ranks_give_each_cell_the_same_stratified_marginal_and_keep_the_order() -> None:
    rng = np.random.default_rng(4)
    z = rng.normal(0.5, 2.0, size=(200, 3, 2, 4))  # biased, too wide, different per cell
    ranked = cell_normal_ranks(z)
    levels = norm.ppf((np.arange(200) + 0.5) / 200)
    for k, t, m in ((0, 0, 0), (2, 1, 3)):
        assert np.sort(ranked[:, k, t, m]) == pytest.approx(levels)
        assert (np.argsort(ranked[:, k, t, m]) == np.argsort(z[:, k, t, m])).all()
    # the dependence between cells stays: rank correlation unchanged
    a, b = z[:, 0, 0, 0] + z[:, 1, 0, 0], z[:, 1, 0, 0]
    joint = cell_normal_ranks(np.stack([a, b], axis=1))
    assert np.corrcoef(joint[:, 0], joint[:, 1])[0, 1] == pytest.approx(
        np.corrcoef(a, b)[0, 1], abs=0.05
    )
    assert cell_normal_ranks(np.array([[1.3, -2.0]])).tolist() == [[0.0, 0.0]]


def test_a_kindergartens_own_past_bias_does_not_shift_its_scenarios() -> None:
    """The backtest under-forecast kindergarten a by 1.5 standard deviations at every origin and
    b and c not at all: normal ranks pooled over all cells keep a's scores high, and a's
    scenarios were drawn around 32 instead of the forecast's 30. Its past errors are not a
    forecast of the year planned, so every kindergarten's scenarios follow its own forecast."""
    rng = np.random.default_rng(12)
    frames = []
    for i in range(10):
        origin = ORIGIN - 24 + i
        f = normal_forecasts(origin=origin, months=pd.period_range(origin + 1, periods=12))
        shock = {k: rng.normal() + (1.5 if k == "a" else 0.0) for k in ("a", "b", "c")}
        f["actual"] = [
            CENTRE[t] + SPREAD[t] * shock[k]
            for k, t in zip(f["kindergarten_id"], f["target"], strict=True)
        ]
        frames.append(f)
    needs = draw(n=1000, pit_history=pd.concat(frames, ignore_index=True))
    for k in range(3):
        o3 = needs.children_over3[:, k, :]
        assert np.median(o3) == pytest.approx(CENTRE["children_over3"], abs=0.5)
        assert o3.mean() == pytest.approx(CENTRE["children_over3"], abs=0.15)
