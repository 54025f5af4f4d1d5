"""The point-in-time kindergarten × month feature table.

One row per (kindergarten_id, month) present in ``District.monthly`` — a gap stays a gap, no row
is invented — with the current values of the monthly columns and features computed from them.
Every feature at month t uses only data observed at months ≤ t, except the *known-future* ones
(prefix :data:`~data.contract.KNOWN_FUTURE_PREFIX`): the calendar of the kindergarten year,
the August shift and the population table with its projections, which are known for any month and
can be asked for a target month ahead with :func:`known_future_features`.

Feature families (``{c}`` a monthly column, ``{k}`` a lag, ``{w}`` a window in months):
- ``{c}_lag{k}``: value k calendar months before (NaN across a gap), for the targets and the
  waiting list; ``{c}_mean_{w}m``: mean over months t−w+1 … t, ignoring gaps;
- ``months_observed``: rows of this kindergarten up to t (history length);
- capacity: ``capacity``, ``places_used`` (2·U3 + O3, places in over-3 equivalents),
  ``capacity_headroom_places`` (capacity − places used), ``capacity_utilisation``;
- cohorts: ``u3_crossing_next_august`` = ``known_u3_crossing_share`` × children under 3 at t
  (see :mod:`features.cohorts`);
- the August intake mechanism (:mod:`features.intake_mechanism`): places free after the next
  August shift, the estimated cohorts crossing and leaving, last August's intake and how full
  the kindergarten ran, the waiting list at the application deadline;
- rates: ``vedtak_31_per_child``, ``vedtak_37_per_child``, ``waiting_list_per_place``;
- staffing: ``staff_norm_fte`` ((2·U3 + O3)/6), ``pedagogue_norm_positions``
  (ceil((2·U3 + O3)/14)), ``staff_fte_minus_norm``, ``staff_fte_per_norm``,
  ``pedagogue_fte_minus_norm``, ``effective_staff_fte`` (staff FTE × (1 − sick-leave rate)),
  ``effective_staff_fte_minus_norm``;
- turnover: ``turnover_per_fte_year_{w}m`` = 12 × mean monthly leavers / mean staff FTE over the
  window (annualised leavers per staff FTE, robust to gaps);
- district aggregates at t (:mod:`features.aggregates`);
- known-future: calendar (:mod:`features.calendar`) and population (:mod:`features.cohorts`).

Features of an optional column that the data set lacks are left out rather than filled in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from data.contract import (
    DISTRICT,
    KINDERGARTEN_ID,
    KNOWN_FUTURE_PREFIX,
    MONTH,
    TARGETS,
    District,
)
from data.errors import DataContractError, Problem
from data.lineage import publication
from features.aggregates import district_aggregates
from features.availability import as_known, known_quality
from features.calendar import MONTH_DTYPE, kindergarten_year_calendar, month_ordinals
from features.cohorts import population_features
from features.intake_mechanism import intake_mechanism_features
from features.lags import CalendarGrid, lag_feature_arrays

#: Monthly columns kept as current values (those present in the data), in contract order.
MONTHLY_VALUE_COLUMNS = (
    "children_under3",
    "children_over3",
    "waiting_list",
    "vedtak_31",
    "vedtak_37",
    "minority_language_share",
    "low_income_share",
    "staff_fte",
    "pedagogue_fte",
    "resource_pedagogue_fte",
    "sick_leave_rate",
    "staff_leavers",
)
REQUIRED_MONTHLY = ("children_under3", "children_over3", "staff_fte", "pedagogue_fte")
#: Columns that get calendar lags and rolling means: every target, and the waiting list.
LAGGED_COLUMNS = (*TARGETS, "waiting_list")
#: Children per staff FTE (places in over-3 equivalents) and per pedagogue (DOMAIN.md norms).
PLACES_PER_STAFF_FTE = 6.0
PLACES_PER_PEDAGOGUE = 14.0

#: The as-known twin of a column that is published late or for a coarser period than a month.
KNOWN_SUFFIX = "_known_at_t"
#: Latest known value of a quality indicator (CONTRACT.md quality table), per indicator.
QUALITY_PREFIX = "quality_"
#: Quality indicators used as features by default: those that improved the backtests
#: (benchmarks/README.md, "Quality indicators as features").
QUALITY_FEATURES: tuple[str, ...] = ()

_KEY_COLUMNS = (KINDERGARTEN_ID, MONTH)
_ID_COLUMNS = (KINDERGARTEN_ID, MONTH, DISTRICT)
#: The feature table's lags and rolling-mean windows (months) unless a caller asks for others.
DEFAULT_LAGS: tuple[int, ...] = (1, 2, 3, 6, 12)
DEFAULT_WINDOWS: tuple[int, ...] = (3, 12)


def build_feature_table(
    district: District,
    *,
    lags: Sequence[int] = DEFAULT_LAGS,
    windows: Sequence[int] = DEFAULT_WINDOWS,
    quality_indicators: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Point-in-time feature table: one row per (kindergarten_id, month) in ``district.monthly``.

    Sorted by (kindergarten_id, month), with a fresh RangeIndex. Keys ``kindergarten_id`` (str)
    and ``month`` (Period[M]), ``district`` (str), the current monthly values (float64) and the
    features (float32, calendar as small ints). Raises :class:`DataContractError` if a required
    column is missing or a monthly row names an unknown kindergarten; ValueError if a lag or
    window is not a whole number of months ≥ 1 (repeated ones are used once).
    """
    return _feature_table(
        district,
        lags=lags,
        windows=windows,
        quality_indicators=quality_indicators,
        known_of_rows=lambda ids, ordinals: _known_columns(district, ids, ordinals),
    )


def feature_table_and_known_grid(
    district: District, *, months_ahead: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`build_feature_table` (default lags and windows) and the known-future columns of
    every kindergarten of the table × every month from the table's first to ``months_ahead``
    months past its last: keys ``kindergarten_id`` (sorted) and ``month``, kindergarten-major,
    as :func:`known_future_features` gives them. The table's own known-future columns are that
    grid's rows, taken rather than computed a second time (the population lookup ran twice in
    every fit, before any booster could start)."""
    grid_known: list[pd.DataFrame] = []

    def known_of_rows(ids: pd.Series, ordinals: np.ndarray) -> pd.DataFrame:
        kindergartens = np.array(sorted(ids.unique()), dtype=object)
        first = int(ordinals.min()) if len(ordinals) else 0
        last = district.monthly[MONTH].max()
        months = pd.period_range(pd.Period("1970-01", freq="M") + first, last + months_ahead)
        # every kindergarten × month, kindergarten-major, built from arrays (a nation's grid is
        # 700,000 cells: one Python object each was a second of every fit)
        keys = pd.DataFrame(
            {
                KINDERGARTEN_ID: np.repeat(kindergartens, len(months)),
                MONTH: months[np.tile(np.arange(len(months)), len(kindergartens))],
            }
        )
        known = known_future_features(district, keys)
        grid_known.append(known)
        # each row's kindergarten found among the few distinct ones, not row by row
        codes, distinct = pd.factorize(ids)
        place = np.searchsorted(kindergartens, np.asarray(distinct, dtype=object))
        rows = place[codes] * len(months) + (ordinals - first)
        return pd.DataFrame(
            {c: known[c].to_numpy()[rows] for c in known.columns if c not in _KEY_COLUMNS}
        )

    table = _feature_table(
        district,
        lags=DEFAULT_LAGS,
        windows=DEFAULT_WINDOWS,
        quality_indicators=None,
        known_of_rows=known_of_rows,
    )
    return table, grid_known[0]


def _feature_table(
    district: District,
    *,
    lags: Sequence[int],
    windows: Sequence[int],
    quality_indicators: Sequence[str] | None,
    known_of_rows: Callable[[pd.Series, np.ndarray], pd.DataFrame],
) -> pd.DataFrame:
    """:func:`build_feature_table`, its known-future columns for rows (ids, month ordinals) from
    ``known_of_rows``."""
    lags, windows = _months_list(lags, "lag"), _months_list(windows, "window")
    monthly = district.monthly
    _check_inputs(district, monthly)
    monthly = monthly.sort_values(list(_KEY_COLUMNS), kind="stable").reset_index(drop=True)
    ids = monthly[KINDERGARTEN_ID].astype(str)
    months = monthly[MONTH].astype(MONTH_DTYPE)
    ordinals = month_ordinals(months)
    present = [c for c in MONTHLY_VALUE_COLUMNS if c in monthly.columns]

    kindergartens = district.kindergartens.assign(
        **{KINDERGARTEN_ID: district.kindergartens[KINDERGARTEN_ID].astype(str)}
    ).set_index(KINDERGARTEN_ID)
    base = pd.DataFrame(
        {
            KINDERGARTEN_ID: ids.to_numpy(dtype=object),
            MONTH: months.array,
            DISTRICT: ids.map(kindergartens[DISTRICT].astype(str)).to_numpy(dtype=object),
        }
    )
    values = {
        c: pd.to_numeric(monthly[c], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        for c in present
    }
    grid = CalendarGrid.from_frame(base, id_col=KINDERGARTEN_ID, month_col=MONTH)
    # Features see each column as it was known at t (coarse and lagged sources, see
    # features.availability); the current values stay in the table as they are (targets).
    publications = {c: publication(district.lineage, "monthly", c) for c in present}
    known_values = {c: as_known(values[c], grid, ordinals, publications[c]) for c in present}
    held_back = {
        f"{c}{KNOWN_SUFFIX}": known_values[c] for c in present if not publications[c].is_immediate
    }
    capacity = ids.map(pd.to_numeric(kindergartens["capacity"], errors="coerce")).to_numpy(
        dtype=np.float64, na_value=np.nan
    )

    lagged = [c for c in LAGGED_COLUMNS if c in values]
    history = lag_feature_arrays(
        pd.DataFrame(
            {
                KINDERGARTEN_ID: base[KINDERGARTEN_ID],
                MONTH: base[MONTH],
                **{c: known_values[c] for c in lagged},
            }
        ),
        lagged,
        lags=lags,
        windows=windows,
        id_col=KINDERGARTEN_ID,
        month_col=MONTH,
        grid=grid,
    )
    observed, _ = grid.window_sum_count(grid.dense(np.ones(len(base))), max(grid.n_months, 1))
    known = known_of_rows(ids, ordinals)
    derived = _derived_features(known_values, capacity, known, grid, windows)
    aggregates = district_aggregates(
        pd.DataFrame({DISTRICT: base[DISTRICT], MONTH: ordinals, **known_values}),
        district_col=DISTRICT,
        month_col=MONTH,
    )
    counts: dict[str, np.ndarray] = {
        c: values[c] for c in ("children_under3", "children_over3", "waiting_list") if c in values
    }
    mechanism = intake_mechanism_features(
        pd.DataFrame(
            {KINDERGARTEN_ID: base[KINDERGARTEN_ID], MONTH: base[MONTH], "capacity": capacity}
            | counts
        ),
        id_col=KINDERGARTEN_ID,
        month_col=MONTH,
        under3_col="children_under3",
        over3_col="children_over3",
        capacity_col="capacity",
        waiting_list_col="waiting_list" if "waiting_list" in values else None,
        grid=grid,
    )
    features = {"months_observed": observed.astype(np.int32), **history, **derived}
    features |= {c: mechanism[c].to_numpy() for c in mechanism.columns}
    features |= {c: v.astype(np.float32) for c, v in held_back.items()}
    if quality_indicators is None:  # read at call time: benchmarks/quality_features.py sets it
        quality_indicators = QUALITY_FEATURES
    if district.quality is not None and quality_indicators:
        present_indicators = [
            i for i in quality_indicators if i in set(district.quality["indicator"])
        ]
        quality = known_quality(
            district.quality, district.lineage, present_indicators, ids.to_numpy(), ordinals
        )
        features |= {f"{QUALITY_PREFIX}{i}": v.astype(np.float32) for i, v in quality.items()}
    features |= {c: aggregates[c].to_numpy() for c in aggregates.columns}
    features |= {c: known[c].to_numpy() for c in known.columns}
    frames = [base, _block_frame(values, np.float64), *_frames_by_dtype(features)]
    # copy=False keeps the blocks as built (the default would copy every one once more); the
    # stubs mark the argument deprecated, pandas 2.3 honours it.
    return pd.concat(frames, axis=1, copy=False)  # type: ignore[call-overload]


def _frames_by_dtype(columns: dict[str, np.ndarray]) -> list[pd.DataFrame]:
    """One frame per dtype (float32 first), each over a single 2-D block (see
    :func:`_block_frame`)."""
    by_dtype: dict[np.dtype, dict[str, np.ndarray]] = {}
    for name, array in columns.items():
        by_dtype.setdefault(array.dtype, {})[name] = array
    order = sorted(by_dtype, key=lambda dtype: (dtype != np.float32, dtype.kind, dtype.itemsize))
    return [_block_frame(by_dtype[dtype], dtype) for dtype in order]


def _block_frame(columns: dict[str, np.ndarray], dtype: type | np.dtype) -> pd.DataFrame:
    """A frame over one (n_columns, n_rows) block, filled column by column.

    Building a frame from a dict of ~100 columns makes pandas stack and then reorder them (two
    full copies, about half the build time on the nation preset); one pre-allocated block is one
    copy and no consolidation."""
    n_rows = len(next(iter(columns.values()))) if columns else 0
    block = np.empty((len(columns), n_rows), dtype=dtype)
    for i, array in enumerate(columns.values()):
        block[i] = array
    return pd.DataFrame(block.T, columns=list(columns), copy=False)


def known_future_features(district: District, keys: pd.DataFrame) -> pd.DataFrame:
    """``keys`` (kindergarten_id, month — any month, also after the data's last) plus every
    known-future (``known_``) column, identical to :func:`build_feature_table`'s for months in
    the data. Raises ValueError for a kindergarten_id the data set does not know."""
    ids = keys[KINDERGARTEN_ID].astype(str).reset_index(drop=True)
    unknown = sorted(set(ids) - set(district.kindergartens[KINDERGARTEN_ID].astype(str)))
    if unknown:
        raise ValueError(f"unknown kindergarten_id(s) in keys: {', '.join(unknown[:10])}")
    ordinals = month_ordinals(keys[MONTH])
    known = _known_columns(district, ids, ordinals)
    known.index = keys.index
    return pd.concat([keys, known], axis=1)


def feature_columns(table: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Split the table's numeric feature columns into (point-in-time, known-future).

    Keys and strings are left out; current values at t are point-in-time features (they are known
    at the forecast origin)."""
    # by the dtypes, not the columns: a column taken from the table is a Series built per name
    dtypes = table.dtypes
    numeric = [
        c
        for c, dtype in zip(table.columns, dtypes, strict=True)
        if c not in _ID_COLUMNS
        and (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))
    ]
    # a column published late (``c`` beside ``c_known_at_t``) is not known at t: only its
    # as-known twin is a feature
    held_back = {c.removesuffix(KNOWN_SUFFIX) for c in numeric if c.endswith(KNOWN_SUFFIX)}
    numeric = [c for c in numeric if c not in held_back]
    known = [c for c in numeric if c.startswith(KNOWN_FUTURE_PREFIX)]
    point_in_time = [c for c in numeric if not c.startswith(KNOWN_FUTURE_PREFIX)]
    return point_in_time, known


def _known_columns(district: District, ids: pd.Series, ordinals: np.ndarray) -> pd.DataFrame:
    calendar = kindergarten_year_calendar(ordinals)
    population = population_features(district.kindergartens, district.population, ids, ordinals)
    return pd.concat([calendar, population], axis=1)


def _derived_features(
    values: dict[str, np.ndarray],
    capacity: np.ndarray,
    known: pd.DataFrame,
    grid: CalendarGrid,
    windows: Sequence[int],
) -> dict[str, np.ndarray]:
    """Capacity, cohort, rate, staffing and turnover features from the current values at t."""
    under3 = values["children_under3"]
    over3 = values["children_over3"]
    children = under3 + over3
    places = 2.0 * under3 + over3
    staff_norm = places / PLACES_PER_STAFF_FTE
    out: dict[str, np.ndarray] = {
        "capacity": capacity,
        "children_total": children,
        "places_used": places,
        "capacity_headroom_places": capacity - places,
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        out["capacity_utilisation"] = places / capacity
        out["u3_crossing_next_august"] = (
            known[f"{KNOWN_FUTURE_PREFIX}u3_crossing_share"].to_numpy() * under3
        )
        for column in ("vedtak_31", "vedtak_37"):
            if column in values:
                out[f"{column}_per_child"] = values[column] / children
        if "waiting_list" in values:
            out["waiting_list_per_place"] = values["waiting_list"] / capacity
        staff = values["staff_fte"]
        pedagogue_norm = np.ceil(places / PLACES_PER_PEDAGOGUE)
        out["staff_norm_fte"] = staff_norm
        out["pedagogue_norm_positions"] = pedagogue_norm
        out["staff_fte_minus_norm"] = staff - staff_norm
        out["staff_fte_per_norm"] = staff / staff_norm
        out["pedagogue_fte_minus_norm"] = values["pedagogue_fte"] - pedagogue_norm
        if "sick_leave_rate" in values:
            effective = staff * (1.0 - values["sick_leave_rate"])
            out["effective_staff_fte"] = effective
            out["effective_staff_fte_minus_norm"] = effective - staff_norm
        if "staff_leavers" in values:
            leavers = grid.dense(values["staff_leavers"])
            staff_dense = grid.dense(staff)
            leavers_cumulative = grid.cumulative(leavers)
            staff_cumulative = grid.cumulative(staff_dense)
            for w in windows:
                out[f"turnover_per_fte_year_{w}m"] = (
                    12.0
                    * grid.window_mean(leavers, w, leavers_cumulative)
                    / grid.window_mean(staff_dense, w, staff_cumulative)
                )
    return {
        name: np.where(np.isfinite(column), column, np.nan).astype(np.float32)
        for name, column in out.items()
    }


def _months_list(values: Sequence[int], what: str) -> list[int]:
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1]
    if bad:
        raise ValueError(f"every {what} must be a whole number of months ≥ 1, got {bad}")
    return list(dict.fromkeys(int(v) for v in values))


def _check_inputs(district: District, monthly: pd.DataFrame) -> None:
    problems: list[Problem] = []
    for column in (*_KEY_COLUMNS, *REQUIRED_MONTHLY):
        if column not in monthly.columns:
            problems.append(Problem("monthly", "required column is missing", column=column))
    for column in (KINDERGARTEN_ID, DISTRICT, "capacity"):
        if column not in district.kindergartens.columns:
            problems.append(Problem("kindergartens", "required column is missing", column=column))
    if not problems:
        known_ids = set(district.kindergartens[KINDERGARTEN_ID].astype(str))
        unknown = ~monthly[KINDERGARTEN_ID].astype(str).isin(known_ids)
        for row in np.flatnonzero(unknown.to_numpy())[:50]:
            problems.append(
                Problem(
                    "monthly",
                    "kindergarten_id is not in kindergartens",
                    row=int(row) + 2,
                    column=KINDERGARTEN_ID,
                    value=monthly[KINDERGARTEN_ID].iloc[row],
                )
            )
    if problems:
        raise DataContractError(problems)
