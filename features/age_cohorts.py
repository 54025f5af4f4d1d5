"""The children counts split into birth cohorts, estimated from the monthly totals alone.

The contract gives each kindergarten's children under and over 3, not their ages. Yet the age
rule moves whole cohorts at fixed months: every August the older of the two under-3 cohorts
becomes over 3 (DOMAIN.md: over 3 from August of the year a child turns 3), and in June–July the
oldest over-3 cohort leaves for school. How many cross and how many leave is decided by who
joined in earlier years, so a kindergarten that took in many one-year-olds two years ago loses
many under-3s next August, and one with a large oldest group loses many over-3s in July. The
pooled seasonal index of :mod:`features.intake` knows only the average of those moves.

:func:`age_cohort_estimate` runs the age rule forward over each kindergarten's history and
attributes every month's change of the totals to the cohorts:

- at August the cohorts move up one place (the older under-3 cohort into over 3, and the
  youngest starts empty), before the month's change is attributed;
- a rise is intake: under-3 joiners go to the older under-3 cohort at
  ``older_share_of_joiners`` (most children start as one-year-olds, DOMAIN.md: those who turn 1
  by the end of August have a right to a place) and the rest to the younger; over-3 joiners are
  spread evenly over the three over-3 cohorts (the data say nothing of their ages);
- a fall in June or July is first the oldest over-3 cohort leaving for school, and after July
  that cohort is empty (whatever the estimate still held there goes back to the others) —
  where the data show the school starters leave in the summer. Where they are still counted at
  the end of July and leave with the August shift instead (the June–July falls, pooled over
  kindergartens and summers so far, come to less than :data:`SUMMER_LEAVING_MIN_SHARE` of the
  oldest cohort), that cohort is kept to the shift, which drops it. The month settled on is
  :attr:`AgeCohortEstimate.leaving_month`. Assuming the summer where they leave with the shift
  put the over-3s staying after August a whole cohort too high, and the places free after it
  about 10 too low (capacity family, tuning seeds 1–3: mean error −10.0 places, 0.5 with the
  learned month);
- any other fall is children moving away, in proportion to the cohorts' sizes;
- with a ``reanchor_weight`` the crossing is re-anchored at each August: after the fact it shows
  in the over-3 change at the shift plus the school starters leaving with it (the oldest cohort
  held at the end of July), blurred by the over-3 intake of that August; less the mean gap
  between that observation and the estimate (pooled over kindergartens and Augusts so far), it
  moves the estimated crossing that far towards it. The children moved over the line are taken
  from the cohort that stays under 3, so next year's crossing starts from the corrected count.
  :func:`learned_age_cohort_estimate` learns the weight from the data: at each month it takes
  the candidate weight whose estimated crossings came closest to the observed ones so far.
  Against the simulators' true crossing (tuning seeds 1–3, every August from the third year)
  the July estimate was 1.90 children off on the capacity family and 1.66 re-anchored (the
  weight learned 0.2–0.5), while on the cohort family, whose large August over-3 intake hides
  the crossing, the weight learned stayed 0 (1.86 either way; a fixed 0.2 would give 1.77, but
  the observations there do not show it).

The state starts at each kindergarten's first month from ``initial_crossing_share`` of its
under-3s in the older cohort and its over-3s in equal thirds; errors in that start fade as the
cohorts move on (after three years every over-3 cohort has been rebuilt from observed changes).
A gap keeps the state as it was (the August move still happens) and the next month present
takes the whole change. Everything at month t is computed from months ≤ t: point-in-time.

Checked against the simulator's true cohorts (its ground truth, used only for this; SIMULATED
presets, seed 1, every year after the fourth): the estimated crossing at August correlates 0.87
with the true one on the city and the district, against 0.85 / 0.83 for a fixed share of July's
under-3s, with a mean error of 0.00 children; the oldest over-3 cohort estimated in April
correlates 0.90 / 0.92 with the children who leave for school in June–July, against 0.87 / 0.89
for a fixed share of April's over-3s, but runs 1.7 / 2.3 children high (of 12: the even spread
of over-3 joiners gives the oldest cohort more than it gets). A model that sees it learns the
offset; the correlation is the information.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Share of under-3 joiners in the older under-3 cohort (aged two in the autumn they join).
OLDER_SHARE_OF_JOINERS = 0.1
#: Share of a kindergarten's under-3s taken to be in the older cohort in its first month.
INITIAL_CROSSING_SHARE = 0.55
#: Cohort columns of the estimate: two under 3 (younger, older), three over 3 (youngest first).
YOUNGER_UNDER3, OLDER_UNDER3, YOUNGEST_OVER3, MIDDLE_OVER3, OLDEST_OVER3 = range(5)
AUGUST, JUNE, JULY = 8, 6, 7
#: The school starters leave in June–July (:data:`JULY`) when the over-3 falls of June and July,
#: pooled over kindergartens and summers so far, reach this share of the oldest cohort held before
#: June; else they are still counted at the end of July and leave with the August shift. A
#: district where they leave in the summer loses about all of that cohort then, one where they
#: leave with the shift only its summer moves (about a fifth on the capacity family).
SUMMER_LEAVING_MIN_SHARE = 0.5
#: Weights of the crossing observed at each August against the estimate, tried by
#: :func:`learned_age_cohort_estimate`.
REANCHOR_CANDIDATES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


@dataclass(frozen=True)
class AgeCohortEstimate:
    """The estimated cohorts and, per month, when the school starters leave as known then."""

    #: (n_kindergartens, n_months, 5) children per cohort at the end of each month
    cohorts: np.ndarray
    #: (n_months,) calendar month by whose end the next school starters have left: :data:`JULY`
    #: (they leave in June–July) or :data:`AUGUST` (they are still counted at the end of July
    #: and leave with the August shift)
    leaving_month: np.ndarray
    #: (n_months,) squared gap between the crossing observed at each August (the over-3 change
    #: plus the school starters leaving with the shift, less its mean gap so far) and the
    #: crossing estimated before it, summed over kindergartens and Augusts up to each month
    crossing_misfit: np.ndarray
    #: (n_months,) the re-anchoring weight in force at each month
    reanchor_weight: np.ndarray


def age_cohort_estimate(
    under3: np.ndarray,
    over3: np.ndarray,
    calendar_month: np.ndarray,
    *,
    older_share_of_joiners: float = OLDER_SHARE_OF_JOINERS,
    initial_crossing_share: float = INITIAL_CROSSING_SHARE,
    reanchor_weight: float | np.ndarray = 0.0,
) -> AgeCohortEstimate:
    """The estimated cohorts (``cohorts``: (n_kindergartens, n_months, 5) children per cohort at
    the end of each month, NaN where the month's counts are missing, columns as
    :data:`YOUNGER_UNDER3` … :data:`OLDEST_OVER3`; the two under-3 columns add up to ``under3``
    and the three over-3 ones to ``over3`` wherever both are present) and the school-leaving
    month settled on at each month.

    ``under3`` and ``over3``: (n_kindergartens, n_months) counts, NaN for a gap;
    ``calendar_month``: the calendar month (1–12) of each column."""
    return candidate_estimates(
        under3,
        over3,
        calendar_month,
        [reanchor_weight],
        older_share_of_joiners=older_share_of_joiners,
        initial_crossing_share=initial_crossing_share,
    )[0]


def learned_age_cohort_estimate(
    under3: np.ndarray,
    over3: np.ndarray,
    calendar_month: np.ndarray,
    *,
    candidate_weights: Sequence[float] | None = None,
) -> AgeCohortEstimate:
    """:func:`age_cohort_estimate` re-anchored at each August by the weight the data so far
    support: one estimate per candidate weight, and at each month the one whose crossings came
    closest to the crossings observed at the Augusts up to then (the least
    :attr:`AgeCohortEstimate.crossing_misfit`; the first candidate on a tie). Point-in-time: every
    candidate's estimate at t reads months ≤ t, and so does its misfit. ``candidate_weights``:
    :data:`REANCHOR_CANDIDATES` unless given.

    The result is remembered for the last few distinct inputs (keyed by their content) and its
    arrays are read-only: one fit asks for the same counts' estimate from the feature table,
    from the horizon frames and again at predict, and it is the costliest feature there is.
    Trailing months where no kindergarten has either count (the horizon frames' grid runs a few
    months, or a forecast's horizon, past the last data) change nothing that is read unless the
    last month read is a June and a July follows: they are carried on from the months before,
    so the table's and the frames' grids share one estimate."""
    under3 = np.asarray(under3, dtype=np.float64)
    over3 = np.asarray(over3, dtype=np.float64)
    calendar_month = np.asarray(calendar_month, dtype=np.int64)
    weights = tuple(REANCHOR_CANDIDATES if candidate_weights is None else candidate_weights)
    # (an August reads the over-3 count even where the under-3 one is missing)
    seen = np.flatnonzero((~np.isnan(under3) | ~np.isnan(over3)).any(axis=0))
    n_months = under3.shape[1]
    n_read = int(seen[-1]) + 1 if len(seen) else n_months
    if (
        0 < n_read < n_months
        and calendar_month[n_read - 1] == JUNE
        and (calendar_month[n_read:] == JULY).any()
    ):
        # at an empty July the leaving month is settled again from the summer's falls so far,
        # which the June read last has changed: estimated through, not carried on. After any
        # other last month those falls are the ones the last July read settled it on, so the
        # empty July settles it where it is.
        n_read = n_months
    estimate = _remembered_estimate(
        under3[:, :n_read], over3[:, :n_read], calendar_month[:n_read], weights
    )
    if n_read == n_months:
        return estimate
    return _after_unseen_months(estimate, n_months)


def _after_unseen_months(estimate: AgeCohortEstimate, n_months: int) -> AgeCohortEstimate:
    """``estimate`` carried on to ``n_months`` months through months where no kindergarten has
    either count and no July: no cohort is written (NaN), no August crossing is observed nor
    moved by re-anchoring, and the leaving month is not settled again, so the misfits, the
    choice among candidates and the leaving month stay those of the last month read."""
    n_k, n_read, n_cohorts = estimate.cohorts.shape
    cohorts = np.full((n_k, n_months, n_cohorts), np.nan)
    cohorts[:, :n_read] = estimate.cohorts
    extra = n_months - n_read
    return AgeCohortEstimate(
        cohorts,
        np.concatenate([estimate.leaving_month, np.repeat(estimate.leaving_month[-1:], extra)]),
        np.concatenate([estimate.crossing_misfit, np.repeat(estimate.crossing_misfit[-1:], extra)]),
        np.concatenate([estimate.reanchor_weight, np.repeat(estimate.reanchor_weight[-1:], extra)]),
    )


def _remembered_estimate(
    under3: np.ndarray, over3: np.ndarray, calendar_month: np.ndarray, weights: Sequence[float]
) -> AgeCohortEstimate:
    """:func:`_learned_estimate`, remembered for the last :data:`_LEARNED_ESTIMATES_KEPT`
    inputs, read-only."""
    key = _content_key(under3, over3, calendar_month, np.asarray(weights, dtype=np.float64))
    with _LEARNED_LOCK:
        if key in _LEARNED_ESTIMATES:
            _LEARNED_ESTIMATES.move_to_end(key)
            return _LEARNED_ESTIMATES[key]
    estimate = _learned_estimate(under3, over3, calendar_month, weights)
    for values in (estimate.cohorts, estimate.leaving_month, estimate.crossing_misfit):
        values.setflags(write=False)
    estimate.reanchor_weight.setflags(write=False)
    with _LEARNED_LOCK:
        _LEARNED_ESTIMATES[key] = estimate
        while len(_LEARNED_ESTIMATES) > _LEARNED_ESTIMATES_KEPT:
            _LEARNED_ESTIMATES.popitem(last=False)
    return estimate


#: distinct inputs whose learned estimate is remembered (a fit and its predict need one; a
#: backtest's folds each their own, one after another)
_LEARNED_ESTIMATES_KEPT = 2
_LEARNED_ESTIMATES: OrderedDict[bytes, AgeCohortEstimate] = OrderedDict()
_LEARNED_LOCK = threading.Lock()


def forget_learned_estimates() -> None:
    """Forget every remembered learned estimate: the next fit computes its own, as a fit on new
    data would (benchmarks time repeated fits on the same data with it)."""
    with _LEARNED_LOCK:
        _LEARNED_ESTIMATES.clear()


#: candidates' cohorts (bytes) kept from the first pass instead of run again for the months
#: they are chosen at: a district's are well under a megabyte each, the nation's tens
_KEEP_CANDIDATES_BYTES = 64 * 2**20


def _content_key(*arrays: np.ndarray) -> bytes:
    """A digest of the arrays' shapes, types and values."""
    digest = hashlib.blake2b(digest_size=32)
    for values in arrays:
        digest.update(repr((values.shape, values.dtype.str)).encode())
        digest.update(np.ascontiguousarray(values).tobytes())
    return digest.digest()


def _learned_estimate(
    under3: np.ndarray,
    over3: np.ndarray,
    calendar_month: np.ndarray,
    candidate_weights: Sequence[float],
) -> AgeCohortEstimate:
    """:func:`learned_age_cohort_estimate`, computed."""
    # the candidates' runs are kept for the months they are chosen at while they fit in
    # _KEEP_CANDIDATES_BYTES, and then run side by side in one pass; past that, one at a time,
    # only their misfits kept, and the chosen ones run again
    runs: list[AgeCohortEstimate | None] = []
    if len(candidate_weights) * under3.size * 5 * 8 <= _KEEP_CANDIDATES_BYTES:
        runs = list(candidate_estimates(under3, over3, calendar_month, candidate_weights))
        misfit_rows = [run.crossing_misfit for run in runs if run is not None]
    else:
        misfit_rows, kept_bytes = [], 0
        for w in candidate_weights:
            run = age_cohort_estimate(under3, over3, calendar_month, reanchor_weight=w)
            misfit_rows.append(run.crossing_misfit)
            kept_bytes += run.cohorts.nbytes
            runs.append(run if kept_bytes <= _KEEP_CANDIDATES_BYTES else None)
    misfits = np.stack(misfit_rows)
    best = np.argmin(misfits, axis=0)
    weights = np.asarray(candidate_weights, dtype=np.float64)[best]
    if not len(best):  # no months: nothing to choose
        return age_cohort_estimate(under3, over3, calendar_month)
    chosen: AgeCohortEstimate | None = None
    for i in np.unique(best):
        run = runs[i] or age_cohort_estimate(
            under3, over3, calendar_month, reanchor_weight=candidate_weights[i]
        )
        if chosen is None:
            chosen = AgeCohortEstimate(
                run.cohorts.copy(),
                run.leaving_month.copy(),
                run.crossing_misfit,
                run.reanchor_weight,
            )
        keep = best == i
        chosen.cohorts[:, keep] = run.cohorts[:, keep]
        chosen.leaving_month[keep] = run.leaving_month[keep]
    assert chosen is not None
    months = np.arange(misfits.shape[1])
    return AgeCohortEstimate(chosen.cohorts, chosen.leaving_month, misfits[best, months], weights)


def candidate_estimates(
    under3: np.ndarray,
    over3: np.ndarray,
    calendar_month: np.ndarray,
    candidate_weights: Sequence[float | np.ndarray],
    *,
    older_share_of_joiners: float = OLDER_SHARE_OF_JOINERS,
    initial_crossing_share: float = INITIAL_CROSSING_SHARE,
) -> list[AgeCohortEstimate]:
    """:func:`age_cohort_estimate` for each re-anchoring weight of ``candidate_weights`` (a
    number, or one per month), in one pass over the months: each step runs once on all
    candidates, which never mix (six runs one by one paid six times numpy's per-call overhead on
    a district's few dozen kindergartens). :func:`age_cohort_estimate` is the one-candidate
    case."""
    under3 = np.asarray(under3, dtype=np.float64)
    over3 = np.asarray(over3, dtype=np.float64)
    n_c, (n_k, n_m) = len(candidate_weights), under3.shape
    out = np.full((n_c, n_k, n_m, 5), np.nan)
    leaving_month = np.full((n_c, n_m), JULY, dtype=np.int64)
    state = np.full((n_c, n_k, 5), np.nan)
    weights = np.stack(
        [np.broadcast_to(np.asarray(w, dtype=np.float64), (n_m,)) for w in candidate_weights]
    )
    summer_fall, oldest_before_june = np.zeros(n_c), np.zeros(n_c)
    leaves_in_summer = np.ones(n_c, dtype=bool)
    # the observed crossing less the estimate, summed over kindergartens and Augusts up to t
    observed_less_estimate, n_observed, misfit = np.zeros(n_c), 0, np.zeros(n_c)
    crossing_misfit = np.zeros((n_c, n_m))
    under3_joiners = np.array([1 - older_share_of_joiners, older_share_of_joiners])
    # June–July falls taken from the oldest cohort, and that cohort before June, pooled over
    # kindergartens and summers up to t: the share of school starters gone by the end of July

    def sums(values: np.ndarray) -> np.ndarray:  # each row as a run sums it (an axis: other order)
        return np.array([float(row.sum()) for row in values])

    def attribute(cohorts: np.ndarray, total: np.ndarray, joiner_weights: np.ndarray) -> np.ndarray:
        n, rows, k = cohorts.shape
        flat = _attribute(cohorts.reshape(n * rows, k), np.tile(total, n), joiner_weights)
        return flat.reshape(n, rows, k)

    for t in range(n_m):
        month = int(calendar_month[t])
        u, o = under3[:, t], over3[:, t]
        seen = ~np.isnan(u) & ~np.isnan(o)
        start = seen & np.isnan(state[0, :, 0])  # the same in every candidate
        if month == AUGUST:
            live = ~np.isnan(state[0, :, 0])
            estimated = state[:, live, OLDER_UNDER3].copy()
            observed = (
                o[live][None, :]
                - state[:, live, YOUNGEST_OVER3:].sum(axis=2)
                + state[:, live, OLDEST_OVER3]
            )
            state[:, live, 1:] = state[:, live, :-1]
            state[:, live, YOUNGER_UNDER3] = 0.0
            known = ~np.isnan(o[live])
            observed_less_estimate += sums(observed[:, known] - estimated[:, known])
            n_observed += int(known.sum())
            if n_observed:
                debiased = observed - (observed_less_estimate / n_observed)[:, None]
                misfit += sums((debiased - estimated)[:, known] ** 2)
                moving = weights[:, t] > 0
                if moving.any():
                    moving_state, before = state[moving], estimated[moving]
                    crossing = np.clip(
                        before + weights[moving, t][:, None] * (debiased[moving] - before),
                        0.0,
                        before + moving_state[:, live, OLDER_UNDER3],
                    )
                    moved = np.where(known[None, :], crossing - before, 0.0)
                    moving_state[:, live, OLDER_UNDER3] -= moved
                    moving_state[:, live, YOUNGEST_OVER3] += moved
                    state[moving] = moving_state
        state[:, start, YOUNGER_UNDER3] = u[start] * (1 - initial_crossing_share)
        state[:, start, OLDER_UNDER3] = u[start] * initial_crossing_share
        state[:, start, YOUNGEST_OVER3:] = (o[start] / 3.0)[None, :, None]
        update = seen & ~start
        state[:, update, :2] = attribute(state[:, update, :2], u[update], under3_joiners)
        over = state[:, update, 2:]
        if month in (JUNE, JULY):
            # school leavers first: a fall is taken from the oldest cohort as far as it goes
            if month == JUNE:
                oldest_before_june += sums(over[:, :, 2])
            fall = np.maximum(over.sum(axis=2) - o[update][None, :], 0.0)
            leaving = np.minimum(fall, over[:, :, 2])
            summer_fall += sums(leaving)
            over[:, :, 2] -= leaving
        over = attribute(over, o[update], np.full(3, 1.0 / 3.0))
        if month == JULY:
            leaves_in_summer = (oldest_before_june <= 0) | (
                summer_fall >= SUMMER_LEAVING_MIN_SHARE * oldest_before_june
            )
            if leaves_in_summer.any():
                # every school starter has left by the end of July: what the oldest cohort
                # still holds was misattributed, and goes to the two younger ones in proportion
                gone = over[leaves_in_summer]
                gone[:, :, :2] = attribute(gone[:, :, :2], o[update], np.full(2, 0.5))
                gone[:, :, 2] = 0.0
                over[leaves_in_summer] = gone
        state[:, update, 2:] = over
        out[:, seen, t] = state[:, seen]
        leaving_month[:, t] = np.where(leaves_in_summer, JULY, AUGUST)
        crossing_misfit[:, t] = misfit
    return [
        AgeCohortEstimate(out[c], leaving_month[c], crossing_misfit[c], weights[c].copy())
        for c in range(n_c)
    ]


def _attribute(cohorts: np.ndarray, total: np.ndarray, joiner_weights: np.ndarray) -> np.ndarray:
    """``cohorts`` (rows × cohorts) changed so that each row sums to ``total``: a rise is spread
    by ``joiner_weights``, a fall in proportion to the cohorts (evenly where all are empty)."""
    current = cohorts.sum(axis=1)
    change = total - current
    rise = np.maximum(change, 0.0)[:, None] * joiner_weights[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(current[:, None] > 0, cohorts / current[:, None], 1.0 / cohorts.shape[1])
    fall = np.maximum(-change, 0.0)[:, None] * share
    return np.maximum(cohorts + rise - fall, 0.0)


def months_until(calendar_month: np.ndarray, month: int | np.ndarray) -> np.ndarray:
    """Months from each origin's calendar month to the next ``month`` strictly after it (1–12);
    ``month`` may be one per origin."""
    return (np.asarray(month) - np.asarray(calendar_month) - 1) % 12 + 1


def leaving_cohort(calendar_month: np.ndarray, leaving_month: int | np.ndarray) -> np.ndarray:
    """Per origin, the cohort that leaves for school next: the oldest over-3 cohort, or the middle
    one where the next August comes before the next leaving month (the oldest has left, and the
    middle one becomes oldest at that August)."""
    to_august = months_until(calendar_month, AUGUST)
    return np.where(
        to_august < months_until(calendar_month, leaving_month), MIDDLE_OVER3, OLDEST_OVER3
    )


def cohort_moves_ahead(
    cohorts: np.ndarray,
    calendar_month: np.ndarray,
    horizon: int,
    leaving_month: int | np.ndarray = JULY,
) -> tuple[np.ndarray, np.ndarray]:
    """(crossing, school leavers): per (kindergarten, origin t), the estimated children who
    cross from under to over 3 at an August in (t, t + horizon] and who leave for school by the
    end of a ``leaving_month`` in it (0 where none falls in the span), from the cohorts at t;
    ``leaving_month`` as :attr:`AgeCohortEstimate.leaving_month` (one per origin) or one month.
    Horizons up to 12 months hold at most one of each. Where they leave by July, from an origin
    in July the July ahead is a year on, after an August, so its leavers are the middle over-3
    cohort of today; where they leave with the August shift, it is always the oldest."""
    calendar_month = np.asarray(calendar_month)
    to_august = months_until(calendar_month, AUGUST)
    to_leaving = months_until(calendar_month, leaving_month)
    crossing = np.where((to_august <= horizon)[None, :], cohorts[:, :, OLDER_UNDER3], 0.0)
    leaving = leaving_cohort(calendar_month, leaving_month)
    leavers = np.take_along_axis(
        cohorts, np.broadcast_to(leaving[None, :, None], (*cohorts.shape[:2], 1)), axis=2
    )[:, :, 0]
    leavers = np.where((to_leaving <= horizon)[None, :], leavers, 0.0)
    return crossing, leavers
