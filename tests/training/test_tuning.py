"""Optuna tuning on backtest folds: a 3-trial study in SQLite whose best parameters are what
`train --study` picks up, fold-by-fold pruning, the search space and bad input."""

from __future__ import annotations

import itertools

import optuna
import pytest
from tracking_fixtures import small_district, small_pipeline

from data.errors import UserInputError
from training.tuning import (
    LGBM_PARAMS_ATTR,
    ORIGIN_SPACING_MONTHS,
    best_lgbm_params,
    open_study,
    search_space,
    tune,
    tuning_origins,
)


@pytest.fixture(scope="module")
def district():
    return small_district()


def make_pipeline(lgbm):
    """The trial's parameters, with the boosting rounds capped so the test stays fast."""
    if not lgbm:
        return small_pipeline()
    return small_pipeline(lgbm={**lgbm, "n_estimators": min(lgbm["n_estimators"], 40), "n_jobs": 1})


@pytest.mark.slow
def test_three_trials_in_sqlite_and_the_best_feed_train(district, tmp_path):
    storage = f"sqlite:///{tmp_path}/optuna.db"
    study = tune(
        district,
        n_trials=3,
        storage=storage,
        study_name="t",
        n_origins=2,
        make_pipeline=make_pipeline,
    )
    assert len(study.trials) == 3
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert finished, "with two startup trials at least two finish"
    for trial in finished:
        assert trial.user_attrs[LGBM_PARAMS_ATTR]["num_leaves"] == trial.params["num_leaves"]
        assert set(trial.intermediate_values) == {0, 1}  # one report per fold
        assert 0 < trial.value < 1  # a share of the actual volume
    params, record = best_lgbm_params(storage, "t")
    assert params == study.best_trial.user_attrs[LGBM_PARAMS_ATTR]
    assert record["trial"] == study.best_trial.number
    assert record["data_fingerprint"] == district.fingerprint()
    # a second worker on the same storage joins the study instead of starting a new one
    assert len(open_study(storage, "t").trials) == 3
    # and the parameters fit a pipeline as they are
    fitted = make_pipeline(params).fit(district)
    assert fitted.predict(district, horizon=3)["p50"].ge(0).all()


def test_a_trial_is_pruned_after_the_first_fold_when_the_pruner_says_so(district, tmp_path):
    study = tune(
        district,
        n_trials=1,
        storage=f"sqlite:///{tmp_path}/optuna.db",
        study_name="pruned",
        n_origins=3,
        make_pipeline=make_pipeline,
        pruner=optuna.pruners.ThresholdPruner(upper=1e-9),
    )
    (trial,) = study.trials
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert list(trial.intermediate_values) == [0]  # the other two folds were never fitted
    with pytest.raises(UserInputError, match="has no finished trial yet"):
        best_lgbm_params(f"sqlite:///{tmp_path}/optuna.db", "pruned")


def test_search_space_is_a_plain_function_of_the_trial():
    fixed = optuna.trial.FixedTrial(
        {
            "n_estimators": 100,
            "learning_rate": 0.05,
            "num_leaves": 15,
            "min_data_in_leaf": 20,
            "feature_fraction": 0.9,
            "bagging_fraction": 1.0,
            "lambda_l2": 0.1,
        }
    )
    params = search_space(fixed)
    assert params["num_leaves"] == 15 and params["bagging_freq"] == 0
    fixed = optuna.trial.FixedTrial({**fixed.params, "bagging_fraction": 0.7})
    assert search_space(fixed)["bagging_freq"] == 1


def test_folds_are_the_latest_origins_with_every_horizon_observed(district):
    origins = tuning_origins(district, n_origins=3, horizons=3)
    assert origins[0] == district.last_month - 3
    assert [(a - b).n for a, b in itertools.pairwise(origins)] == [ORIGIN_SPACING_MONTHS] * 2


def test_too_little_history_says_how_many_months_are_needed(tmp_path):
    short = small_district(end="2021-12")  # 24 months
    with pytest.raises(
        UserInputError,
        match=r"too little history to tune on 3 origins: "
        r"\d+ months needed, 24 present",
    ):
        tune(
            short,
            n_trials=1,
            storage=f"sqlite:///{tmp_path}/o.db",
            study_name="s",
            n_origins=3,
            make_pipeline=make_pipeline,
        )


def test_a_missing_study_or_a_bad_storage_is_a_user_error(tmp_path):
    with pytest.raises(UserInputError, match="no study 'nope'"):
        best_lgbm_params(f"sqlite:///{tmp_path}/o.db", "nope")
    with pytest.raises(UserInputError, match="cannot be opened"):
        open_study("postgresql+psycopg://nobody@127.0.0.1:9/none", "s")
