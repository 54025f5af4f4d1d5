"""What the same calendar span did to a stock of decisions across the whole district in past years,
as known at each month (§ 31 decisions).

A stock of decisions changes with the year as a district: new decisions come mostly in the
autumn, and decisions end with the children who leave for school in the summer. One
kindergarten's few decisions show that pattern through their noise; the district's rows show it
clearly. At origin t and horizon h, from values up to t only, :func:`stock_flow_coefficients`
fits how much of a kindergarten's stock stays over the span and how many new decisions its
long-run level brings, on the same calendar span of past years; the projection
survival · y(t) + arrivals · level(t) then forecasts y(t + h) from the stock now and the
kindergarten's own rate, so a kindergarten with no decisions today is not forecast none for
ever.
"""

from __future__ import annotations

import numpy as np

MONTHS_PER_YEAR = 12
#: Past years in the fit by default: two weigh the span twice and follow a changing trend.
SPAN_YEARS = 2


#: Fewest (kindergarten, past year) pairs behind a stock-flow fit at an origin.
MIN_STOCK_FLOW_PAIRS = 20


def stock_flow_coefficients(
    y: np.ndarray, level: np.ndarray, horizon: int, *, years: int = SPAN_YEARS
) -> tuple[np.ndarray, np.ndarray]:
    """(n_months,) ``survival`` and ``arrivals`` at each origin t: the least-squares fit, without
    intercept and pooled over kindergartens, of

        y(k, s + h) ≈ survival · y(k, s) + arrivals · level(k, s)

    over the starts s = t − 12·j of the past years j = 1 … ``years`` whose span (s, s + h] ended by
    t, rows with all three values known. A stock of decisions keeps a share of what it holds
    (decisions end, and leave with children who go to school) and takes in new ones at a rate set
    by the kindergarten (its ``level``: its long-run mean stock); the same calendar span says how
    much of each, the district's sum showing the season that one kindergarten's few decisions
    hide. NaN where fewer than :data:`MIN_STOCK_FLOW_PAIRS` rows are complete or the fit is
    singular. Point-in-time when ``level`` is: the fit at t reads months ≤ t only."""
    n_months = y.shape[1]
    # sums of the normal equations per origin: [aa, ab, bb, ac, bc, pairs]
    sums = np.zeros((6, n_months))
    first_year = -(-horizon // MONTHS_PER_YEAR)  # the span must have ended by t
    for j in range(first_year, first_year + years):
        back = MONTHS_PER_YEAR * j
        if back >= n_months:
            break
        a = y[:, : n_months - back]  # y(s) for t = back … n_months − 1
        b = level[:, : n_months - back]
        c = y[:, horizon : n_months - back + horizon]  # y(s + h), ≤ t as h ≤ 12j
        known = ~np.isnan(a) & ~np.isnan(b) & ~np.isnan(c)
        a, b, c = (np.where(known, v, 0.0) for v in (a, b, c))
        products = (a * a, a * b, b * b, a * c, b * c, known.astype(np.float64))
        for row, product in enumerate(products):
            sums[row, back:] += product.sum(axis=0)
    aa, ab, bb, ac, bc, pairs = sums
    det = aa * bb - ab * ab
    solvable = (pairs >= MIN_STOCK_FLOW_PAIRS) & (det > 1e-9 * np.maximum(aa * bb, 1.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        survival = np.where(solvable, (ac * bb - bc * ab) / det, np.nan)
        arrivals = np.where(solvable, (bc * aa - ac * ab) / det, np.nan)
    return survival, arrivals
