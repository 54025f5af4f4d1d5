"""The forecasting benchmark's goals over families and seeds, in one table: one simulated district
is one draw, and a few origins of one seed can meet or miss a goal by luck (on 2026-12-04 the
district's children met 0.85 × the best peer on seed 1 and missed it on seeds 2 and 3).

Per family (simulator process), seed and goal target: WAPE of ours, of the best peer and of the
full-state noise floor, the share of the gap between the best peer and that floor that ours
closes (0 = as good as the best peer, 1 = as good as perfect information; issue 17's goals:
:data:`GAP_GOALS`), ours ÷ the best peer (issue 3's line :data:`GOAL_RATIO`) and ours' 80 %
coverage (goal :data:`COVERAGE_GOAL`); per run, fit + forecast time against mlforecast's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

GOAL_RATIO = 0.85
PEERS = ("autoets", "mlforecast")
#: Share of the peer-to-floor gap each target's WAPE is to close (issue 17).
GAP_GOALS = {
    "children_under3": 0.5,
    "children_over3": 0.5,
    "vedtak_31": 1 / 3,
    "sick_leave_rate": 1 / 3,
}
#: 80 % intervals are to cover between these shares, pooled over origins, per target.
COVERAGE_GOAL = (0.78, 0.82)


def best_peer_wape(table: Any, target: str) -> float:
    """The lower WAPE of the peers on ``target`` in bench_forecast's scored ``table`` (index
    target; columns (metric, model))."""
    wape = table.loc[target, "wape"]
    return float(min(wape[peer] for peer in PEERS))


@dataclass
class GoalSummary:
    """One family (or preset) and seed: per goal target the WAPE of ours, of the best peer and of
    the full-state floor (NaN where it was not computed), ours' 80 % coverage and the number of
    rows it was scored on, and fit + forecast seconds of ours and of mlforecast."""

    preset: str
    seed: int
    ours: dict[str, float] = field(default_factory=dict)
    best_peer: dict[str, float] = field(default_factory=dict)
    floor: dict[str, float] = field(default_factory=dict)
    coverage: dict[str, float] = field(default_factory=dict)
    #: the full-state oracle's expected 80 % coverage on the same rows (noise_floor.floor_coverage)
    floor_coverage: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    #: why the time ratio is not a time figure (mlforecast's seconds read from the cache, timed
    #: at another moment and load); empty when both were timed in this run
    time_caveat: str = ""

    def ratio(self, target: str) -> float:
        return self.ours[target] / self.best_peer[target]

    def gap_closed(self, target: str) -> float:
        """(best peer − ours) / (best peer − floor): the share of the way to perfect information."""
        gap = self.best_peer[target] - self.floor.get(target, np.nan)
        return (self.best_peer[target] - self.ours[target]) / gap if gap > 0 else np.nan

    def time_ratio(self) -> float:
        """Fit + forecast seconds of ours ÷ mlforecast's (NaN where not timed)."""
        if not self.seconds.get("mlforecast"):
            return np.nan
        return self.seconds.get("ours", np.nan) / self.seconds["mlforecast"]


def goal_summary(
    preset: str,
    seed: int,
    table: Any,
    floors: Mapping[str, float],
    goal_targets: Sequence[str],
    seconds: Mapping[str, float] | None = None,
    floor_coverage: Mapping[str, float] | None = None,
    time_caveat: str = "",
) -> GoalSummary:
    """From bench_forecast's scored ``table`` (index target; columns (metric, model), with an
    ``n`` column where it has one), the floors' WAPE per target and, where computed, the floor's
    expected 80 % coverage per target."""
    summary = GoalSummary(
        preset,
        seed,
        seconds=dict(seconds or {}),
        floor_coverage={t: float(c) for t, c in (floor_coverage or {}).items()},
        time_caveat=time_caveat,
    )
    for target in goal_targets:
        if target not in table.index:
            continue
        summary.ours[target] = float(table.loc[target, "wape"]["ours"])
        summary.best_peer[target] = best_peer_wape(table, target)
        summary.floor[target] = float(floors.get(target, np.nan))
        summary.coverage[target] = float(table.loc[target, "coverage_80"]["ours"])
        if "n" in table.columns.get_level_values(0):
            summary.rows[target] = int(table.loc[target, "n"]["ours"])
    return summary


def gap_goal_met(target: str, gap_closed: float) -> bool:
    return bool(np.isfinite(gap_closed) and gap_closed >= GAP_GOALS.get(target, np.inf))


def coverage_goal_met(coverage: float) -> bool:
    return bool(COVERAGE_GOAL[0] <= coverage <= COVERAGE_GOAL[1])


def print_goal_summary(summaries: Sequence[GoalSummary], goal_targets: Sequence[str]) -> None:
    """The table over families, seeds and targets; then per family and target how many runs met
    the gap goal, the coverage pooled over its seeds (weighted by rows) and the time goal."""
    targets = [t for t in goal_targets if any(t in s.ours for s in summaries)]
    print(
        "\n## goals per family, seed and target (gap closed = (best peer − ours) ÷ (best peer − "
        "floor); * = goal met)"
    )
    header = (
        f"{'family':<9} {'seed':>4} {'target':<16} {'best peer':>9} {'ours':>7} {'floor':>7} "
        f"{'gap closed':>11} {'goal':>5} {'ours/peer':>9} {'cov80':>7}"
    )
    print(header)
    print("-" * len(header))
    for s in summaries:
        for t in targets:
            if t not in s.ours:
                continue
            closed = s.gap_closed(t)
            mark = "*" if gap_goal_met(t, closed) else " "
            cover = "*" if coverage_goal_met(s.coverage[t]) else " "
            print(
                f"{s.preset:<9} {s.seed:>4} {t[:16]:<16} {s.best_peer[t]:>9.4f} "
                f"{s.ours[t]:>7.4f} {s.floor[t]:>7.4f} {closed:>10.2f}{mark} "
                f"{GAP_GOALS.get(t, np.nan):>5.2f} {s.ratio(t):>9.3f} {s.coverage[t]:>6.3f}{cover}"
            )
        ratio = s.time_ratio()
        print(
            f"{s.preset:<9} {s.seed:>4} fit + forecast: ours {s.seconds.get('ours', np.nan):.1f} s"
            f", mlforecast {s.seconds.get('mlforecast', np.nan):.1f} s, ratio {ratio:.2f}"
            + (f" (not judged: {s.time_caveat})" if s.time_caveat else " *" if ratio < 1 else "")
        )
    print("\nper family and target, over its seeds:")
    for family in dict.fromkeys(s.preset for s in summaries):
        runs = [s for s in summaries if s.preset == family]
        for t in targets:
            scored = [s for s in runs if t in s.ours]
            if not scored:
                continue
            met = sum(gap_goal_met(t, s.gap_closed(t)) for s in scored)
            weights = [s.rows.get(t, 1) for s in scored]
            pooled = float(np.average([s.coverage[t] for s in scored], weights=weights))
            oracle = [s.floor_coverage.get(t, np.nan) for s in scored]
            by_chance = (
                f"; the full-state oracle's, calibrated: "
                f"{float(np.average(oracle, weights=weights)):.3f}"
                if np.isfinite(oracle).all()
                else ""
            )
            gaps = [s.gap_closed(t) for s in scored]
            closed = np.nanmean(gaps) if np.isfinite(gaps).any() else np.nan
            print(
                f"  {family} {t}: gap goal met in {met} of {len(scored)} runs "
                # three digits and the verdict: 0.496 printed as 0.50 read as met
                f"(mean gap closed {closed:.3f}, goal {GAP_GOALS.get(t, np.nan):.3f}: "
                f"{'met' if gap_goal_met(t, closed) else 'missed'}); "
                f"80 % coverage pooled {pooled:.3f} "
                f"({'within' if coverage_goal_met(pooled) else 'outside'} "
                f"{COVERAGE_GOAL[0]}–{COVERAGE_GOAL[1]}{by_chance})"
            )
        timed = [s for s in runs if not s.time_caveat]
        fast = sum(s.time_ratio() < 1 for s in timed)
        print(
            f"  {family} time: ours under mlforecast's in {fast} of {len(timed)} runs timed "
            "together"
            + (
                f" ({len(runs) - len(timed)} not judged: mlforecast's seconds from the cache; "
                "benchmarks.bench_forecast_time times both together)"
                if len(timed) < len(runs)
                else ""
            )
        )
