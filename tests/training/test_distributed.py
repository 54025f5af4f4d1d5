"""The distributed path on loopback: backtest origins on a dask.distributed LocalCluster give
the same predictions as the local loop; tuning workers of one study (RDB or journal storage)
never run the same trials, locally or as cluster tasks."""

from __future__ import annotations

import pandas as pd
import pytest

from data.errors import UserInputError
from models.forecast import ForecastPipeline
from simulate import simulate_district
from training.backtest import rolling_origin_backtest
from training.tuning import open_study, search_space, tune_on_cluster, worker_seed

pytestmark = pytest.mark.slow  # a LocalCluster of two processes and a few fits: ~4 min here

FAST = {"n_estimators": 20, "learning_rate": 0.2, "min_data_in_leaf": 20, "n_jobs": 1}


@pytest.fixture(scope="module")
def district():
    """SIMULATED: a small district (8 kindergartens, 2019-01 … 2024-12, seed 2)."""
    return simulate_district(
        "district",
        seed=2,
        n_kindergartens=8,
        start=pd.Period("2019-01", "M"),
        end=pd.Period("2024-12", "M"),
    ).district


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of two single-threaded worker processes on loopback."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local:
        yield local.scheduler_address


def make_pipeline() -> ForecastPipeline:
    return ForecastPipeline(
        targets=["children_over3", "vedtak_31"],
        horizons=3,
        calibration_origins=2,
        lgbm_params=FAST,
    )


def test_distributed_backtest_equals_the_local_one(district, cluster):
    local = rolling_origin_backtest(district, make_pipeline, n_origins=3, span_months=9, horizons=3)
    spread = rolling_origin_backtest(
        district, make_pipeline, n_origins=3, span_months=9, horizons=3, cluster=cluster
    )
    assert spread.origins == local.origins
    pd.testing.assert_frame_equal(spread.predictions, local.predictions)
    pd.testing.assert_frame_equal(spread.metrics, local.metrics)


def test_an_unreachable_cluster_is_a_user_error(district):
    with pytest.raises(UserInputError, match="does not answer"):
        rolling_origin_backtest(
            district, make_pipeline, n_origins=2, span_months=6, cluster="tcp://127.0.0.1:1"
        )


def _params_of(study) -> list[tuple]:
    return [tuple(sorted(t.params.items())) for t in study.trials]


def _run_worker(storage: str, worker: str, n: int) -> None:
    study = open_study(storage, "shared", seed=0, worker=worker)
    study.optimize(lambda trial: sum(float(v) for v in search_space(trial).values()), n_trials=n)


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_two_workers_on_one_study_run_distinct_trials(tmp_path, kind):
    storage = (
        f"sqlite:///{tmp_path / 'optuna.db'}"
        if kind == "sqlite"
        else f"journal:{tmp_path / 'optuna.journal'}"
    )
    _run_worker(storage, "host-a:1", 4)
    _run_worker(storage, "host-b:2", 4)
    study = open_study(storage, "shared", create=False)
    params = _params_of(study)
    assert len(params) == 8
    assert len(set(params)) == 8  # both started with --seed 0, yet no trial repeats
    assert worker_seed(0, "host-a:1") != worker_seed(0, "host-b:2")
    assert worker_seed(0, "host-a:1") == worker_seed(0, "host-a:1")  # a rerun reproduces


def test_a_bad_journal_path_is_a_user_error(tmp_path):
    with pytest.raises(UserInputError, match="does not exist"):
        open_study(f"journal:{tmp_path / 'missing' / 'j.log'}", "x")


def test_tuning_workers_as_cluster_tasks_share_one_study(district, cluster, tmp_path):
    storage = f"journal:{tmp_path / 'cluster.journal'}"
    study = tune_on_cluster(
        cluster,
        district,
        workers=2,
        n_trials=4,
        storage=storage,
        study_name="on-cluster",
        make_pipeline=lambda lgbm: ForecastPipeline(
            targets=["children_over3"],
            horizons=2,
            calibration_origins=2,
            lgbm_params={**FAST, **lgbm},
        ),
        n_origins=1,
    )
    params = _params_of(study)
    assert len(params) == 4 and len(set(params)) == 4
