"""Today's baseline: pools spread by a fixed key, rounded to the steps by largest remainder."""

from __future__ import annotations

import numpy as np


def largest_remainder(weights: np.ndarray, total_fte: float, step_fte: float) -> np.ndarray:
    """Split ``total_fte`` (rounded down to whole steps) over ``weights`` in proportion, in whole
    steps: everyone gets the floor of their share, the leftover steps go to the largest
    remainders (ties to the earlier kindergarten). Sums exactly to the pool in steps."""
    weights = np.clip(np.asarray(weights, dtype=float), 0.0, None)
    n_steps = int(np.floor(total_fte / step_fte + 1e-9))
    if n_steps == 0 or len(weights) == 0:
        return np.zeros(len(weights))
    if weights.sum() <= 0:
        weights = np.ones(len(weights))
    quota = n_steps * weights / weights.sum()
    steps = np.floor(quota + 1e-9)
    leftover = n_steps - int(steps.sum())
    order = np.lexsort((np.arange(len(weights)), -(quota - steps)))
    steps[order[:leftover]] += 1
    return steps * step_fte


def proportional_allocation(
    children: np.ndarray,
    decisions: np.ndarray,
    pools_fte: np.ndarray,
    step_fte: np.ndarray,
    resources: tuple[str, ...],
) -> np.ndarray:
    """(K, R) extra FTE: staff and pedagogue pools in proportion to children, resource
    pedagogues in proportion to § 31 + § 37 decisions (children where there are none)."""
    out = np.zeros((len(children), len(resources)))
    for r, resource in enumerate(resources):
        if not np.isfinite(pools_fte[r]) or pools_fte[r] <= 0:
            continue
        key = decisions if resource == "resource_pedagogue" and np.sum(decisions) > 0 else children
        out[:, r] = largest_remainder(key, float(pools_fte[r]), float(step_fte[r]))
    return out
