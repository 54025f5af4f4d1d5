"""§ 31 / § 37 decisions and the shares of minority-language and low-income children.

Decisions are a birth–death process per kindergarten: a decision lasts on average
``duration`` months, ends when the child moves or leaves for school, and new ones arrive so that
the expected stock is the target prevalence × children. The prevalence rises over the years and
with the kindergarten's low-income share, times a local-practice propensity.
"""

from __future__ import annotations

import numpy as np

#: New decisions by month (Jan … Dec, mean 1): PPT assessments conclude mostly in autumn and
#: spring, few in summer.
NEW_DECISION_SEASON = np.array([1.1, 1.1, 1.1, 1.0, 1.0, 0.7, 0.4, 0.6, 1.2, 1.3, 1.3, 1.2])
NEW_DECISION_SEASON = NEW_DECISION_SEASON / NEW_DECISION_SEASON.mean()
#: Reference low-income share (about Oslo's child average) at which the prevalence is the base.
LOW_INCOME_REFERENCE = 0.15


def prevalence(
    level_2024: float,
    growth: float,
    years_since_2024: float,
    low_income: np.ndarray,
    low_income_effect: float,
    propensity: np.ndarray,
) -> np.ndarray:
    """Expected share of children with a decision: level_2024 · exp(growth · (year − 2024)) ·
    exp(effect · (low-income share − 0.15)) · propensity, capped at 40 %."""
    rate = level_2024 * np.exp(growth * years_since_2024)
    return np.minimum(
        rate * np.exp(low_income_effect * (low_income - LOW_INCOME_REFERENCE)) * propensity, 0.4
    )


def step_decisions(
    rng: np.random.Generator,
    active: np.ndarray,
    children: np.ndarray,
    share_leaving: np.ndarray,
    expected_share: np.ndarray,
    duration_months: float,
    month: int,
) -> np.ndarray:
    """One month of the decision stock ``active`` (returns the new stock).

    ``share_leaving`` is the share of last month's children who left this month (moves, school);
    their decisions end with them. Arrivals are Poisson with rate expected_share · children ·
    (season/duration + share_leaving): the season shapes when new decisions come, the second
    term replaces those that left, so the stock's equilibrium is expected_share · children.
    """
    ended = rng.binomial(active, 1.0 / duration_months)
    remaining = active - ended
    gone = rng.binomial(remaining, np.clip(share_leaving, 0.0, 1.0))
    remaining -= gone
    hazard = NEW_DECISION_SEASON[month - 1] / duration_months + share_leaving
    new = rng.poisson(expected_share * children * hazard)
    return np.minimum(remaining + new, children)


def drift_logit(
    rng: np.random.Generator,
    current: np.ndarray,
    base: np.ndarray,
    persistence: float,
    innovation_sd: float,
) -> np.ndarray:
    """A slowly drifting latent share on the logit scale, mean-reverting to ``base``."""
    return base + persistence * (current - base) + rng.normal(0.0, innovation_sd, len(current))


def observed_share(rng: np.random.Generator, logit: np.ndarray, children: np.ndarray) -> np.ndarray:
    """Share among the enrolled children: binomial(children, p) / children (p where none)."""
    prob = 1.0 / (1.0 + np.exp(-logit))
    count = rng.binomial(children, prob)
    return np.where(children > 0, count / np.maximum(children, 1), prob)
