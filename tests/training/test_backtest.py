"""Rolling-origin backtests: the metrics against hand-computed values, the origins, the
point-in-time refits, the plots, and — on a simulated district with a fixed seed — that the
LightGBM pipeline beats seasonal naive and its 80 % intervals cover close to 80 %."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from data.contract import FORECAST_COLUMNS, SIMULATED_LABEL
from models.forecast import ForecastPipeline
from models.forecast.inputs import as_of
from simulate import simulate_district
from training.backtest import backtest_origins, rolling_origin_backtest
from training.metrics import METRIC_COLUMNS, coverage, pinball_loss, summary_table, wape
from training.plots import write_backtest_plots

FAST = {"n_estimators": 30, "learning_rate": 0.15, "min_data_in_leaf": 20}


def test_metrics_against_hand_computed_values():
    actual = np.array([10.0, 0.0, 5.0])
    point = np.array([8.0, 1.0, 5.0])
    assert wape(actual, point) == pytest.approx(3 / 15)
    # one quantile 0.9: losses 0.9·2, 0.1·1, 0 → mean 1.9 / 3
    assert pinball_loss(actual, point[:, None], (0.9,)) == pytest.approx(1.9 / 3)
    assert coverage(actual, np.array([9.0, 0.0, 6.0]), np.array([11.0, 0.0, 7.0])) == pytest.approx(
        2 / 3
    )


def test_origins_spread_every_third_month_over_three_years():
    last = pd.Period("2026-10", "M")
    origins = backtest_origins(last, n_origins=12, span_months=36)
    assert len(origins) == 12
    assert origins[0] == last - 36 and origins[-1] == last - 3
    assert all((b - a).n == 3 for a, b in itertools.pairwise(origins))


@pytest.fixture(scope="module")
def small_district():
    return simulate_district(
        "district", seed=11, n_kindergartens=10, start=pd.Period("2020-01", "M")
    ).district


@pytest.fixture(scope="module")
def small_backtest(small_district):
    def make():
        return ForecastPipeline(
            targets=["children_over3"], horizons=3, lgbm_params=FAST, calibration_origins=2
        )

    return rolling_origin_backtest(small_district, make, n_origins=2, span_months=6, horizons=3)


def test_backtest_scores_every_model_target_and_horizon(small_backtest, small_district):
    predictions, metrics = small_backtest.predictions, small_backtest.metrics
    assert list(predictions.columns) == [*FORECAST_COLUMNS, "actual", "model", "mase_scale"]
    assert set(predictions["model"]) == {"lightgbm", "seasonal_naive", "last_value"}
    assert list(metrics.columns) == list(METRIC_COLUMNS)
    assert len(metrics) == 3 * 3  # models × horizons for the one target
    assert (metrics["n"] > 0).all()
    assert (
        metrics[["coverage_50", "coverage_80", "coverage_90"]]
        .apply(lambda c: c.between(0, 1))
        .all()
        .all()
    )
    # wider intervals never cover less
    assert (metrics["coverage_90"] >= metrics["coverage_80"]).all()
    assert (metrics["coverage_80"] >= metrics["coverage_50"]).all()
    summary = summary_table(metrics)
    assert (
        summary.loc[summary["model"] == "seasonal_naive", "wape_vs_best_baseline"].iloc[0] >= 1.0
        or summary.loc[summary["model"] == "last_value", "wape_vs_best_baseline"].iloc[0] >= 1.0
    )


def test_actuals_are_what_a_merge_adds_and_labels_stay_text(small_backtest, small_district):
    """The actuals are looked up in place (no merge copying every row): the same values and
    dtype as a left merge on kindergarten, month and target gives; ids, targets and models
    stay text, each distinct value one string per fold and model shared by its rows (the
    memory bound)."""
    from training.backtest import _actuals

    predictions = small_backtest.predictions
    keys = ["kindergarten_id", "month", "target"]
    merged = predictions.drop(columns="actual").merge(
        _actuals(small_district, ["children_over3"]), on=keys, how="left"
    )
    pd.testing.assert_series_equal(predictions["actual"], merged["actual"])
    assert predictions["actual"].notna().any() and predictions["actual"].isna().any()
    for column in ("kindergarten_id", "target", "model"):
        assert predictions[column].dtype == object
        values = predictions[column].tolist()
        parts = len(small_backtest.origins) * 3  # a fold's forecasts per model
        assert len({id(v) for v in values}) <= len(set(values)) * parts < len(values)


def test_actual_lookup_equals_a_left_merge_beyond_the_data_and_in_its_gaps(small_district):
    """The dense lookup gives what a left merge on kindergarten, month and target adds: the
    recorded value, NaN for a value not recorded (a gap), a month before or after the data, a
    kindergarten or a target the data lack."""
    from training.backtest import _actual_lookup, _actuals

    district = small_district
    monthly = district.monthly.copy()
    gapped = monthly.index[monthly["kindergarten_id"] == monthly["kindergarten_id"].iloc[0]][:5]
    monthly["children_over3"] = monthly["children_over3"].astype("Float64")
    monthly.loc[gapped, "children_over3"] = None
    district = replace(district, monthly=monthly)
    first, last = monthly["month"].min(), monthly["month"].max()
    ids = [*pd.unique(monthly["kindergarten_id"])[:3], "no such kindergarten"]
    targets = ["children_over3", "children_under3", "no_such_target"]
    months = [first - 1, first, first + 3, last - 1, last, last + 1, last + 12]
    keys = ["kindergarten_id", "month", "target"]
    rows = pd.DataFrame(list(itertools.product(ids, months, targets)), columns=keys).sample(
        frac=1.0, random_state=0, ignore_index=True
    )
    rows["month"] = rows["month"].astype(pd.PeriodDtype("M"))
    merged = rows.merge(
        _actuals(district, ["children_over3", "children_under3"]),
        on=keys,
        how="left",
    )
    got = _actual_lookup(district).at(rows)
    np.testing.assert_array_equal(got, merged["actual"].to_numpy(float))
    assert np.isnan(got).any() and (~np.isnan(got)).sum() > 10


def test_stacked_equals_concat_and_empties_the_parts():
    """The backtest's predictions stacked column by column are what ``pd.concat`` gives (dtypes,
    periods and missing values included), and the parts let go of each column once stacked, so
    parts and stack are never held whole together (the memory bound)."""
    from training.backtest import stacked

    months = pd.period_range("2024-01", periods=4, freq="M")
    parts = [
        pd.DataFrame(
            {
                "kindergarten_id": ["a", "b", "a", "c"][: n + 1],
                "month": months[: n + 1],
                "horizon": np.arange(n + 1),
                "p50": np.linspace(0, 1, n + 1),
                "actual": pd.array([1.0, None, 2.0, 3.0][: n + 1], dtype="Float64"),
                "model": "lightgbm" if n else "last_value",
            },
            index=np.arange(n + 1) + 10 * n,  # each part its own index, as the folds have
        )
        for n in range(4)
    ]
    columns = ["month", "kindergarten_id", "horizon", "p50", "actual", "model"]
    expected = pd.concat(parts, ignore_index=True)[columns]
    got = stacked([part.copy() for part in parts], columns)
    pd.testing.assert_frame_equal(got, expected)
    emptied = [part.copy() for part in parts]
    stacked(emptied, columns)
    assert all(part.columns.empty for part in emptied)


def test_metrics_equal_a_groupby_of_the_scored_rows(small_backtest):
    """The metrics computed from the columns by position equal those of the scored rows copied
    and grouped (the straightforward way, which held a second copy of the predictions)."""
    from training.metrics import forecast_metrics

    predictions = small_backtest.predictions
    scored = predictions.dropna(subset=["actual"])
    expected = pd.concat(
        [
            forecast_metrics(group.reset_index(drop=True))
            for _, group in scored.groupby(["target", "horizon", "model"], sort=True)
        ],
        ignore_index=True,
    )
    got = forecast_metrics(predictions)
    pd.testing.assert_frame_equal(got, expected)
    assert (got["n"] > 0).all()
    assert len(got) == scored.groupby(["target", "horizon", "model"]).ngroups


def test_metrics_from_fold_sums_equal_the_metrics_of_all_rows(small_backtest):
    """Sums per fold added up give the metrics of every row at once, and those are the
    module's definitions (WAPE, MASE, pinball, coverage, expected-number scores) computed on
    the group's rows directly."""
    from training.metrics import (
        INTERVALS,
        forecast_metrics,
        mean_from_quantiles,
        metric_sums,
        metrics_from_sums,
        poisson_deviance,
    )

    predictions = small_backtest.predictions
    folds = [metric_sums(fold) for _, fold in predictions.groupby("origin")]
    got = metrics_from_sums(pd.concat(folds, ignore_index=True))
    pd.testing.assert_frame_equal(got, forecast_metrics(predictions), rtol=1e-12)
    quantile_columns = ["p05", "p10", "p25", "p50", "p75", "p90", "p95"]
    for (target, horizon, model), rows in predictions.dropna(subset=["actual"]).groupby(
        ["target", "horizon", "model"]
    ):
        row = got[(got["target"] == target) & (got["horizon"] == horizon) & (got["model"] == model)]
        y, p50 = rows["actual"].to_numpy(float), rows["p50"].to_numpy(float)
        quantiles = rows[quantile_columns].to_numpy(float)
        scale = rows["mase_scale"].to_numpy(float)
        mean = mean_from_quantiles(quantiles)
        expected = {
            "wape": wape(y, p50),
            "mase": np.nanmean(np.abs(y - p50) / scale),
            "pinball": pinball_loss(y, quantiles),
            "mae_mean": np.mean(np.abs(y - mean)),
            "scaled_pinball": pinball_loss(y, quantiles) / np.nanmean(scale),
            "poisson_deviance": poisson_deviance(y, mean),
            "n": len(y),
            **{
                name: coverage(y, rows[lo].to_numpy(float), rows[hi].to_numpy(float))
                for name, (lo, hi) in INTERVALS.items()
            },
        }
        for name, value in expected.items():
            assert row[name].iloc[0] == pytest.approx(value, rel=1e-12), name


def test_predictions_kept_for_the_model_alone_with_every_models_metrics(
    small_backtest, small_district
):
    """A train keeps the model's predictions only: the baselines' are scored fold by fold and
    let go; the model's predictions and everyone's metrics are those of the full backtest."""

    def make():
        return ForecastPipeline(
            targets=["children_over3"], horizons=3, lgbm_params=FAST, calibration_origins=2
        )

    lean = rolling_origin_backtest(
        small_district, make, n_origins=2, span_months=6, horizons=3, keep_predictions=["lightgbm"]
    )
    full = small_backtest.predictions
    pd.testing.assert_frame_equal(
        lean.predictions, full[full["model"] == "lightgbm"].reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(lean.metrics, small_backtest.metrics)
    assert set(lean.metrics["model"]) == {"lightgbm", "seasonal_naive", "last_value"}


def test_origins_in_forked_processes_equal_one_after_another(small_backtest, small_district):
    """Two origins at a time in forked workers (one thread each; the pipeline factory a
    closure, as a train's is): the same predictions and metrics as one origin after another."""
    steps = []

    def make():
        return ForecastPipeline(
            targets=["children_over3"], horizons=3, lgbm_params=FAST, calibration_origins=2
        )

    forked = rolling_origin_backtest(
        small_district,
        make,
        n_origins=2,
        span_months=6,
        horizons=3,
        processes=2,
        progress=lambda text, done, total: steps.append((text, done, total)),
    )
    pd.testing.assert_frame_equal(forked.predictions, small_backtest.predictions)
    pd.testing.assert_frame_equal(forked.metrics, small_backtest.metrics)
    assert [done for _, done, _ in steps] == [1, 2]


def test_backtest_forecasts_use_only_data_up_to_their_origin(small_backtest, small_district):
    origin = small_backtest.origins[0]
    refit = ForecastPipeline(
        targets=["children_over3"], horizons=3, lgbm_params=FAST, calibration_origins=2
    ).fit(as_of(small_district, origin))
    again = refit.predict(small_district, horizon=3, origin=origin)
    got = small_backtest.predictions
    got = got[(got["model"] == "lightgbm") & (got["origin"] == origin)][list(FORECAST_COLUMNS)]
    pd.testing.assert_frame_equal(got.reset_index(drop=True), again)


def test_backtest_plots_are_written_and_labelled_simulated(
    small_backtest, small_district, tmp_path, monkeypatch
):
    titles = []
    import matplotlib.figure

    original = matplotlib.figure.Figure.suptitle

    def record(self, text, *args, **kwargs):
        titles.append(text)
        return original(self, text, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "suptitle", record)
    plots = write_backtest_plots(small_backtest, small_district, tmp_path)
    assert set(plots) == {"fan_children_over3", "calibration_curve"}
    for path in plots.values():
        assert path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert titles and all(SIMULATED_LABEL in t for t in titles)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["cohort", "capacity"])
def test_lightgbm_beats_seasonal_naive_and_80_percent_intervals_cover_80_percent(family):
    """On both simulator families (SIMULATED), with short histories (30 kindergartens from
    2019), over six origins: with three, one origin's district-wide surprise at the August
    shift moved the pooled coverage by five points (capacity family, seed 5: 0.748 at three
    origins, 0.779 at six; tuning seeds 1–3 at three origins 0.820–0.824)."""
    from simulate.capacity import simulate_capacity

    start = pd.Period("2019-01", "M")
    district = (
        simulate_capacity(seed=5, n_kindergartens=30, start=start)
        if family == "capacity"
        else simulate_district("district", seed=5, n_kindergartens=30, start=start)
    ).district
    targets = ["children_under3", "children_over3", "vedtak_31"]
    result = rolling_origin_backtest(
        district,
        lambda: ForecastPipeline(targets=targets),
        n_origins=6,
        span_months=24,
        horizons=12,
    )
    summary = summary_table(result.metrics).set_index(["target", "model"])
    for target in targets:
        ours = summary.loc[(target, "lightgbm"), "wape"]
        naive = summary.loc[(target, "seasonal_naive"), "wape"]
        assert ours < naive, f"{target}: WAPE {ours:.3f} vs seasonal naive {naive:.3f}"
    ours = result.predictions[result.predictions["model"] == "lightgbm"].dropna(subset=["actual"])
    assert len(ours) > 2000
    inside = (ours["actual"] >= ours["p10"]) & (ours["actual"] <= ours["p90"])
    per_target = inside.groupby(ours["target"]).mean()
    shown = ", ".join(f"{t} {c:.3f}" for t, c in per_target.items())
    assert abs(inside.mean() - 0.80) <= 0.05, f"80 % interval covers {inside.mean():.3f} ({shown})"
    assert (abs(per_target - 0.80) <= 0.05).all(), f"80 % interval per target: {shown}"
    # right after the August shift (target months August–October), where the intake makes the
    # errors largest, each target's 80 % interval still covers 80 % ± 5 points (seed 5, with
    # the corrections per regime of the span and the width shrink: capacity 0.775-0.811, cohort
    # 0.768-0.832; pooled 0.773 / 0.826 — the band 0.78-0.82 is not met here, benchmarks/README.md)
    after_shift = pd.PeriodIndex(ours["month"], freq="M").month.isin((8, 9, 10))
    per_target = inside[after_shift].groupby(ours["target"][after_shift]).mean()
    shown = ", ".join(f"{t} {c:.3f}" for t, c in per_target.items())
    assert (abs(per_target - 0.80) <= 0.05).all(), f"80 % interval after the shift: {shown}"


def test_a_train_fits_two_origins_at_a_time_on_a_nations_data_only(monkeypatch, small_district):
    """By default a train forks two workers for data of FORKED_ORIGINS_FROM_ROWS monthly rows
    or more on a machine of two cores or more (the nation's time goal); else one origin at a
    time (a city's memory goal)."""
    from training import retrain

    assert retrain.FORKED_ORIGINS_FROM_ROWS > 77_347  # the city preset's rows: one at a time
    rows = len(small_district.monthly)
    monkeypatch.setattr(retrain.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(retrain, "FORKED_ORIGINS_FROM_ROWS", rows)
    assert retrain.default_backtest_processes(small_district) == 2
    monkeypatch.setattr(retrain, "FORKED_ORIGINS_FROM_ROWS", rows + 1)
    assert retrain.default_backtest_processes(small_district) == 1
    monkeypatch.setattr(retrain, "FORKED_ORIGINS_FROM_ROWS", rows)
    monkeypatch.setattr(retrain.os, "sched_getaffinity", lambda pid: {0})
    assert retrain.default_backtest_processes(small_district) == 1
