"""Point in time across raw sources: coarse periods and publication lags never leak into a
feature before the value was published (CONTRACT.md, "Point in time")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.contract import District
from data.lineage import publication
from data.periods import period_end_of_month
from data.validate import read_district
from features.availability import last_known_month
from features.table import KNOWN_SUFFIX, QUALITY_PREFIX, build_feature_table, feature_columns
from simulate import simulate_district
from simulate.raw import write_raw_exports


@pytest.fixture(scope="module")
def raw_district(tmp_path_factory: pytest.TempPathFactory) -> District:
    sim = simulate_district(
        "district",
        seed=11,
        n_kindergartens=8,
        start=pd.Period("2020-01", "M"),
        end=pd.Period("2023-12", "M"),
    )
    folder: Path = tmp_path_factory.mktemp("raw")
    write_raw_exports(sim.district, folder)
    return read_district(folder)


def _known_from(district: District, column: str) -> np.ndarray:
    pub = publication(district.lineage, "monthly", column)
    months = district.monthly["month"].array.asi8  # type: ignore[attr-defined]
    return period_end_of_month(months, pub.every) + pub.lag


def test_lagged_columns_get_an_as_known_twin_and_drop_out_of_the_features(raw_district):
    table = build_feature_table(raw_district)
    point_in_time, _ = feature_columns(table)
    for column in ("sick_leave_rate", "minority_language_share", "low_income_share"):
        assert f"{column}{KNOWN_SUFFIX}" in point_in_time
        assert column not in point_in_time
        assert column in table.columns  # the current value stays, as the target
    assert "staff_fte" in point_in_time and f"staff_fte{KNOWN_SUFFIX}" not in table.columns


def test_last_known_month_of_a_lagged_quarter_and_year():
    from data.lineage import Publication

    months = pd.PeriodIndex(["2024-03", "2024-04", "2024-05", "2024-06"], freq="M").asi8
    quarter = last_known_month(months, Publication("quarter", 1))
    assert [str(pd.Period(ordinal=int(o), freq="M")) for o in quarter] == [
        "2023-12",
        "2024-03",
        "2024-03",
        "2024-03",
    ]
    year = last_known_month(months, Publication("year", 6))
    # the year 2023 is published six months after its December: from June 2024
    assert [str(pd.Period(ordinal=int(o), freq="M")) for o in year] == [
        "2022-12",
        "2022-12",
        "2022-12",
        "2023-12",
    ]


@pytest.mark.parametrize("cutoff", ["2021-05", "2022-07", "2023-02"])
def test_changing_everything_not_yet_published_leaves_features_up_to_t_unchanged(
    raw_district, cutoff
):
    t = pd.Period(cutoff, freq="M").ordinal
    indicators = sorted(set(raw_district.quality["indicator"]))
    table = build_feature_table(raw_district, quality_indicators=indicators)
    monthly = raw_district.monthly.copy()
    month = monthly["month"].array.asi8  # type: ignore[attr-defined]
    changed_before_t = 0
    for column in monthly.select_dtypes("number").columns:
        unpublished = _known_from(raw_district, column) > t
        changed_before_t += int((unpublished & (month <= t)).sum())
        values = monthly[column].astype(float)
        monthly[column] = np.where(unpublished, values * 0.5 + 0.01, values)
    quality = raw_district.quality.copy()
    lags = {
        i: publication(raw_district.lineage, "quality", i).lag
        for i in quality["indicator"].unique()
    }
    quality_known = quality["month"].array.asi8 + quality["indicator"].map(lags).to_numpy()  # type: ignore[attr-defined]
    quality.loc[quality_known > t, "value"] = quality.loc[quality_known > t, "value"] + 1
    changed = District(
        kindergartens=raw_district.kindergartens,
        monthly=monthly,
        population=raw_district.population,
        quality=quality,
        lineage=raw_district.lineage,
    )
    again = build_feature_table(changed, quality_indicators=indicators)
    point_in_time, known = feature_columns(table)
    assert any(c.startswith(QUALITY_PREFIX) for c in point_in_time)
    before = table[table["month"].array.asi8 <= t].reset_index(drop=True)  # type: ignore[attr-defined]
    after = again[again["month"].array.asi8 <= t].reset_index(drop=True)  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(before[point_in_time + known], after[point_in_time + known])
    # values of months up to t that were not yet published did change: the test can fail
    assert changed_before_t > 0
    assert not before["sick_leave_rate"].equals(after["sick_leave_rate"])


def test_a_backtest_origin_sees_only_published_quality_and_no_later_month(raw_district):
    from models.forecast.inputs import as_of

    origin = pd.Period("2022-05", freq="M")
    known = as_of(raw_district, origin)
    assert known.monthly["month"].max() == origin
    quality = known.quality
    assert quality is not None
    surveys = quality[quality["indicator"] == "parent_survey_overall"]
    assert surveys["month"].max() == pd.Period("2021-12", freq="M")  # published in February
    assert quality["month"].max() == origin
    # the feature table at the origin sees the sick leave of the last published quarter only
    table = build_feature_table(known)
    row = table[table["month"] == origin].iloc[0]
    monthly = known.monthly
    kid = row["kindergarten_id"]
    march = monthly[(monthly["kindergarten_id"] == kid) & (monthly["month"] == "2022-03")]
    if len(march):
        assert row[f"sick_leave_rate{KNOWN_SUFFIX}"] == pytest.approx(
            float(march["sick_leave_rate"].iloc[0]), rel=1e-6
        )


def test_a_pipeline_reads_data_without_lineage_with_the_lineage_it_was_fitted_with(raw_district):
    from dataclasses import replace

    from models.forecast import ForecastPipeline

    pipeline = ForecastPipeline()
    pipeline.lineage_ = raw_district.lineage
    flat = replace(raw_district, lineage=None)  # as MLflow's pyfunc input rebuilds it
    restored = pipeline._with_lineage(flat)
    assert restored.lineage is raw_district.lineage
    with_lineage = feature_columns(build_feature_table(restored))
    assert with_lineage == feature_columns(build_feature_table(raw_district))
    assert with_lineage != feature_columns(build_feature_table(flat))
