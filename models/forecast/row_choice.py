"""Which rows a :class:`~models.forecast.pipeline.ForecastPipeline` fit trains on and scores:
the boosters' random sample of ``max_rows_per_model`` rows, the calibration round's scored rows
(a sample of kindergartens beyond ``calibration_rows``), the horizons' frames stacked into one
(the stacked strategy), and the calibration round's horizons in groups bounded by rows.

Pure functions of row masks and a seed: the same rows whoever calls them."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from models.forecast.frames import HorizonFrame, sample_positions, stack_frames


def pair_where(
    rows: tuple[np.ndarray, np.ndarray], keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The (kindergarten index, origin index) pairs of ``rows`` where ``keep`` holds."""
    return rows[0][keep], rows[1][keep]


def chunks(sizes: dict[int, int], limit: int) -> Iterator[list[int]]:
    """The keys of ``sizes`` (rows per key) in order, in consecutive groups of at most
    ``limit`` rows (a key with more rows alone)."""
    group: list[int] = []
    size = 0
    for key, rows in sizes.items():
        if group and size + rows > limit:
            yield group
            group, size = [], 0
        group.append(key)
        size += rows
    if group:
        yield group


def sample_masks(
    candidates: dict[int, np.ndarray], *, stacked: bool, max_rows: int | None, random_state: int
) -> dict[int, np.ndarray]:
    """Per horizon, which rows are trained on, of its ``candidates`` (a mask over its rows):
    stacked, ``max_rows`` drawn over the horizons' candidates in a row (the draw
    :func:`~models.forecast.frames.stack_frames` makes); direct, as many per horizon."""
    positions = {h: np.flatnonzero(mask) for h, mask in candidates.items()}
    chosen: dict[int, np.ndarray] = {}
    if stacked:
        sizes = np.array([len(p) for p in positions.values()])
        keep = sample_positions(int(sizes.sum()), max_rows=max_rows, random_state=random_state)
        starts = np.concatenate([[0], np.cumsum(sizes)])
        for i, (h, where) in enumerate(positions.items()):
            if keep is not None:
                where = where[keep[(keep >= starts[i]) & (keep < starts[i + 1])] - starts[i]]
            chosen[h] = where
    else:
        for h, where in positions.items():
            keep = sample_positions(len(where), max_rows=max_rows, random_state=random_state)
            chosen[h] = where if keep is None else where[keep]
    masks = {}
    for h, where in chosen.items():
        masks[h] = np.zeros(len(candidates[h]), dtype=bool)
        masks[h][where] = True
    return masks


def group_frames(frames: dict[int, HorizonFrame], *, stacked: bool) -> dict[int, HorizonFrame]:
    """{0: the horizons' frames stacked} or the frames per horizon (direct)."""
    if not stacked:
        return frames
    return {0: stack_frames(list(frames.values()), max_rows=None, random_state=0)}


def calibration_sample(
    rows: dict[int, tuple[np.ndarray, np.ndarray]],
    scored: dict[int, np.ndarray],
    *,
    limit: int | None,
    random_state: int,
) -> dict[int, np.ndarray]:
    """``scored`` (per horizon, a mask over ``rows``: the calibration round's rows), or
    beyond ``limit`` rows the rows of a random sample of their kindergartens: each kept
    kindergarten's every origin and horizon, so the residuals' spread per horizon and season
    and their correlation across kindergartens at an origin are estimated as from all of
    them."""
    total = sum(int(mask.sum()) for mask in scored.values())
    if limit is None or total <= limit:
        return scored
    kindergartens = np.unique(np.concatenate([kt[0][scored[h]] for h, kt in rows.items()]))
    size = max(1, int(np.ceil(len(kindergartens) * limit / total)))
    rng = np.random.default_rng(random_state)
    chosen = rng.choice(kindergartens, size=min(size, len(kindergartens)), replace=False)
    return {h: scored[h] & np.isin(kt[0], chosen) for h, kt in rows.items()}
