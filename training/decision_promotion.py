"""Promotion that looks at decisions: a challenger that forecasts better but plans worse is not
promoted.

``train --promote-on-decisions`` runs, after the forecast comparison of
:mod:`training.promotion` says *promote*, the decision backtest (:mod:`training.decisions`) for
the challenger's and the champion's configurations on the same data, origins, policy and plan
settings (the champion's tuned plan defaults when it has them). The challenger keeps its
promotion only when its pooled realised regret is not higher than the champion's (plus
``tolerance``); otherwise it stays challenger and the reason names both regrets. A first model
(no champion) is promoted as before: there is nothing to compare its plans with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from data.contract import District
from training.decisions import (
    DEFAULT_DECISION_ORIGINS,
    DEFAULT_SCENARIO_ORIGINS,
    DecisionBacktest,
    DecisionPolicy,
    Planner,
    PlanSettings,
    decision_backtest,
)
from training.promotion import PromotionDecision

#: how much higher a challenger's regret may be and still count as planning as well
DEFAULT_REGRET_TOLERANCE = 0.0
DecisionCheck = Callable[[PromotionDecision, Any, Callable[[], Any]], PromotionDecision]


def _prefixed(
    progress: Callable[[str, int, int], None] | None, name: str
) -> Callable[[str, int, int], None] | None:
    """The progress callback with each message prefixed by the model's role."""
    if progress is None:
        return None
    report = progress

    def prefixed(text: str, done: int, total: int) -> None:
        report(f"{name}: {text}", done, total)

    return prefixed


def decide_on_decisions(
    decision: PromotionDecision,
    challenger: DecisionBacktest,
    champion: DecisionBacktest,
    *,
    tolerance: float = DEFAULT_REGRET_TOLERANCE,
) -> PromotionDecision:
    """Keep a forecast promotion only if the challenger's plans are not worse (module doc)."""
    if not decision.promote:
        return decision
    ours, theirs = challenger.overall_regret, champion.overall_regret
    origins = ", ".join(str(o) for o in challenger.origins)
    if ours != ours or theirs != theirs:  # undefined regret: nothing to judge plans by
        return replace(
            decision,
            reason=f"{decision.reason}; decision backtest undecided (the key was as good as "
            f"the oracle at origins {origins})",
        )
    if ours > theirs + tolerance:
        return replace(
            decision,
            promote=False,
            reason=f"forecasts better but plans worse: realised regret {ours:.3f} against the "
            f"champion's {theirs:.3f} on the decision backtest (origins {origins}); "
            f"forecast comparison: {decision.reason}",
        )
    return replace(
        decision,
        reason=f"{decision.reason}; and plans at least as well: realised regret {ours:.3f} "
        f"against the champion's {theirs:.3f} (origins {origins})",
    )


def plan_settings_of(model: Any) -> PlanSettings:
    """A loaded model's tuned plan settings, or the built-in defaults."""
    record = getattr(model, "plan_defaults", None)
    return PlanSettings.from_dict(record["settings"]) if record else PlanSettings()


def make_decision_check(
    district: District,
    planner: Planner,
    policy: DecisionPolicy,
    *,
    n_origins: int = DEFAULT_DECISION_ORIGINS,
    scenario_origins: int = DEFAULT_SCENARIO_ORIGINS,
    n_jobs: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    tolerance: float = DEFAULT_REGRET_TOLERANCE,
) -> DecisionCheck:
    """The check :func:`training.retrain.train_and_register` calls with (forecast decision,
    champion, challenger's pipeline factory)."""
    from sklearn.base import clone

    def check(
        decision: PromotionDecision, champion: Any, make_challenger: Callable[[], Any]
    ) -> PromotionDecision:
        settings = plan_settings_of(champion)
        runs = {}
        for name, make in (
            ("challenger", make_challenger),
            ("champion", lambda: clone(champion.pipeline)),
        ):
            runs[name] = decision_backtest(
                district,
                make,
                planner,
                policy,
                settings=settings,
                n_origins=n_origins,
                scenario_origins=scenario_origins,
                n_jobs=n_jobs,
                variants=False,
                progress=_prefixed(progress, name),
            )
        return decide_on_decisions(
            decision, runs["challenger"], runs["champion"], tolerance=tolerance
        )

    return check


__all__ = [
    "DEFAULT_REGRET_TOLERANCE",
    "DecisionCheck",
    "decide_on_decisions",
    "make_decision_check",
    "plan_settings_of",
]
