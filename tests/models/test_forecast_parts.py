"""The forecasting parts on their own: horizon frames against a plain pandas oracle, conformal
calibration, bottom-up district totals, baselines and the scikit-learn contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from data.contract import FORECAST_COLUMNS, QUANTILE_COLUMNS, District
from models.forecast import LastValue, SeasonalNaive, district_forecasts
from models.forecast.conformal import apply_calibration, fit_calibration
from models.forecast.frames import build_panel_grid, horizon_frame
from models.forecast.quantile_lgbm import QuantileLGBMRegressor
from models.forecast.reconcile import residual_correlation


def tiny_panel(seed: int = 0) -> pd.DataFrame:
    """Three kindergartens, 30 months, a gap in one and a missing value in another."""
    rng = np.random.default_rng(seed)
    months = pd.period_range("2022-01", periods=30, freq="M")
    rows = [(k, m, float(rng.integers(5, 40))) for k in ("A", "B", "C") for m in months]
    frame = pd.DataFrame(rows, columns=["kindergarten_id", "month", "children_under3"])
    frame = frame[~((frame["kindergarten_id"] == "B") & frame["month"].isin(months[10:13]))]
    frame.loc[
        (frame["kindergarten_id"] == "C") & (frame["month"] == months[5]), "children_under3"
    ] = np.nan
    return frame.reset_index(drop=True)


def test_horizon_frame_matches_a_pandas_oracle():
    panel = tiny_panel()
    panel["feature"] = panel["children_under3"] * 2
    grid = build_panel_grid(
        panel,
        None,
        point_in_time_names=["feature"],
        known_future_names=[],
        targets=["children_under3"],
    )
    h = 3
    frame = horizon_frame(grid, "children_under3", h, stacked=False)
    later = panel.assign(month=panel["month"] - h)[["kindergarten_id", "month", "children_under3"]]
    oracle = panel.merge(later, on=["kindergarten_id", "month"], suffixes=("", "_future"))
    oracle = oracle.dropna(subset=["children_under3", "children_under3_future"])
    assert len(frame.label) == len(oracle)
    got = pd.DataFrame(
        {
            "kindergarten_id": grid.kindergarten_ids[frame.kindergarten_index],
            "month": grid.months[frame.origin_index],
            "label": frame.label,
            "anchor": frame.anchor,
        }
    )
    merged = got.merge(oracle, on=["kindergarten_id", "month"])
    assert len(merged) == len(oracle)
    # children learn the change from their intake-cycle projection (the anchor): adding the
    # anchor back gives the future count
    np.testing.assert_allclose(merged["label"] + merged["anchor"], merged["children_under3_future"])
    # the same-month-last-year feature is y(t + h − 12), NaN before the data start
    same_month = frame.features[:, 2]  # feature, target_last, target_same_month_last_year
    t = frame.origin_index
    expected = np.where(
        t + h - 12 >= 0,
        grid.targets["children_under3"][frame.kindergarten_index, np.maximum(t + h - 12, 0)],
        np.nan,
    )
    np.testing.assert_array_equal(same_month, expected.astype(np.float32))


def test_conformal_calibration_reaches_nominal_coverage_on_fresh_data():
    """Intervals three times too narrow are widened until 80 % of new outcomes fall inside."""
    rng = np.random.default_rng(1)
    quantiles = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)
    z = np.array([-1.645, -1.2816, -0.6745, 0.0, 0.6745, 1.2816, 1.645])

    def sample(n):
        scale = rng.uniform(1, 10, n)  # kindergartens of different sizes
        predicted = 50 + scale[:, None] * z[None, :] / 3
        actual = 50 + scale * rng.standard_normal(n)
        return predicted, actual

    predicted, actual = sample(4000)
    corrections = fit_calibration(predicted, actual, target="children_under3", quantiles=quantiles)
    assert corrections["raw_coverage_0.8"] < 0.5
    fresh_pred, fresh_actual = sample(4000)
    calibrated = apply_calibration(
        fresh_pred, corrections, target="children_under3", quantiles=quantiles
    )
    for lo, hi, nominal in ((1, 5, 0.8), (0, 6, 0.9), (2, 4, 0.5)):
        inside = np.mean((fresh_actual >= calibrated[:, lo]) & (fresh_actual <= calibrated[:, hi]))
        assert abs(inside - nominal) < 0.03
    assert (np.diff(calibrated, axis=1) >= 0).all()


def _forecasts() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    rows = []
    for k in range(6):
        for h in (1, 2):
            p50 = rng.uniform(0, 20)
            spread = np.array([-3, -2, -1, 0, 1, 2, 3]) * rng.uniform(0.2, 2)
            values = np.maximum(p50 + spread, 0)
            rows.append(
                [
                    f"K{k}",
                    pd.Period("2026-10", "M"),
                    pd.Period("2026-10", "M") + h,
                    h,
                    "vedtak_31",
                    *values,
                ]
            )
    forecasts = pd.DataFrame(rows, columns=list(FORECAST_COLUMNS))
    kindergartens = pd.DataFrame(
        {"kindergarten_id": [f"K{k}" for k in range(6)], "district": ["East"] * 3 + ["West"] * 3}
    )
    return forecasts, kindergartens


def test_district_p50_is_the_sum_of_kindergarten_p50s_and_never_negative():
    forecasts, kindergartens = _forecasts()
    for rho in (1.0, 0.3, 0.0):
        totals = district_forecasts(forecasts, kindergartens, correlation=rho)
        assert len(totals) == 2 * 2
        merged = forecasts.merge(kindergartens, on="kindergarten_id")
        sums = merged.groupby(["district", "horizon"])["p50"].sum()
        got = totals.set_index(["district", "horizon"])["p50"]
        np.testing.assert_allclose(got.sort_index(), sums.sort_index())
        q = totals[list(QUANTILE_COLUMNS)].to_numpy()
        assert (q >= 0).all() and (np.diff(q, axis=1) >= 0).all()
    # ρ = 1: every quantile column adds up; ρ = 0: a narrower district interval
    comonotone = district_forecasts(forecasts, kindergartens, correlation=1.0)
    independent = district_forecasts(forecasts, kindergartens, correlation=0.0)
    merged = forecasts.merge(kindergartens, on="kindergarten_id")
    np.testing.assert_allclose(
        comonotone.set_index(["district", "horizon"])["p95"].sort_index(),
        merged.groupby(["district", "horizon"])["p95"].sum().sort_index(),
    )
    assert (
        (independent["p95"] - independent["p05"]) <= (comonotone["p95"] - comonotone["p05"]) + 1e-9
    ).all()


def test_residual_correlation_separates_shared_and_independent_errors():
    rng = np.random.default_rng(0)
    origins = np.repeat(np.arange(40), 30)
    shared = rng.standard_normal(40)[origins]
    own = rng.standard_normal(len(origins))
    common = residual_correlation(pd.DataFrame({"origin": origins, "residual": shared}))
    independent = residual_correlation(pd.DataFrame({"origin": origins, "residual": own}))
    assert common > 0.9
    assert independent < 0.1


def _district_from(panel: pd.DataFrame) -> District:
    kindergartens = pd.DataFrame(
        {"kindergarten_id": ["A", "B", "C"], "district": "X", "capacity": 60}
    )
    return District(kindergartens=kindergartens, monthly=panel)


def test_seasonal_naive_takes_the_same_month_a_year_before_else_the_last_value():
    panel = tiny_panel()
    gap = (panel["kindergarten_id"] == "B") & (panel["month"] == pd.Period("2023-09", "M"))
    panel = panel[~gap].reset_index(drop=True)
    district = _district_from(panel)
    model = SeasonalNaive(targets=["children_under3"], horizons=12).fit(district)
    out = model.predict(district)
    value = panel.set_index(["kindergarten_id", "month"])["children_under3"]
    origin = panel["month"].max()
    fell_back = 0
    for row in out.itertuples():
        expected = value.get((row.kindergarten_id, row.month - 12), np.nan)
        if np.isnan(expected):
            expected = value[(row.kindergarten_id, origin)]
            fell_back += 1
        # p50 = the point forecast moved by the median of the baseline's own past errors
        median_error = model.error_quantiles_["children_under3"][str(row.horizon)][3]
        assert row.p50 == pytest.approx(max(expected + median_error, 0.0), abs=1e-9)
    assert fell_back == 1  # B has no 2023-09, so its 2024-09 forecast falls back
    last = (
        LastValue(targets=["children_under3"], horizons=2)
        .fit(district)
        .predict(district, horizon=2)
    )
    assert list(last.columns) == list(FORECAST_COLUMNS)
    assert (np.diff(last[list(QUANTILE_COLUMNS)].to_numpy(), axis=1) >= 0).all()
    assert (last.groupby("kindergarten_id").size() == 2).all()


@parametrize_with_checks(
    [
        QuantileLGBMRegressor(
            quantiles=(0.1, 0.5, 0.9),
            params={"n_estimators": 40, "learning_rate": 0.3, "min_data_in_leaf": 1},
        )
    ]
)
def test_quantile_regressor_follows_the_sklearn_contract(estimator, check):
    check(estimator)


def test_quantile_regressor_contributions_add_up_to_the_median_prediction():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 4))
    y = 3 * X[:, 0] + rng.standard_normal(400)
    model = QuantileLGBMRegressor(quantiles=(0.1, 0.5, 0.9), params={"n_estimators": 30}).fit(X, y)
    contributions = model.contributions(X)
    raw_median = model.booster_nearest(0.5).predict(X)
    np.testing.assert_allclose(contributions.sum(axis=1), raw_median, rtol=1e-6, atol=1e-6)
    assert np.abs(contributions[:, 0]).mean() > np.abs(contributions[:, 1:4]).mean() * 3


def test_residual_correlation_matches_a_plain_loop_over_origins():
    rng = np.random.default_rng(3)
    origins = np.repeat(np.arange(6), 40)
    residuals = rng.normal(size=len(origins)) + rng.normal(size=6)[origins]
    frame = pd.DataFrame({"origin": origins, "residual": residuals})
    total = independent = comonotone = 0.0
    for o in range(6):
        e = residuals[origins == o]
        total += e.sum() ** 2 / 6
        independent += (e**2).sum() / 6
        comonotone += np.abs(e).sum() ** 2 / 6
    expected = (total - independent) / (comonotone - independent)
    assert residual_correlation(frame) == pytest.approx(np.clip(expected, 0, 1))


def test_median_only_features_inform_the_median_and_no_other_quantile():
    """A feature that moves the centre is used by the median's booster alone: the tails are the
    very boosters fitted without it."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((600, 3))
    y = 4 * X[:, 0] + X[:, 1] + rng.standard_normal(600)
    names = ["shift", "other", "noise"]
    model = QuantileLGBMRegressor(
        quantiles=(0.1, 0.5, 0.9),
        params={"n_estimators": 30, "min_data_in_leaf": 10},
        median_only_features=["shift"],
    ).fit(X, y, feature_names=names)
    assert model.boosters_[1].feature_name() == names
    assert [b.feature_name() for b in (model.boosters_[0], model.boosters_[2])] == [names[1:]] * 2
    plain = QuantileLGBMRegressor(
        quantiles=(0.1, 0.5, 0.9), params={"n_estimators": 30, "min_data_in_leaf": 10}
    ).fit(X[:, 1:], y, feature_names=names[1:])
    moved = X.copy()
    moved[:, 0] += 5.0
    ours, without = model.predict_quantiles(moved), plain.predict_quantiles(X[:, 1:])
    assert not np.allclose(ours[:, 1], without[:, 1]), "the median follows the feature"
    tails = np.column_stack([model.boosters_[i].predict(moved[:, 1:]) for i in (0, 2)])
    plain_tails = np.column_stack([plain.boosters_[i].predict(X[:, 1:]) for i in (0, 2)])
    np.testing.assert_array_equal(tails, plain_tails)
    with pytest.raises(ValueError, match="median_only_features needs feature_names"):
        QuantileLGBMRegressor(median_only_features=["shift"]).fit(X, y)


def test_boosters_from_arrow_columns_equal_boosters_from_the_matrix(monkeypatch):
    """LightGBM's Datasets are built from Arrow columns for speed: the boosters must be the very
    ones the row-major matrix gave (same bins, NaN read as missing), median-only columns and
    all."""
    import models.forecast.quantile_lgbm as quantile_lgbm

    rng = np.random.default_rng(4)
    X = rng.standard_normal((800, 6)).astype(np.float32)
    X[rng.random(X.shape) < 0.1] = np.nan
    y = 2 * np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]).round() + rng.standard_normal(800)
    names = [f"f{j}" for j in range(6)]

    def fit() -> QuantileLGBMRegressor:
        return QuantileLGBMRegressor(
            quantiles=(0.1, 0.5, 0.9),
            params={"n_estimators": 25, "min_data_in_leaf": 10},
            median_only_features=["f2"],
        ).fit(X, y, feature_names=names)

    from_arrow = fit()
    monkeypatch.setattr(
        quantile_lgbm,
        "_arrow_table",
        lambda by_column, columns: np.ascontiguousarray(by_column[list(columns)].T),
    )
    from_matrix = fit()
    for a, b in zip(from_arrow.boosters_, from_matrix.boosters_, strict=True):
        assert a.model_to_string() == b.model_to_string()
    np.testing.assert_array_equal(from_arrow.predict_quantiles(X), from_matrix.predict_quantiles(X))


def test_a_fit_without_feature_names_keeps_lightgbms_column_names():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((200, 3))
    model = QuantileLGBMRegressor(quantiles=(0.1, 0.5, 0.9), params={"n_estimators": 5}).fit(
        X, X[:, 0] + rng.standard_normal(200)
    )
    assert model.feature_names_ == ["Column_0", "Column_1", "Column_2"]
    assert all(b.feature_name() == model.feature_names_ for b in model.boosters_)


def test_unused_features_give_the_boosters_fitted_without_them():
    """Columns no booster sees: every booster (median and tails, median-only columns and all) is
    the one fitted on the design without them, at fit and when predicting from the full design,
    and their contributions are 0."""
    rng = np.random.default_rng(6)
    X = rng.standard_normal((600, 5))
    y = 3 * X[:, 0] + X[:, 2] + X[:, 4] + rng.standard_normal(600)
    names = ["a", "unused", "b", "median_only", "c"]
    params = {"n_estimators": 20, "min_data_in_leaf": 10}
    model = QuantileLGBMRegressor(
        quantiles=(0.1, 0.5, 0.9),
        params=params,
        median_only_features=["median_only"],
        unused_features=["unused"],
    ).fit(X, y, feature_names=names)
    kept = [0, 2, 3, 4]
    plain = QuantileLGBMRegressor(
        quantiles=(0.1, 0.5, 0.9), params=params, median_only_features=["median_only"]
    ).fit(X[:, kept], y, feature_names=[names[j] for j in kept])
    for a, b in zip(model.boosters_, plain.boosters_, strict=True):
        assert a.model_to_string() == b.model_to_string()
    moved = X.copy()
    moved[:, 1] = rng.standard_normal(600) * 100  # an unused column changes nothing
    np.testing.assert_array_equal(
        model.predict_quantiles(moved), plain.predict_quantiles(X[:, kept])
    )
    contributions = model.contributions(X)
    assert contributions.shape == (600, 6)
    assert (contributions[:, 1] == 0).all()
    np.testing.assert_array_equal(
        contributions[:, [0, 2, 3, 4, 5]], plain.contributions(X[:, kept])
    )
    assert model.feature_names_ == names
    with pytest.raises(ValueError, match="unused_features needs feature_names"):
        QuantileLGBMRegressor(unused_features=["unused"]).fit(X, y)
