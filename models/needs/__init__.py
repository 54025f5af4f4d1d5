"""Needs as joint scenarios: what each kindergarten will need, month by month, under the norms.

From forecasts in the contract's long format (and, when available, backtest predictions with the
actual values) draw ``n_scenarios`` joint scenarios of children, decisions and sick leave per
kindergarten × month, keeping the dependence across targets, kindergartens and months (see
:mod:`models.needs.scenarios`), then apply the norms (:mod:`models.norms`) to every scenario.
Arrays are shaped (scenario, kindergarten, month); the same seed gives the same scenarios.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy.stats import norm

from data.contract import COUNT_TARGETS, QUANTILE_COLUMNS, RESOURCES
from data.errors import Problem, UserInputError
from data.periods import month_text
from models.needs.quantiles import extend_tails, pit, quantile_function
from models.needs.scenarios import (
    BLOCK_NOISE_SHARE,
    backtest_blocks,
    block_scores,
    cell_rank_values,
    gaussian_copula_scores,
    normal_rank_levels,
    scores_to_probabilities,
)
from models.norms import NormSettings, pedagogue_positions, special_needs_fte, staffing_need_fte

#: the targets a plan needs; children are required, the rest default to zero (with a warning)
NEED_TARGETS = ("children_under3", "children_over3", "vedtak_31", "vedtak_37", "sick_leave_rate")
REQUIRED_TARGETS = ("children_under3", "children_over3")


@dataclass
class NeedScenarios:
    """Scenario arrays (S, K, M) of inputs and norm requirements, and current supply (K, R)."""

    kindergarten_ids: tuple[str, ...]
    months: pd.PeriodIndex
    children_under3: np.ndarray
    children_over3: np.ndarray
    vedtak_31: np.ndarray
    vedtak_37: np.ndarray
    sick_leave_rate: np.ndarray
    #: contracted FTE now, columns in :data:`data.contract.RESOURCES` order
    current_fte: np.ndarray
    settings: NormSettings = field(default_factory=NormSettings)
    #: the forecast's median per target, (K, T, M) — used to explain plans in words
    median: dict[str, np.ndarray] = field(default_factory=dict)
    origin: pd.Period | None = None
    source: str = "gaussian copula"
    warnings: list[str] = field(default_factory=list)

    @property
    def n_scenarios(self) -> int:
        return self.children_under3.shape[0]

    # The norm arrays below are computed once per scenario object and cached read-only: every
    # explanation, curve and summary reads them, and recomputing the whole (S, K, M) array per
    # plan line made explanations grow with the square of the kindergartens. The inputs are
    # never reassigned (a changed set of scenarios is a new object, which starts uncached).

    @cached_property
    def staff_need_fte(self) -> np.ndarray:
        """Staffing norm requirement, FTE (exact, fractional)."""
        return _read_only(
            np.stack(
                [
                    staffing_need_fte(
                        self.children_under3[:, :, i], self.children_over3[:, :, i], m
                    )
                    for i, m in enumerate(self.months)
                ],
                axis=-1,
            )
        )

    @cached_property
    def _pedagogue_norm(self) -> tuple[np.ndarray, np.ndarray]:
        """(whole positions, exact requirement), both (S, K, M), from one pass over the months."""
        parts = [
            pedagogue_positions(self.children_under3[:, :, i], self.children_over3[:, :, i], m)
            for i, m in enumerate(self.months)
        ]
        positions = np.stack([p.positions for p in parts], axis=-1)
        exact = np.stack([p.exact for p in parts], axis=-1)
        return _read_only(positions), _read_only(exact)

    @property
    def pedagogue_need(self) -> np.ndarray:
        """Pedagogue norm requirement, whole positions."""
        return self._pedagogue_norm[0]

    @property
    def pedagogue_need_exact(self) -> np.ndarray:
        """Pedagogue norm requirement before rounding up to whole positions."""
        return self._pedagogue_norm[1]

    @cached_property
    def special_needs_fte(self) -> np.ndarray:
        """FTE of help that the § 31 / § 37 decisions carry."""
        return _read_only(
            np.asarray(special_needs_fte(self.vedtak_31, self.vedtak_37, self.settings), float)
        )

    def requirement(self, resource: str) -> np.ndarray:
        """(S, K, M) what each resource must cover: staff norm, pedagogue norm, decisions' hours."""
        return {
            "staff": self.staff_need_fte,
            "pedagogue": self.pedagogue_need,
            "resource_pedagogue": self.special_needs_fte,
        }[resource]

    def effective_supply(self, contracted_fte: np.ndarray) -> np.ndarray:
        """Contracted FTE (K,) or (S, K, M) → effective FTE after sick leave, (S, K, M)."""
        contracted = np.asarray(contracted_fte, dtype=float)
        if contracted.ndim == 1:
            contracted = contracted[None, :, None]
        return contracted * (1.0 - self.sick_leave_rate)


def _read_only(values: np.ndarray) -> np.ndarray:
    values.flags.writeable = False
    return values


def pit_scores(pit_history: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Backtest predictions with ``actual`` → normal scores z = Φ⁻¹(F̂(actual)) per cell.

    Counts are compared the way scenarios are made (values rounded to whole children): a count's
    PIT is drawn uniformly between F̂(actual − ½) and F̂(actual + ½) (the randomised PIT, with a
    fixed ``seed``). The midpoint would be deterministic but is not uniform for a calibrated
    count forecast: its scores had variance ≈ 0.4 for § 37 decisions instead of 1, which made
    the scenarios too narrow.
    """
    frame = pit_history.dropna(subset=["actual"])
    counts = frame["target"].isin(COUNT_TARGETS).to_numpy()
    knots = extend_tails(frame[list(QUANTILE_COLUMNS)].to_numpy(float), lower=0.0)
    actual = frame["actual"].to_numpy(float)
    u_point = pit(knots, actual)
    low, high = pit(knots, actual - 0.5), pit(knots, actual + 0.5)
    u_count = low + np.random.default_rng(seed).uniform(size=len(actual)) * (high - low)
    u = np.where(counts, u_count, u_point)
    return pd.DataFrame(
        {
            "origin": month_text(frame["origin"]).to_numpy(),
            "kindergarten_id": frame["kindergarten_id"].astype(str).to_numpy(),
            "target": frame["target"].to_numpy(),
            "horizon": frame["horizon"].astype(int).to_numpy(),
            "z": norm.ppf(u),
        }
    )


def _forecast_cube(
    forecasts: pd.DataFrame,
    kindergarten_ids: tuple[str, ...],
    months: pd.PeriodIndex,
) -> tuple[np.ndarray, pd.Period, list[str]]:
    """(K, T, M, 7) quantiles of the latest origin; missing optional targets become zeros."""
    problems: list[Problem] = []
    missing_cols = [
        c
        for c in ("kindergarten_id", "origin", "month", "target", *QUANTILE_COLUMNS)
        if c not in forecasts.columns
    ]
    if missing_cols:
        raise UserInputError(
            "the forecasts cannot be used",
            [Problem("forecasts", "required column missing", column=c) for c in missing_cols],
        )
    # months compared as YYYY-MM text: parsing 10⁵ strings into periods costs seconds
    origin_text = month_text(forecasts["origin"])
    latest = origin_text.max()
    origin = pd.Period(latest, "M")
    frame = forecasts[origin_text == latest]
    warnings: list[str] = []
    cube = np.zeros((len(kindergarten_ids), len(NEED_TARGETS), len(months), len(QUANTILE_COLUMNS)))
    k = pd.Index(kindergarten_ids).get_indexer(pd.Index(frame["kindergarten_id"].astype(str)))
    t = pd.Index(NEED_TARGETS).get_indexer(pd.Index(frame["target"]))
    m = pd.Index(months.strftime("%Y-%m")).get_indexer(pd.Index(month_text(frame["month"])))
    keep = (k >= 0) & (t >= 0) & (m >= 0)
    seen = np.zeros(cube.shape[:3], dtype=bool)
    cube[k[keep], t[keep], m[keep]] = frame[list(QUANTILE_COLUMNS)].to_numpy(float)[keep]
    seen[k[keep], t[keep], m[keep]] = True
    for ti, target in enumerate(NEED_TARGETS):
        covered = seen[:, ti, :]
        if covered.all():
            continue
        if target not in REQUIRED_TARGETS and not covered.any():
            warnings.append(f"no forecast of {target}: taken as 0 in every scenario")
            continue
        for ki, mi in zip(*np.nonzero(~covered), strict=True):
            problems.append(
                Problem(
                    "forecasts",
                    f"no forecast from origin {origin} for this kindergarten and month",
                    column=target,
                    value=f"{kindergarten_ids[ki]} {months[mi]}",
                )
            )
    if problems:
        raise UserInputError(
            f"the forecasts do not cover the plan period {months[0]}–{months[-1]}", problems[:50]
        )
    return cube, origin, warnings


def simulate_needs(
    forecasts: pd.DataFrame,
    *,
    kindergarten_ids: tuple[str, ...],
    months: pd.PeriodIndex,
    current_fte: np.ndarray,
    pit_history: pd.DataFrame | None = None,
    n_scenarios: int = 200,
    seed: int = 0,
    settings: NormSettings | None = None,
    spread: float = 1.0,
) -> NeedScenarios:
    """Draw joint scenarios for ``kindergarten_ids`` × ``months`` from the latest origin's
    forecasts; ``current_fte`` is (K, 3) contracted FTE in :data:`RESOURCES` order.

    ``spread`` scales every normal score before it is turned into a quantile level: 1 keeps
    the forecast's calibrated quantiles, above 1 widens the scenarios (a planner's hedge when
    the forecasts have been too sure), below 1 narrows them. A plan setting, tuned on the
    decision backtest (:mod:`training.decision_tuning`), not a model parameter."""
    if not (np.isfinite(spread) and spread > 0):
        raise UserInputError(
            "the scenario spread must be a positive number",
            [Problem("plan request", "must be > 0", column="scenario_spread", value=spread)],
        )
    cube, origin, warnings = _forecast_cube(forecasts, kindergarten_ids, months)
    horizons = np.array([(m - origin).n for m in months])
    rng = np.random.default_rng(seed)
    history = pit_history if pit_history is not None and len(pit_history) else None

    def copula_draws() -> tuple[np.ndarray, np.ndarray | None]:
        """The fallback scores, then (with a backtest history) the blocks' noise: the
        generator's first draws, in this order (unused if the blocks cover no cell)."""
        draw = (rng, n_scenarios, len(kindergarten_ids), NEED_TARGETS, horizons)
        first = gaussian_copula_scores(*draw)
        return first, gaussian_copula_scores(*draw) if history is not None else None

    # NumPy lets go of the GIL while it draws and multiplies, so the copula's draws (half a
    # second of CPU for a city) run in a thread beside the backtest's scores: the same draws
    # in the same order, so the same scenarios
    with ThreadPoolExecutor(max_workers=1) as beside:
        pending = beside.submit(copula_draws)
        blocks = (
            backtest_blocks(pit_scores(history), kindergarten_ids, NEED_TARGETS, horizons)
            if history is not None
            else None
        )
        fallback, noise = pending.result()
    source = "gaussian copula (no backtest history)"
    z = fallback
    if blocks is not None and noise is not None and np.isfinite(blocks).any():
        z, _ = block_scores(rng, blocks, fallback, noise)
        source = (
            f"backtest blocks from {blocks.shape[0]} origins (normal ranks), "
            f"mixed with {BLOCK_NOISE_SHARE:.0%} copula noise"
        )
    # (S, K, T, M) = Φ(cell_normal_ranks(z) × spread), with Φ taken of the S rank levels only
    levels = scores_to_probabilities(normal_rank_levels(z.shape[0]) * spread)
    u = cell_rank_values(z, levels)
    values = np.empty_like(u)

    def draw_target(ti: int) -> None:
        knots = extend_tails(cube[:, ti], lower=0.0)  # (K, M, 9)
        drawn = quantile_function(knots[None], u[:, :, ti])
        if NEED_TARGETS[ti] in COUNT_TARGETS:
            drawn = np.maximum(np.round(drawn), 0.0)
        else:
            drawn = np.clip(drawn, 0.0, 1.0)
        values[:, :, ti] = drawn

    # every other target in a thread (NumPy lets go of the GIL here): each target's values
    # are the same, drawn side by side on two cores
    with ThreadPoolExecutor(max_workers=1) as beside:
        drawing = [beside.submit(draw_target, ti) for ti in range(1, len(NEED_TARGETS), 2)]
        for ti in range(0, len(NEED_TARGETS), 2):
            draw_target(ti)
        for done in drawing:
            done.result()
    by_target = {t: values[:, :, i] for i, t in enumerate(NEED_TARGETS)}
    return NeedScenarios(
        kindergarten_ids=tuple(kindergarten_ids),
        months=months,
        current_fte=np.asarray(current_fte, dtype=float).reshape(
            len(kindergarten_ids), len(RESOURCES)
        ),
        settings=settings or NormSettings(),
        median={
            t: cube[:, i, :, QUANTILE_COLUMNS.index("p50")] for i, t in enumerate(NEED_TARGETS)
        },
        origin=origin,
        source=source,
        warnings=warnings,
        **by_target,
    )


__all__ = ["NEED_TARGETS", "NeedScenarios", "pit_scores", "simulate_needs"]
