"""Selection of the forecaster's defaults out of process and out of sample (issue 17): a variant of
ForecastPipeline is kept only when it helps on both simulator families, on the tuning seeds 1–3;
the report seeds of ``bench_forecast`` (101–103) are never used here. SIMULATED data.

    .venv/bin/python -m benchmarks.bench_selection [--families cohort,capacity] [--seeds 1,2,3]
        [--origins 2] [--variants defaults,pooled-calibration] [--floor-paths 301]
        [--short-histories]

Printed per family and goal target: WAPE of the p50 and 80 % coverage of each variant on each
seed (rolling origins, the same for every variant), and each variant's WAPE ÷ the first
variant's, pooled over seeds (sum of errors ÷ sum of actuals). With ``--floor-paths N`` also
the last value's WAPE and the full-state floor's (``benchmarks.noise_floor``, N paths) on the
same rows, and the share of the gap between them each variant closes, pooled over seeds: the
tuning seeds' stand-in for the report's gap to the best peer (the peers are not fitted here).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import pandas as pd

from benchmarks.bench_forecast import AFTER_SHIFT_MONTHS, FAMILIES, GOAL_TARGETS, simulate_family
from benchmarks.cli_args import whole_numbers
from models.forecast.quantile_lgbm import TARGET_UNUSED_FEATURES

#: Variants: ForecastPipeline parameters over its defaults.
VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "no-mechanism": {"mechanism_features": False},
    "cohort-features": {"cohort_features": True},
    "no-cohort-features": {"cohort_features": False},
    "pooled-calibration": {"season_calibration": False},
    "seasonal-level": {"seasonal_level": True},
    "no-seasonal-level": {"seasonal_level": False},
    # fit + forecast time (issue 17): the tail boosters in fewer rounds, fewer training rows,
    # intervals from the median's residuals instead of tail boosters
    "tails-8-rounds": {"tail_lgbm_params": {"n_estimators": 8, "learning_rate": 0.8}},
    "rows-4000": {"max_rows_per_model": 4000},
    "residual-intervals": {"interval_method": "residual"},
    "features-0.35": {"lgbm_params": {"feature_fraction": 0.35}},
    "tail-features-0.35": {
        "tail_lgbm_params": {"n_estimators": 15, "learning_rate": 0.5, "feature_fraction": 0.35}
    },
    # the same forecaster on other random draws (rows sampled, LightGBM's seeds): how far a
    # variant's WAPE, coverage and interval score move by chance alone (helper speed7)
    "reseed-1": {"random_state": 1},
    "reseed-2": {"random_state": 2},
}
#: Sick leave's columns carrying the least of its boosters' gain in the final round on the
#: tuning seeds 1–3 of both families (2 origins, goal targets, 2026-12-07): the 26 under 1.25 %
#: of the gain in every booster (median and tails), and the 38 under 0.5 % of the median
#: booster's gain on average (fit + forecast time, issue 17).
# the default from 2026-12-07 16:30 to 17:00 UTC (9 more since)
SICK_LEAVE_LEAST_26 = (
    "children_over3", "children_over3_lag3", "children_over3_mean_12m",
    "children_over3_mean_3m", "children_under3", "children_under3_lag2",
    "children_under3_lag3", "children_under3_lag6", "children_under3_mean_3m",
    "district_kindergartens_reporting", "district_vedtak_31_per_child", "effective_staff_fte",
    "low_income_share", "pedagogue_fte", "pedagogue_fte_minus_norm",
    "pedagogue_norm_positions", "resource_pedagogue_fte", "sick_leave_rate_mean_3m",
    "staff_fte", "staff_leavers", "staff_norm_fte", "turnover_per_fte_year_3m",
    "u3_crossing_next_august", "vedtak_37", "waiting_list", "waiting_list_per_place",
)  # fmt: skip
SICK_LEAVE_LEAST_38 = (
    "capacity", "children_over3", "children_over3_lag1", "children_over3_lag2",
    "children_over3_lag3", "children_over3_mean_12m", "children_over3_mean_3m", "children_total",
    "children_under3", "children_under3_lag1", "children_under3_lag2", "children_under3_lag3",
    "children_under3_mean_3m", "district_children_under3", "district_kindergartens_reporting",
    "district_vedtak_37_per_child", "district_waiting_list_per_child", "effective_staff_fte",
    "known_is_august", "pedagogue_fte", "pedagogue_fte_minus_norm", "pedagogue_norm_positions",
    "places_used", "resource_pedagogue_fte", "share_of_district_children",
    "sick_leave_rate_lag1", "sick_leave_rate_lag2", "sick_leave_rate_mean_3m", "staff_fte",
    "staff_fte_minus_norm", "staff_leavers", "staff_norm_fte", "turnover_per_fte_year_3m",
    "u3_crossing_next_august", "vedtak_31", "vedtak_37", "waiting_list", "waiting_list_per_place",
)  # fmt: skip
VARIANTS["sick-leave-26"] = {"unused_features": {"sick_leave_rate": SICK_LEAVE_LEAST_26}}
VARIANTS["sick-leave-38"] = {"unused_features": {"sick_leave_rate": SICK_LEAVE_LEAST_38}}
# every booster sees its target's whole design (before 2026-12-07: sick leave saw all 77 columns)
VARIANTS["all-columns"] = {"unused_features": {}}
#: Children's and § 31's columns carrying the least of their boosters' gain in the final round on
#: the tuning seeds 1–3 of both families (2 origins, goal targets, main b24e48e, 2026-12-07): those
#: under 1.25 % / 0.75 % of the gain on average in every booster (median and tails; § 31 has
#: tails only; a median-only column by the median's) — fit + forecast time, issue 17.
UNDER3_LEAST_125 = (  # 12 columns
    "children_over3_mean_3m", "children_total", "children_under3", "children_under3_lag2",
    "estimated_crossing_next_august", "estimated_school_leavers_next_summer",
    "known_is_august", "known_is_summer", "places_free_after_next_august", "places_used",
    "target_last", "target_under3_after_intake",
)  # fmt: skip
UNDER3_LEAST_075 = (  # 4 columns
    "children_under3_lag2", "known_is_summer", "places_used", "target_last",
)  # fmt: skip
OVER3_LEAST_125 = (  # 11 columns
    "children_total", "children_under3", "children_under3_lag2",
    "estimated_crossing_next_august", "estimated_school_leavers_next_summer",
    "known_calendar_month", "known_is_august", "known_population_0",
    "places_free_after_next_august", "places_used", "target_last",
)  # fmt: skip
OVER3_LEAST_075 = (  # 5 columns
    "children_under3", "known_is_august", "known_population_0",
    "places_free_after_next_august", "target_last",
)  # fmt: skip
VEDTAK31_LEAST_125 = (  # 38 columns
    "capacity_headroom_places", "capacity_utilisation", "children_over3_lag1",
    "children_over3_lag2", "children_over3_mean_3m", "children_under3", "children_under3_lag2",
    "children_under3_mean_3m", "district_children", "district_children_under3",
    "district_kindergartens_reporting", "district_sick_leave_rate_mean",
    "district_waiting_list_per_child", "effective_staff_fte_minus_norm",
    "known_calendar_month", "known_is_august", "known_is_summer", "known_month_of_kg_year",
    "known_months_to_august", "low_income_share", "pedagogue_fte", "pedagogue_fte_minus_norm",
    "pedagogue_norm_positions", "places_used", "resource_pedagogue_fte",
    "staff_fte_minus_norm", "staff_fte_per_norm", "staff_leavers", "staff_norm_fte",
    "target_change_same_span_last_year", "turnover_per_fte_year_3m", "u3_crossing_next_august",
    "vedtak_31_lag1", "vedtak_31_lag2", "vedtak_31_lag6", "vedtak_37", "waiting_list",
    "waiting_list_per_place",
)  # fmt: skip
VEDTAK31_LEAST_075 = (  # 24 columns
    "capacity_headroom_places", "capacity_utilisation", "children_under3",
    "district_kindergartens_reporting", "district_sick_leave_rate_mean",
    "district_waiting_list_per_child", "effective_staff_fte_minus_norm",
    "known_calendar_month", "known_is_august", "known_is_summer", "known_month_of_kg_year",
    "known_months_to_august", "pedagogue_fte", "pedagogue_fte_minus_norm",
    "pedagogue_norm_positions", "places_used", "staff_fte_minus_norm", "staff_fte_per_norm",
    "staff_leavers", "staff_norm_fte", "vedtak_31_lag2", "vedtak_31_lag6", "vedtak_37",
    "waiting_list",
)  # fmt: skip
VARIANTS["least-gain-1.25"] = {
    "unused_features": {
        **TARGET_UNUSED_FEATURES,
        "children_under3": UNDER3_LEAST_125,
        "children_over3": OVER3_LEAST_125,
        "vedtak_31": VEDTAK31_LEAST_125,
    }
}
VARIANTS["least-gain-0.75"] = {
    "unused_features": {
        **TARGET_UNUSED_FEATURES,
        "children_under3": UNDER3_LEAST_075,
        "children_over3": OVER3_LEAST_075,
        "vedtak_31": VEDTAK31_LEAST_075,
    }
}
# the calibration round's medians in all / a quarter of the final round's rounds (half is the
# default since 2026-12-07; the final round and its medians, the forecast, unchanged: only the
# intervals' corrections move)
VARIANTS["calibration-full-rounds"] = {"calibration_rounds_share": 1.0}
VARIANTS["calibration-quarter-rounds"] = {"calibration_rounds_share": 0.25}
#: Sick leave's calibration-round median alone in a quarter of its rounds (helper speed6; the
#: default since 2026-12-07: ``sick-leave-calibration-half`` is the old one).
VARIANTS["sick-leave-calibration-half"] = {"target_calibration_rounds_share": {}}
VARIANTS["sick-leave-calibration-quarter"] = {
    "target_calibration_rounds_share": {"sick_leave_rate": 0.25}
}
VARIANTS["sick-leave-calibration-eighth"] = {
    "target_calibration_rounds_share": {"sick_leave_rate": 0.125}
}
# every booster sees the median-only columns (one Dataset per round instead of two for the
# children)
VARIANTS["tails-see-all-columns"] = {"median_only_columns": False}
# bin edges found on 1,000 sampled rows instead of 2,000 (a third of a Dataset's construction
# is finding them)
VARIANTS["bin-sample-1000"] = {"lgbm_params": {"bin_construct_sample_cnt": 1000}}
# § 31's tails under 2 % / 3 % of the gain on average (same run as above); 1.25 % alone
VEDTAK31_LEAST_200 = (  # 54 columns
    "capacity_headroom_places", "capacity_utilisation", "children_over3_lag1",
    "children_over3_lag2", "children_over3_lag3", "children_over3_mean_3m", "children_total",
    "children_under3", "children_under3_lag1", "children_under3_lag12", "children_under3_lag2",
    "children_under3_lag3", "children_under3_mean_3m", "district_children",
    "district_children_under3", "district_kindergartens_reporting",
    "district_sick_leave_rate_mean", "district_vedtak_31_per_child",
    "district_vedtak_37_per_child", "district_waiting_list_per_child", "effective_staff_fte",
    "effective_staff_fte_minus_norm", "known_calendar_month", "known_is_august",
    "known_is_summer", "known_month_of_kg_year", "known_months_to_august",
    "known_population_0", "known_population_1", "known_population_1_5_growth",
    "low_income_share", "pedagogue_fte", "pedagogue_fte_minus_norm",
    "pedagogue_norm_positions", "places_used", "resource_pedagogue_fte",
    "share_of_district_children", "sick_leave_rate", "staff_fte", "staff_fte_minus_norm",
    "staff_fte_per_norm", "staff_leavers", "staff_norm_fte",
    "target_change_same_span_last_year", "target_same_month_last_year",
    "turnover_per_fte_year_12m", "turnover_per_fte_year_3m", "u3_crossing_next_august",
    "vedtak_31_lag1", "vedtak_31_lag2", "vedtak_31_lag6", "vedtak_37", "waiting_list",
    "waiting_list_per_place",
)  # fmt: skip
VEDTAK31_LEAST_300 = TARGET_UNUSED_FEATURES["vedtak_31"]  # the default since 2026-12-07
VARIANTS["vedtak31-least-1.25"] = {
    "unused_features": {**TARGET_UNUSED_FEATURES, "vedtak_31": VEDTAK31_LEAST_125}
}
VARIANTS["vedtak31-least-2"] = {
    "unused_features": {**TARGET_UNUSED_FEATURES, "vedtak_31": VEDTAK31_LEAST_200}
}
VARIANTS["vedtak31-least-3"] = {
    "unused_features": {**TARGET_UNUSED_FEATURES, "vedtak_31": VEDTAK31_LEAST_300}
}
#: Sick leave's columns, beyond its 26, under 1 % / 0.75 % of the gain on average in every booster
#: (final round, tuning seeds 1–3 of both families, 2 origins, main b24e48e)
SICK_LEAVE_MORE_16 = (
    "capacity", "children_total", "children_under3_lag1", "district_children",
    "district_children_under3", "district_waiting_list_per_child", "known_is_august",
    "known_is_summer", "known_population_0", "known_population_1", "minority_language_share",
    "places_used", "sick_leave_rate_lag1", "sick_leave_rate_lag12", "vedtak_31",
    "vedtak_31_per_child",
)  # fmt: skip
VARIANTS["sick-leave-plus-16"] = {
    "unused_features": {
        **TARGET_UNUSED_FEATURES,
        "sick_leave_rate": SICK_LEAVE_LEAST_26 + SICK_LEAVE_MORE_16,
    }
}
SICK_LEAVE_MORE_9 = (
    "capacity", "children_total", "district_children", "district_children_under3",
    "district_waiting_list_per_child", "known_is_august", "known_is_summer", "places_used",
    "vedtak_31",
)  # fmt: skip
# the default since 2026-12-07 17:00 UTC
VARIANTS["sick-leave-plus-9"] = {
    "unused_features": {
        **TARGET_UNUSED_FEATURES,
        "sick_leave_rate": SICK_LEAVE_LEAST_26 + SICK_LEAVE_MORE_9,
    }
}
# fit + forecast time (issue 17, helper speed5): the tail boosters (p10, p90) on fewer of the
# 6,000 rows, with 7 leaves instead of 15 (the default 18:45–19:30 UTC on 2026-12-07, taken
# back for short histories' coverage; tail-leaves-15 is the default), and both. A variant's
# tail_lgbm_params replace the default's: those above without num_leaves have the median's 15
# leaves.
VARIANTS["tail-rows-3000"] = {"tail_max_rows": 3000}
VARIANTS["tail-rows-4000"] = {"tail_max_rows": 4000}
VARIANTS["tail-leaves-15"] = {"tail_lgbm_params": {"n_estimators": 15, "learning_rate": 0.5}}
VARIANTS["tail-leaves-7"] = {
    "tail_lgbm_params": {"n_estimators": 15, "learning_rate": 0.5, "num_leaves": 7}
}
VARIANTS["tail-rows-3000-leaves-7"] = {**VARIANTS["tail-rows-3000"], **VARIANTS["tail-leaves-7"]}
VARIANTS["tail-rows-4000-leaves-7"] = {**VARIANTS["tail-rows-4000"], **VARIANTS["tail-leaves-7"]}
#: The children's columns carrying under 1.25 % / 2 % of the gain on average in each of their
#: tail boosters (p10 and p90 apart; final round, tuning seeds 1–3 of both families, 2 origins,
#: main 0dfe17f, helper speed5): left out of the tails only, the median keeps them.
UNDER3_TAIL_LEAST_125 = (  # 10 of 43
    "children_over3_mean_3m", "children_total", "children_under3", "children_under3_lag2",
    "known_is_august", "known_is_summer", "known_months_to_august", "known_population_0",
    "places_used", "target_last",
)  # fmt: skip
OVER3_TAIL_LEAST_125 = (  # 10 of 43
    "children_total", "children_under3", "children_under3_lag2", "known_calendar_month",
    "known_is_august", "known_is_summer", "known_months_to_august", "known_population_0",
    "places_used", "target_last",
)  # fmt: skip
UNDER3_TAIL_LEAST_200 = (  # 22 of 43
    *UNDER3_TAIL_LEAST_125,
    "capacity", "children_over3", "children_over3_lag1", "children_over3_lag2",
    "children_over3_mean_12m", "children_under3_lag3", "children_under3_mean_3m",
    "known_calendar_month", "share_of_district_children", "target_change_same_span_last_year",
    "waiting_list", "waiting_list_per_place",
)  # fmt: skip
OVER3_TAIL_LEAST_200 = (  # 22 of 43
    *OVER3_TAIL_LEAST_125,
    "capacity", "capacity_utilisation", "children_over3_lag1", "children_over3_lag2",
    "children_over3_lag3", "children_over3_mean_12m", "children_over3_mean_3m",
    "children_under3_lag12", "children_under3_mean_3m", "known_population_1",
    "share_of_district_children", "waiting_list",
)  # fmt: skip
VARIANTS["tail-rows-3000-leaves-7-kids-tails-1.25"] = {
    **VARIANTS["tail-rows-3000-leaves-7"],
    "tail_unused_features": {
        "children_under3": UNDER3_TAIL_LEAST_125,
        "children_over3": OVER3_TAIL_LEAST_125,
    },
}
VARIANTS["tail-rows-3000-leaves-7-kids-tails-2"] = {
    **VARIANTS["tail-rows-3000-leaves-7"],
    "tail_unused_features": {
        "children_under3": UNDER3_TAIL_LEAST_200,
        "children_over3": OVER3_TAIL_LEAST_200,
    },
}
VARIANTS["tail-leaves-7-kids-tails-1.25"] = {
    **VARIANTS["tail-leaves-7"],
    "tail_unused_features": VARIANTS["tail-rows-3000-leaves-7-kids-tails-1.25"][
        "tail_unused_features"
    ],
}
# the under-3 median of the rows before the next August fitted on those rows alone (issue 17,
# helper kids7): with and without, whatever the default
VARIANTS["august-split-under3"] = {"august_split_targets": ("children_under3",)}
VARIANTS["no-august-split"] = {"august_split_targets": ()}
# § 31's conformal corrections fitted on the quantiles as a forecast's are corrected, before the
# clip at 0 and the whole-number p50 (issue 17 item 4, helper cover7; the default since
# 2026-12-07), and every target's fitted on the clipped forecasts (before)
VARIANTS["unclipped-calibration-31"] = {"unclipped_calibration_targets": ("vedtak_31",)}
VARIANTS["clipped-calibration"] = {"unclipped_calibration_targets": ()}
# children under 3 held inside approved capacity beside the over-3 median, where a kindergarten
# never ran past it (issue 17, helper kids11; the default since 2026-12-08), and without
VARIANTS["capacity-bound-under3"] = {"capacity_bound_targets": ("children_under3",)}
VARIANTS["no-capacity-bound"] = {"capacity_bound_targets": ()}
TUNING_SEEDS = (1, 2, 3)


def run_variant(
    district: Any, params: dict[str, Any], n_origins: int, targets: Sequence[str]
) -> pd.DataFrame:
    """Ours' predictions (with actuals) at ``n_origins`` rolling origins, 3 months apart."""
    from models.forecast import ForecastPipeline
    from training.backtest import rolling_origin_backtest

    result = rolling_origin_backtest(
        district,
        lambda: ForecastPipeline(targets=list(targets), **params),
        n_origins=n_origins,
        span_months=3 * n_origins,
        baselines=False,
    )
    return result.predictions.dropna(subset=["actual"])


#: The suite's short-history check (tests/training/test_backtest.py,
#: ``test_lightgbm_beats_seasonal_naive_and_80_percent_intervals_cover_80_percent``): 30
#: kindergartens simulated from 2019, seed 5 (a tuning seed), 6 origins over 24 months, the
#: children and § 31; each target's 80 % coverage, and after the August shift, within ±0.05 of
#: 0.80. A variant that passes the selection on 4 origins can still fail it (7-leaf tails did,
#: 2026-12-07), so ``--short-histories`` scores it beside the selection.
SHORT_HISTORY = {"seed": 5, "n_kindergartens": 30, "start": "2019-01", "origins": 6, "span": 24}
SHORT_HISTORY_TARGETS = ("children_under3", "children_over3", "vedtak_31")
SHORT_HISTORY_BAND = 0.05


def short_history_coverage(family: str, params: dict[str, Any]) -> pd.DataFrame:
    """Ours' 80 % coverage per target on the suite's short-history district of ``family``, over
    every target month and after the August shift (August–October): columns target, all,
    after_shift."""
    from models.forecast import ForecastPipeline
    from simulate import simulate_district
    from simulate.capacity import simulate_capacity
    from training.backtest import rolling_origin_backtest

    start = pd.Period(SHORT_HISTORY["start"], "M")
    seed, size = int(SHORT_HISTORY["seed"]), int(SHORT_HISTORY["n_kindergartens"])
    simulation = (
        simulate_capacity(seed=seed, n_kindergartens=size, start=start)
        if family == "capacity"
        else simulate_district("district", seed=seed, n_kindergartens=size, start=start)
    )
    result = rolling_origin_backtest(
        simulation.district,
        lambda: ForecastPipeline(targets=list(SHORT_HISTORY_TARGETS), **params),
        n_origins=int(SHORT_HISTORY["origins"]),
        span_months=int(SHORT_HISTORY["span"]),
        baselines=False,
    )
    ours = result.predictions.dropna(subset=["actual"])
    inside = (ours["actual"] >= ours["p10"]) & (ours["actual"] <= ours["p90"])
    after = pd.PeriodIndex(ours["month"], freq="M").month.isin(AFTER_SHIFT_MONTHS)
    return (
        pd.DataFrame(
            {
                "all": inside.groupby(ours["target"]).mean(),
                "after_shift": inside[after].groupby(ours["target"][after]).mean(),
            }
        )
        .rename_axis("target")
        .reset_index()
    )


def print_short_histories(families: Sequence[str], variants: Sequence[str]) -> None:
    """Each variant's short-history coverage per family and target; ``!`` marks a figure
    outside the suite's band (0.80 ± :data:`SHORT_HISTORY_BAND`)."""

    def cell(value: float) -> str:
        mark = "!" if abs(value - 0.80) > SHORT_HISTORY_BAND else ""
        return f"{value:.3f}{mark}"

    h = SHORT_HISTORY
    print(
        f"\n## short histories (the suite's test: {h['n_kindergartens']} kindergartens from "
        f"{h['start']}, seed {h['seed']}, {h['origins']} origins over {h['span']} months); 80 % "
        "coverage, all / Aug–Oct"
    )
    for family in families:
        for variant in variants:
            table = short_history_coverage(family, VARIANTS[variant])
            cells = "; ".join(
                f"{r.target} {cell(r.all)} / {cell(r.after_shift)}" for r in table.itertuples()
            )
            print(f"  {family:<9} {variant:<16} {cells}", flush=True)


def reference_errors(simulation: Any, predictions: pd.DataFrame, paths: int) -> pd.DataFrame:
    """Per target, on the rows of ``predictions``: the absolute errors summed of the last value
    at the origin (``last_error``) and of the full-state floor's median (``floor_error``)."""
    from benchmarks.noise_floor import floor_wape, full_state_oracle

    monthly = simulation.district.monthly
    origins = sorted(predictions["origin"].unique())
    last = monthly.melt(
        id_vars=["kindergarten_id", "month"], value_vars=list(predictions["target"].unique())
    ).rename(columns={"month": "origin", "variable": "target", "value": "last"})
    rows = predictions.merge(last, on=["kindergarten_id", "origin", "target"], how="left")
    oracle = full_state_oracle(simulation, origins, paths=paths, bootstrap=0)
    floors = floor_wape(oracle, predictions)
    out = rows.assign(last_error=(rows["actual"] - rows["last"]).abs())
    errors = out.groupby("target")[["last_error"]].sum()
    totals = predictions.groupby("target")["actual"].apply(lambda a: a.abs().sum())
    errors["floor_error"] = floors["wape"].reindex(errors.index) * totals
    return errors


def score(predictions: pd.DataFrame) -> pd.DataFrame:
    """Per target: sum of absolute errors, sum of actuals, rows inside the 80 % interval, the
    80 % interval score summed (width + 2/α × the distance outside, α = 0.2), rows."""
    actual, lower, upper = predictions["actual"], predictions["p10"], predictions["p90"]
    outside = (lower - actual).clip(lower=0) + (actual - upper).clip(lower=0)
    g = predictions.assign(
        error=(actual - predictions["p50"]).abs(),
        total=actual.abs(),
        inside=(actual >= lower) & (actual <= upper),
        interval_score=upper - lower + 2 / 0.2 * outside,
    )
    columns = ["error", "total", "inside", "interval_score"]
    return g.groupby("target")[columns].sum().assign(n=g.groupby("target").size())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", default="cohort,capacity")
    parser.add_argument("--seeds", type=whole_numbers, default=",".join(map(str, TUNING_SEEDS)))
    parser.add_argument("--origins", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--targets", default=",".join(GOAL_TARGETS))
    parser.add_argument(
        "--floor-paths",
        type=int,
        default=0,
        help="also score the last value and the full-state floor (this many paths; 0 = not)",
    )
    parser.add_argument(
        "--short-histories",
        action="store_true",
        help="also each variant's 80 %% coverage on the suite's short-history districts",
    )
    args = parser.parse_args(argv)
    families = [f for f in args.families.split(",") if f]
    seeds = args.seeds
    variants = [v for v in args.variants.split(",") if v]
    targets = [t for t in args.targets.split(",") if t]
    if set(seeds) & {101, 102, 103}:
        parser.error("seeds 101-103 are the report seeds of bench_forecast: not for selection")
    bad = [f for f in families if f not in FAMILIES] + [v for v in variants if v not in VARIANTS]
    if bad:
        parser.error(f"unknown families or variants: {', '.join(bad)}")
    print(f"# Selection on tuning seeds {seeds} (SIMULATED); {args.origins} origins per run")
    rows = []
    for family in families:
        for seed in seeds:
            simulation = simulate_family(family, seed, None)
            district = simulation.district
            references = None
            for variant in variants:
                predictions = run_variant(district, VARIANTS[variant], args.origins, targets)
                scored = score(predictions)
                if args.floor_paths > 0:
                    if references is None:  # every variant forecasts the same rows
                        references = reference_errors(simulation, predictions, args.floor_paths)
                    scored = scored.join(references)
                for target, r in scored.iterrows():
                    rows.append(
                        {
                            "family": family,
                            "seed": seed,
                            "variant": variant,
                            "target": target,
                            **r.to_dict(),
                        }
                    )
                print(f"  {family} seed {seed} {variant} done", flush=True)
    table = pd.DataFrame(rows)
    print_selection(table, variants)
    if args.short_histories:
        print_short_histories(families, variants)
    return 0


def print_selection(table: pd.DataFrame, variants: Sequence[str]) -> None:
    for (family, target), g in table.groupby(["family", "target"], sort=False):
        print(f"\n## {family}: {target}")
        for variant in variants:
            v = g[g["variant"] == variant]
            cells = " ".join(
                f"s{r.seed} {r.error / r.total:.4f} ({r.inside / r.n:.3f})" for r in v.itertuples()
            )
            pooled = v["error"].sum() / v["total"].sum()
            first = g[g["variant"] == variants[0]]
            ratio = pooled / (first["error"].sum() / first["total"].sum())
            coverage = v["inside"].sum() / v["n"].sum()
            # the 80 % interval score pooled over seeds, as a ratio to the first variant's
            interval = v["interval_score"].sum() / first["interval_score"].sum()
            gap = ""
            if "floor_error" in v:
                last, floor = v["last_error"].sum(), v["floor_error"].sum()
                gap = (
                    f"; last value {last / v['total'].sum():.4f}, floor "
                    f"{floor / v['total'].sum():.4f}, gap closed "
                    f"{(last - v['error'].sum()) / (last - floor):.2f}"
                )
            print(
                f"  {variant:<16} WAPE (cov80) per seed: {cells}; pooled {pooled:.4f} "
                f"= {ratio:.3f} × {variants[0]}, cov80 {coverage:.3f}, "
                f"interval score {interval:.3f} ×{gap}"
            )


if __name__ == "__main__":
    raise SystemExit(main())
