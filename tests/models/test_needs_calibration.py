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
