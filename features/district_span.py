"""What the same calendar span did to a count across the whole district in past years, as known at
each month (§ 31 decisions).

A stock of decisions changes with the year as a district: new decisions come mostly in the
autumn, and decisions end with the children who leave for school in the summer. One
kindergarten's few decisions show that pattern through their noise; the district's sum shows it
clearly. At origin t and horizon h, from values up to t only:

    ratio[t, h] = Σ_j Σ_k y(k, t + h − 12·j) / Σ_j Σ_k y(k, t − 12·j)

over the past years j = 1 … ``years`` whose span (t − 12·j, t + h − 12·j] ended by t, and the
kindergartens with a value at both ends of a span (a kindergarten that opened or closed in it
would read as growth or decline). ``y(t) · ratio`` is then a projection of y(t + h); NaN where no
past span is complete or the district held no decisions at its start.
"""

from __future__ import annotations

import numpy as np

MONTHS_PER_YEAR = 12
#: Past years in the ratio: two weigh the span twice and follow a changing trend.
SPAN_YEARS = 2


def district_span_ratio(y: np.ndarray, horizon: int, *, years: int = SPAN_YEARS) -> np.ndarray:
    """(n_months,) ``ratio[t, horizon]`` of the module docstring for a kindergarten × month grid
    ``y`` (NaN where unknown)."""
    n_months = y.shape[1]
    start_sum = np.zeros(n_months)
    end_sum = np.zeros(n_months)
    spans = np.zeros(n_months)
    first_year = -(-horizon // MONTHS_PER_YEAR)  # the span must have ended by t
    for j in range(first_year, first_year + years):
        back = MONTHS_PER_YEAR * j
        if back >= n_months:
            break
        start = y[:, : n_months - back]  # y(t − 12j) for t = back … n_months − 1
        end = y[:, horizon : n_months - back + horizon]  # y(t + h − 12j), ≤ t as h ≤ 12j
        both = ~np.isnan(start) & ~np.isnan(end)
        start_sum[back:] += np.where(both, start, 0.0).sum(axis=0)
        end_sum[back:] += np.where(both, end, 0.0).sum(axis=0)
        spans[back:] += both.any(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((spans > 0) & (start_sum > 0), end_sum / start_sum, np.nan)
