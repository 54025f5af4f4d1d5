"""Joint normal scores for scenarios over (kindergarten, target, month).

Two sources of dependence, both documented because planners rely on them:

* **Backtest blocks** (preferred): every rolling-origin backtest origin gives one vector of normal
  scores z = Φ⁻¹(PIT) over (kindergarten, target, horizon). A scenario takes one whole origin's
  vector — so a kindergarten short in March of that origin stays short in May, children and
  decisions move together, and a district-wide shock hits all kindergartens — and mixes it with
  a draw ε of the fallback copula: z = √(1 − w)·z_origin + √w·ε with ``w = BLOCK_NOISE_SHARE``
  (0.5), so 200 scenarios are not just a handful of repeats. Two choices keep the scenarios
  calibrated (checked on the simulated district: 80 % scenario intervals of each kindergarten's
  *yearly* need covered the truth 57–72 % of the time before, 66–87 % after, 3 seeds):

  - the blocks give the *dependence* only: each target's scores are replaced by their normal
    ranks (:func:`normal_ranks`), and at the end every kindergarten × target × month's scores
    by their normal ranks across the scenarios (:func:`cell_normal_ranks`), so each cell is
    drawn at evenly spaced probabilities of the forecast's calibrated quantiles. A handful of
    backtest origins otherwise re-imposes that period's bias and spread (backtest z had mean
    −0.3…+0.1 and variance 0.4–1.0) on a future that need not share it — district-wide (the
    first step) and per kindergarten (the second: pooled ranks left a kindergarten the
    backtest under-forecast high in most scenarios);
  - the noise ε is the copula's, persistent over months (AR(1)), not white: white noise in 25 %
    of the variance made each month's error partly independent, so a kindergarten's need over
    the year came out too certain.

  Cells the backtest lacks (a new kindergarten, a horizon never backtested) take the fallback
  copula's score.
* **Gaussian copula** (fallback): correlation = C_target ⊗ C_kindergarten ⊗ C_horizon with
  C_kindergarten equicorrelated (``KINDERGARTEN_CORRELATION`` = 0.2, a modest district-wide
  shock), C_horizon AR(1) with ``HORIZON_CORRELATION`` = 0.9 per month (errors persist), and
  C_target linking children under/over 3 (0.3), § 31 and § 37 (0.4), children and decisions (0.1);
  sick leave independent of the rest.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

BLOCK_NOISE_SHARE = 0.5
KINDERGARTEN_CORRELATION = 0.2
HORIZON_CORRELATION = 0.9
TARGET_CORRELATION = {
    ("children_under3", "children_over3"): 0.3,
    ("vedtak_31", "vedtak_37"): 0.4,
    ("children_under3", "vedtak_31"): 0.1,
    ("children_under3", "vedtak_37"): 0.1,
    ("children_over3", "vedtak_31"): 0.1,
    ("children_over3", "vedtak_37"): 0.1,
}


def target_correlation(targets: tuple[str, ...]) -> np.ndarray:
    corr = np.eye(len(targets))
    for (a, b), rho in TARGET_CORRELATION.items():
        if a in targets and b in targets:
            i, j = targets.index(a), targets.index(b)
            corr[i, j] = corr[j, i] = rho
    return corr


def gaussian_copula_scores(
    rng: np.random.Generator,
    n_scenarios: int,
    n_kindergartens: int,
    targets: tuple[str, ...],
    horizons: np.ndarray,
) -> np.ndarray:
    """(S, K, T, M) standard-normal scores with the Kronecker correlation described above."""
    n_t, n_m = len(targets), len(horizons)
    lag = np.abs(np.subtract.outer(horizons, horizons))
    chol_h = np.linalg.cholesky(HORIZON_CORRELATION**lag)
    chol_t = np.linalg.cholesky(target_correlation(targets))
    rho = KINDERGARTEN_CORRELATION
    common = rng.standard_normal((n_scenarios, 1, n_t, n_m))
    own = rng.standard_normal((n_scenarios, n_kindergartens, n_t, n_m))
    white = np.sqrt(rho) * common + np.sqrt(1 - rho) * own  # equicorrelated across kindergartens
    # Z[s,k,t,m] = Σ_u,n L_t[t,u] L_h[m,n] W[s,k,u,n]: one matrix product with L_t ⊗ L_h over
    # the flattened (target, month) axis; as two batched products (one small product per
    # scenario and kindergarten) it was 1.1 of a city plan's seconds, this way 0.2
    flat = white.reshape(n_scenarios * n_kindergartens, n_t * n_m)
    return (flat @ np.kron(chol_t, chol_h).T).reshape(white.shape)


def backtest_blocks(
    pit_scores: pd.DataFrame,
    kindergarten_ids: tuple[str, ...],
    targets: tuple[str, ...],
    horizons: np.ndarray,
) -> np.ndarray:
    """(origins, K, T, M) normal scores from a table with columns origin, kindergarten_id,
    target, horizon, z; NaN where the backtest has no such cell."""
    origins = np.sort(pit_scores["origin"].unique())
    blocks = np.full((len(origins), len(kindergarten_ids), len(targets), len(horizons)), np.nan)
    o = np.searchsorted(origins, pit_scores["origin"].to_numpy())
    k = pd.Index(kindergarten_ids).get_indexer(pd.Index(pit_scores["kindergarten_id"]))
    t = pd.Index(targets).get_indexer(pd.Index(pit_scores["target"]))
    m = pd.Index(horizons).get_indexer(pd.Index(pit_scores["horizon"]))
    keep = (k >= 0) & (t >= 0) & (m >= 0)
    blocks[o[keep], k[keep], t[keep], m[keep]] = pit_scores["z"].to_numpy()[keep]
    return blocks


def normal_ranks(blocks: np.ndarray) -> np.ndarray:
    """Per target (axis 2), the finite scores replaced by their normal ranks Φ⁻¹((rank − ½)/n)
    over all origins, kindergartens and horizons: exactly standard normal marginals, the same
    order (so the same rank dependence across kindergartens, targets and months)."""
    ranked = np.array(blocks, dtype=float, copy=True)
    for t in range(ranked.shape[2]):
        scores = ranked[:, :, t]
        finite = np.isfinite(scores)
        n = int(finite.sum())
        if n > 1:
            scores[finite] = ndtri((rankdata(scores[finite]) - 0.5) / n)
    return ranked


def block_scores(
    rng: np.random.Generator, blocks: np.ndarray, fallback: np.ndarray, noise: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Scenario scores from whole backtest blocks (normal-ranked per target) mixed with
    ``noise``, an independent draw of the fallback copula (see module doc).

    Origins are used in turn in a shuffled order (each about equally often). Returns the scores
    and the origin index drawn for each scenario.
    """
    n_scenarios = fallback.shape[0]
    n_origins = blocks.shape[0]
    drawn = np.resize(rng.permutation(n_origins), n_scenarios)
    rng.shuffle(drawn)
    chosen = normal_ranks(blocks)[drawn]
    mixed = np.sqrt(1 - BLOCK_NOISE_SHARE) * chosen + np.sqrt(BLOCK_NOISE_SHARE) * noise
    return np.where(np.isnan(chosen), fallback, mixed), drawn


def cell_normal_ranks(z: np.ndarray) -> np.ndarray:
    """(S, …) scores → in every cell (each index after the scenario axis) the scenarios' scores
    replaced by their normal ranks Φ⁻¹((rank + ½)/S) across the scenarios (ties broken by
    scenario order, so the same scores give the same ranks).

    So every kindergarten × target × month is drawn at S evenly spaced probabilities of the
    forecast's own distribution — exactly its calibrated quantiles, whatever the dependence
    source — while which scenario is high or low in a cell (the rank dependence across months,
    targets and kindergartens) stays as drawn. Why: the plan's expected loss is a sum over
    kindergarten-months, so it reads each cell's marginal only. Backtest blocks shifted those
    marginals per kindergarten (a kindergarten the backtest under-forecast at its origins was
    drawn high in most scenarios; normal ranks pooled over all cells do not remove that), yet
    such a kindergarten's past errors said nothing about the year planned (correlation of the
    backtest's mean score per kindergarten with the realised year's score −0.34 … +0.08 for
    children and sick leave on 3 simulated districts), and 200 random draws per cell added
    sampling noise the plan reacted to. On those districts the plan's regret in realised unmet
    FTE-months fell from 0.30 / 0.23 / 0.26 to 0.31 / 0.19 / 0.21 (``benchmarks/README.md``,
    bench_allocation, 2026-12-07).
    """
    return cell_rank_values(z, normal_rank_levels(z.shape[0]))


def normal_rank_levels(n: int) -> np.ndarray:
    """The normal ranks Φ⁻¹((rank + ½)/n) of ranks 0 … n − 1."""
    return ndtri((np.arange(n) + 0.5) / n)


def cell_rank_values(z: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(S, …) scores → in every cell the scenario with the i-th lowest score (ties broken by
    scenario order) given ``values[i]``.

    Each cell's scenarios are sorted once (cells as rows, so each sort reads contiguous memory)
    and the sorted positions given their value: equal to ranking by a second argsort and
    computing each rank's value per element (Φ⁻¹, and Φ after the spread), at a fraction of the
    CPU (3 s of a city plan's scenarios). The cells are ranked in two halves, one in a thread
    (NumPy's sort lets go of the GIL): each cell's result is the same, in about 0.6 of the
    time on two cores (0.2 s of a city plan)."""
    n = z.shape[0]
    cells = np.ascontiguousarray(z.reshape(n, -1).T)
    ranked = np.empty(cells.shape)
    fill = np.asarray(values, dtype=float)[None, :]

    def rank(rows: slice) -> None:
        order = np.argsort(cells[rows], axis=1, kind="stable")
        np.put_along_axis(ranked[rows], order, fill, axis=1)

    half = len(cells) // 2
    with ThreadPoolExecutor(max_workers=1) as beside:
        pending = beside.submit(rank, slice(half, None))
        rank(slice(0, half))
        pending.result()
    return ranked.T.reshape(z.shape)


def scores_to_probabilities(z: np.ndarray) -> np.ndarray:
    return ndtr(z)
