"""The fallback forecast for kindergartens the model cannot forecast well: every open
kindergarten gets a forecast, and the ones that got this one are named.

Who gets it (at the forecast origin T, for each kindergarten open then):

* **recently opened** — fewer than :data:`MIN_HISTORY_MONTHS` months of data up to T: the
  model's seasonal and year-on-year features are empty, and a kindergarten filling up behaves
  like no row it was trained on;
* **gapped** — no row for T (or no value at T of a target the model forecasts): the model
  forecasts only from a row at the origin, so without this such a kindergarten had no forecast
  and left the plan.

A target the model has no forecast of at all (trained without it: left out with ``--target``, or
absent from the training data) while the data have values of it gets the fallback for **every**
kindergarten the model forecast, so a plan never sees one kindergarten with a forecast of it and
the next without (:attr:`FallbackForecasts.targets` names such targets). A target without a
single value in the data up to T is left to the caller (a plan takes it as 0 and says so): a rate
of nothing is not a forecast.

What it is, per target and month m = T + h:

1. **peers' rate per place**: the kindergartens with a full history and a row at T in the same
   area (at least :data:`MIN_PEERS` of them), else the same district, else all; their total of
   the target in the latest month on or before T of m's calendar month (so the August shift and
   the year's cycle are kept), divided by their total capacity. Shares (sick leave) take the
   peers' median instead, unscaled.
2. **scaled by size and capacity**: rate × the kindergarten's capacity × its size factor, its
   own latest value over what the peers' rate gives for its capacity in that month (clipped to
   0.25 … 2; 1 without a value). A recently opened kindergarten is filling up, so its factor
   moves linearly to 1 over the first twelve months of the forecast; a gapped one keeps it.
3. **wide intervals**: a normal around that median with a standard deviation of
   :data:`RELATIVE_SD` of it (at least one child or decision; :data:`SHARE_SD` for shares),
   clipped at zero (and one for shares). That is about four times the width of the model's
   calibrated intervals on simulated districts: the plan hedges a guess as a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
from scipy.stats import norm

from data.contract import (
    FORECAST_COLUMNS,
    KINDERGARTEN_ID,
    MONTH,
    QUANTILE_COLUMNS,
    QUANTILES,
    SHARE_TARGETS,
    District,
)

#: months of data up to the origin below which a kindergarten counts as recently opened
MIN_HISTORY_MONTHS = 12
#: peers needed in an area before the area's rate is used (else the district's, else all)
MIN_PEERS = 3
#: standard deviation of a fallback count forecast, as a share of its median
RELATIVE_SD = 0.3
#: standard deviation of a fallback share forecast (sick leave), in share points
SHARE_SD = 0.03
#: the size factor's range (own value over the peers' rate × capacity)
SIZE_FACTOR_RANGE = (0.25, 2.0)


@dataclass(frozen=True)
class FallbackForecasts:
    """Forecasts with the fallback's rows in place, and why each of those kindergartens got it."""

    forecasts: pd.DataFrame
    #: kindergarten id → reason in words (``recently opened: 5 months of data``)
    reasons: dict[str, str]
    #: target the model has no forecast of → reason in words; every kindergarten's forecast of
    #: it is the fallback's
    targets: dict[str, str] = field(default_factory=dict)


def fallback_reasons(
    district: District,
    forecasts: pd.DataFrame,
    origin: pd.Period,
    targets: tuple[str, ...],
) -> dict[str, str]:
    """Which open kindergartens need the fallback at ``origin``, and why (see module doc)."""
    monthly = district.monthly[district.monthly[MONTH] <= origin]
    kinds = district.kindergartens.set_index(KINDERGARTEN_ID)
    closed = kinds["closed"] if "closed" in kinds else pd.Series(pd.NaT, index=kinds.index)
    months_seen = monthly.groupby(KINDERGARTEN_ID)[MONTH].agg(["count", "max"])
    at_origin = monthly[monthly[MONTH] == origin].set_index(KINDERGARTEN_ID)
    covered = (
        forecasts.groupby(KINDERGARTEN_ID)["target"].agg(set)
        if len(forecasts)
        else pd.Series(dtype=object)
    )
    # a target the model never forecasts is no gap of one kindergarten (see model_lacks)
    modelled = set(forecasts["target"]) if len(forecasts) else set(targets)
    reasons: dict[str, str] = {}
    for kid, row in months_seen.iterrows():
        kid = str(kid)
        gone = closed.get(kid)
        if kid not in kinds.index or (pd.notna(gone) and pd.Period(gone, "M") <= origin):
            continue
        if kid not in at_origin.index:
            reasons[kid] = f"gapped: no data for {origin} (last month with data {row['max']})"
        elif int(row["count"]) < MIN_HISTORY_MONTHS:
            reasons[kid] = f"recently opened: {int(row['count'])} months of data"
        else:
            have = covered.get(kid, set())
            missing = [
                t
                for t in targets
                if t not in have
                and t in modelled
                and t in at_origin.columns
                and bool(at_origin[t].isna().get(kid, True))
            ]
            if missing:
                reasons[kid] = f"gapped: no value of {', '.join(missing)} for {origin}"
    return reasons


def model_lacks(
    district: District, forecasts: pd.DataFrame, origin: pd.Period, targets: tuple[str, ...]
) -> dict[str, str]:
    """Targets of ``targets`` the model has no forecast of while the data have values of them
    up to ``origin`` → reason in words (module doc)."""
    if not len(forecasts):
        return {}
    modelled = set(forecasts["target"])
    return {
        t: "the model has no forecast of it: peers' rates for every kindergarten"
        for t in targets
        if t not in modelled and _has_values(district, t, origin)
    }


def with_fallback(
    district: District,
    forecasts: pd.DataFrame,
    *,
    origin: pd.Period,
    horizon: int,
    targets: tuple[str, ...],
) -> FallbackForecasts:
    """``forecasts`` with every fallback kindergarten's rows replaced by the fallback's, and
    every target the model lacks filled by the fallback for every other kindergarten."""
    reasons = fallback_reasons(district, forecasts, origin, targets)
    lacking = model_lacks(district, forecasts, origin, targets)
    if not reasons and not lacking:
        return FallbackForecasts(forecasts, {})
    made = [fallback_forecasts(district, list(reasons), origin, horizon, targets, reasons)]
    kept = forecasts[~forecasts[KINDERGARTEN_ID].astype(str).isin(reasons)]
    if lacking:
        forecast_ids = sorted(set(kept[KINDERGARTEN_ID].astype(str)))
        made.append(
            fallback_forecasts(
                district,
                forecast_ids,
                origin,
                horizon,
                tuple(lacking),
                not_peers=list(reasons),
            )
        )
    # an empty part (no kindergarten lacking a target) is left out so it cannot set the dtypes
    made_all = pd.concat([part for part in made if len(part)] or made[:1], ignore_index=True)
    if len(kept) and "origin" in kept:
        made_all = made_all.astype({"origin": kept["origin"].dtype, MONTH: kept[MONTH].dtype})
    combined = pd.concat([kept, made_all], ignore_index=True) if len(kept) else made_all
    return FallbackForecasts(combined, reasons, lacking)


def fallback_forecasts(
    district: District,
    kindergarten_ids: list[str],
    origin: pd.Period,
    horizon: int,
    targets: tuple[str, ...],
    reasons: dict[str, str] | None = None,
    *,
    not_peers: list[str] | None = None,
) -> pd.DataFrame:
    """FORECAST_COLUMNS rows of the fallback for ``kindergarten_ids`` (see module doc); the
    peers are the full-history kindergartens not in ``not_peers`` (default:
    ``kindergarten_ids``). A target without any value up to ``origin`` gets no rows."""
    monthly = district.monthly[district.monthly[MONTH] <= origin]
    kinds = district.kindergartens.set_index(KINDERGARTEN_ID)
    capacity = kinds["capacity"].astype(float)
    counts = monthly.groupby(KINDERGARTEN_ID)[MONTH].count()
    at_origin = set(monthly.loc[monthly[MONTH] == origin, KINDERGARTEN_ID].astype(str))
    excluded = set(kindergarten_ids if not_peers is None else not_peers)
    full = [
        str(k)
        for k, n in counts.items()
        if n >= MIN_HISTORY_MONTHS and str(k) in at_origin and str(k) not in excluded
    ]
    with_values = tuple(t for t in targets if _has_values(district, t, origin))
    z = norm.ppf(np.asarray(QUANTILES, dtype=float))
    horizons = np.arange(1, horizon + 1)
    blocks: list[np.ndarray] = []
    block_keys: list[tuple[str, str]] = []
    ids = monthly[KINDERGARTEN_ID].astype(str)
    peer_rows: dict[tuple[str, ...], PeerRows] = {}
    # kindergartens of one area share their peers, so their rates per month are computed once
    rates: dict[tuple[tuple[str, ...], str, pd.Period], float] = {}
    groups = _peer_groups(kinds, full)
    # each kindergarten's own rows, split once rather than found by a scan per kindergarten
    own_rows = dict(iter(monthly.groupby(ids, sort=False)))
    no_rows = monthly.iloc[:0]
    for kid in kindergarten_ids:
        peers = tuple(_peers(kinds, full, kid, groups))
        if peers not in peer_rows:  # kindergartens of one area share their peers' rows
            peer_rows[peers] = PeerRows.of(monthly[ids.isin(peers)])
        rows = peer_rows[peers]
        own = own_rows.get(kid, no_rows).sort_values(MONTH)
        filling = (reasons or {}).get(kid, "").startswith("recently opened")
        for target in with_values:
            share = target in SHARE_TARGETS
            medians = np.empty(len(horizons))
            rate_of = partial(_cached_peer_rate, rates, rows, capacity, peers, target, share)
            factor = _size_factor(rate_of, capacity, kid, own, target, share)
            for i, h in enumerate(horizons):
                month = origin + int(h)
                rate = rate_of(month - 12 * int(np.ceil(h / 12)))
                if share:
                    medians[i] = rate
                    continue
                f = factor + (1.0 - factor) * min(int(h), 12) / 12 if filling else factor
                medians[i] = max(rate * float(capacity.get(kid, 0.0)) * f, 0.0)
            if share:
                quantiles = np.clip(medians[:, None] + SHARE_SD * z[None, :], 0.0, 1.0)
            else:
                sd = np.maximum(RELATIVE_SD * medians, 1.0)
                quantiles = np.maximum(medians[:, None] + sd[:, None] * z[None, :], 0.0)
            blocks.append(quantiles)
            block_keys.append((kid, target))
    if not blocks:
        return pd.DataFrame(columns=list(FORECAST_COLUMNS))
    # one frame from all the blocks (a frame per kindergarten × target cost more than the rates)
    n = len(horizons)
    frame = pd.DataFrame(
        {
            KINDERGARTEN_ID: np.repeat([k for k, _ in block_keys], n).astype(object),
            "origin": pd.PeriodIndex([origin] * (n * len(blocks)), freq="M"),
            MONTH: pd.PeriodIndex([origin + int(h) for h in horizons] * len(blocks), freq="M"),
            "horizon": np.tile(horizons, len(blocks)),
            "target": np.repeat([t for _, t in block_keys], n).astype(object),
        }
    )
    frame[list(QUANTILE_COLUMNS)] = np.vstack(blocks)
    return frame[list(FORECAST_COLUMNS)]


def _has_values(district: District, target: str, origin: pd.Period) -> bool:
    """Whether the data have at least one value of ``target`` up to ``origin``."""
    monthly = district.monthly
    if target not in monthly.columns:
        return False
    return bool(monthly.loc[monthly[MONTH] <= origin, target].notna().any())


PEER_COLUMNS = ("area", "district")


def _peer_groups(kinds: pd.DataFrame, full: list[str]) -> dict[str, dict[object, list[str]]]:
    """Per peer column, its value → the full-history kindergartens with it (in ``full``'s order)."""
    groups: dict[str, dict[object, list[str]]] = {}
    known = [k for k in full if k in kinds.index]
    for column in PEER_COLUMNS:
        if column not in kinds.columns:
            continue
        by_value: dict[object, list[str]] = {}
        for k, value in zip(known, kinds[column].reindex(known), strict=True):
            if pd.notna(value):
                by_value.setdefault(value, []).append(k)
        groups[column] = by_value
    return groups


def _peers(
    kinds: pd.DataFrame, full: list[str], kid: str, groups: dict[str, dict[object, list[str]]]
) -> list[str]:
    """Full-history kindergartens of the same area (enough of them), else district, else all."""
    for column in PEER_COLUMNS:
        if column not in groups or kid not in kinds.index:
            continue
        if kinds[column].isna().get(kid, True):
            continue
        same = groups[column].get(kinds[column][kid], [])
        if len(same) >= MIN_PEERS:
            return same
    return full


@dataclass(frozen=True)
class PeerRows:
    """The peers' monthly rows with their months as ordinals, so a rate finds its month's rows
    with one integer comparison (comparing the period column for every rate was half of a city
    plan's fallback forecasts)."""

    rows: pd.DataFrame
    months: np.ndarray

    @classmethod
    def of(cls, rows: pd.DataFrame) -> PeerRows:
        return cls(rows, rows[MONTH].array.asi8)  # validated data: every row has its month


def _cached_peer_rate(
    rates: dict[tuple[tuple[str, ...], str, pd.Period], float],
    rows: PeerRows,
    capacity: pd.Series,
    peers: tuple[str, ...],
    target: str,
    share: bool,
    month: pd.Period,
) -> float:
    """:func:`_peer_rate`, kept in ``rates`` per peers, target and month (kindergartens of one
    area share their peers, so each rate is computed once)."""
    key = (peers, target, month)
    if key not in rates:
        rates[key] = _peer_rate(rows, capacity, target, month, share)
    return rates[key]


def _peer_rate(
    peers: PeerRows,
    capacity: pd.Series,
    target: str,
    month: pd.Period,
    share: bool,
) -> float:
    """Peers' total per capacity place in ``month`` (median for shares); their latest month
    when ``month`` lies before their data."""
    if not len(peers.months):
        return 0.0
    at = peers.months == month.ordinal
    if not at.any():
        at = peers.months == peers.months.max()
    rows = peers.rows[at & peers.rows[target].notna().to_numpy()]
    if not len(rows):
        return 0.0
    if share:
        return float(rows[target].astype(float).median())
    places = capacity.reindex(rows[KINDERGARTEN_ID].astype(str)).to_numpy(float).sum()
    return float(rows[target].astype(float).sum() / places) if places > 0 else 0.0


def _size_factor(
    rate_of: Callable[[pd.Period], float],
    capacity: pd.Series,
    kid: str,
    own: pd.DataFrame,
    target: str,
    share: bool,
) -> float:
    """The kindergarten's latest value over the peers' rate (``rate_of`` a month) × its
    capacity that month."""
    if share:
        return 1.0
    known = np.flatnonzero(own[target].notna().to_numpy())
    if not len(known):
        return 1.0
    last = int(known[-1])
    expected = rate_of(own[MONTH].iloc[last]) * float(capacity.get(kid, 0.0))
    if expected <= 0:
        return 1.0
    return float(np.clip(float(own[target].iloc[last]) / expected, *SIZE_FACTOR_RANGE))
