"""Every column the feature table and the forecast frames can produce has a plain-language name
in bokmål and English, with a unit."""

from __future__ import annotations

import pandas as pd
import pytest

from data.contract import TARGETS
from features.labels import column_label, feature_label, feature_unit
from features.table import build_feature_table
from models.forecast.contributions import CAPACITY_BOUND_FEATURE
from models.forecast.frames import (
    CYCLE_TARGETS,
    HISTORY_FEATURES,
    HORIZON_FEATURE,
    MEDIAN_ONLY_FEATURES,
    SEASONAL_LEVEL_FEATURES,
    projection_feature_names,
)


@pytest.fixture(scope="module")
def feature_table() -> pd.DataFrame:
    from simulate import simulate_district

    simulation = simulate_district(
        "district", seed=1, n_kindergartens=4, start=pd.Period("2022-01", "M")
    )
    return build_feature_table(simulation.district)


def test_every_column_of_the_feature_table_has_a_label_in_both_languages(
    feature_table: pd.DataFrame,
) -> None:
    keys = {"kindergarten_id", "month", "district"}
    columns = [c for c in feature_table.columns if c not in keys]
    assert len(columns) > 80
    for column in columns:
        label = column_label(column)
        assert label.nb and label.en and label.nb != label.en, column
        assert "_" not in label.nb + label.en, column


def test_every_target_specific_and_horizon_feature_has_a_label() -> None:
    names = [*HISTORY_FEATURES, *MEDIAN_ONLY_FEATURES, *SEASONAL_LEVEL_FEATURES, HORIZON_FEATURE]
    for target in CYCLE_TARGETS:
        names += projection_feature_names(target)
    for target in TARGETS:
        for name in names:
            label = column_label(name, target=target)
            assert "{" not in label.nb and "_" not in label.en, name
    assert column_label("target_last", target="children_under3").nb == "barn under 3 år nå"


def test_labels_read_as_words_with_units() -> None:
    assert feature_label("known_u3_crossing_share", "en") == (
        "share of the under-3s who turn 3 this August"
    )
    assert feature_label("sick_leave_rate_lag12", "nb") == "sykefravær for 12 måneder siden"
    # a late source's column as known in the month (a raw folder's lineage makes these)
    assert feature_label("low_income_share_known_at_t", "nb") == (
        "andel barn i lavinntektsfamilier, sist kjente"
    )
    assert feature_unit("minority_language_share_known_at_t") == "share"
    assert feature_label("children_over3_mean_3m", "en") == (
        "children aged 3 and over, mean of the last 3 months"
    )
    assert feature_unit("sick_leave_rate_mean_12m") == "share"
    assert feature_unit("staff_fte_lag1") == "fte"


def test_an_unknown_column_is_refused_by_the_catalogue_and_shown_without_underscores() -> None:
    with pytest.raises(KeyError, match="no_such_column"):
        column_label("no_such_column")
    assert feature_label("no_such_column") == "no such column"


def test_the_capacity_bound_driver_reads_as_words() -> None:
    label = column_label(CAPACITY_BOUND_FEATURE, target="children_under3")
    assert label.nb == "plass til barn under 3 innenfor godkjent kapasitet"
    assert label.unit == "count" and "_" not in label.nb + label.en
