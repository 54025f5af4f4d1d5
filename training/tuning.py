"""Optuna tuning of the LightGBM parameters of the forecast pipeline.

* The search space is the plain function :func:`search_space` (a trial → LightGBM overrides of
  ``models.forecast.quantile_lgbm.DEFAULT_LGBM_PARAMS``).
* The objective is the promotion loss (:func:`training.promotion.backtest_score`: WAPE plus scaled
  pinball over children and § 31) on a few rolling origins, one fold at a time: after each fold
  the running loss is reported (``trial.report``) and the trial stops when the median pruner says
  so (``trial.should_prune``).
* Storage is SQLite in the working directory by default (``sqlite:///optuna.db``); any SQLAlchemy
  URL (``postgresql+psycopg://user@host/db``) works, and every worker started with the same
  ``--storage`` and ``--study`` joins the same study (``load_if_exists=True``).
* Journal storage is accepted beside the RDB URLs: ``journal:PATH`` (Optuna's append-only
  journal file, for workers sharing a file system without a database server).
* Workers never duplicate trials: each worker's TPE sampler is seeded from ``--seed`` and the
  worker's identity (``--worker``, default host name and process id; :func:`worker_seed`), so
  two workers started with the same ``--seed`` draw different parameters. The same seed and
  identity give the same draws (a rerun of one worker is reproducible).
* Where `train` finds the result: in the study itself. Each trial stores the complete LightGBM
  parameters it used as the user attribute ``lgbm_params``; ``bemanning train DATA --study NAME
  [--storage URL]`` reads the best trial's (:func:`best_lgbm_params`). No side file to lose.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from data.contract import KINDERGARTEN_ID, MONTH, District
from data.errors import Problem, UserInputError
from training.promotion import backtest_score

#: Months between two tuning origins: folds fall in different seasons of the kindergarten year.
ORIGIN_SPACING_MONTHS = 4
LGBM_PARAMS_ATTR = "lgbm_params"

#: ``progress(description, completed, total)``
Progress = Callable[[str, int, int], None]


def search_space(trial: Any) -> dict[str, Any]:
    """LightGBM overrides for one trial; ranges sized for global models over 50–5,500
    kindergartens × 12 horizons (a few thousand to a million rows)."""
    params: dict[str, Any] = {
        "n_estimators": trial.suggest_int("n_estimators", 50, 400, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.2, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 7, 63, log=True),
        "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 10, 200, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
        "bagging_fraction": trial.suggest_float("bagging_fraction", 0.5, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
    }
    # LightGBM ignores bagging_fraction unless bagging_freq > 0.
    params["bagging_freq"] = 1 if params["bagging_fraction"] < 1.0 else 0
    return params


def tuning_origins(district: District, *, n_origins: int, horizons: int) -> list[pd.Period]:
    """The last ``n_origins`` origins whose every horizon lies in the data, most recent first,
    ``ORIGIN_SPACING_MONTHS`` apart."""
    last = district.last_month
    return [last - horizons - k * ORIGIN_SPACING_MONTHS for k in range(n_origins)]


def check_tuning_history(
    district: District, make_pipeline: Callable[[], Any], *, n_origins: int
) -> list[pd.Period]:
    """The fold origins, or a :class:`UserInputError` saying how many months are needed."""
    probe = make_pipeline()
    origins = tuning_origins(district, n_origins=n_origins, horizons=int(probe.horizons))
    needed = probe.months_required() + int(probe.horizons) + (n_origins - 1) * ORIGIN_SPACING_MONTHS
    have = len(pd.period_range(district.first_month, district.last_month, freq="M"))
    if have < needed:
        raise UserInputError(
            f"too little history to tune on {n_origins} origins: {needed} months needed, "
            f"{have} present",
            [
                Problem(
                    file="monthly",
                    column=MONTH,
                    rule=f"tuning needs {needed} months ({probe.months_required()} to fit, "
                    f"{probe.horizons} to score, {ORIGIN_SPACING_MONTHS} between origins)",
                    value=have,
                )
            ],
        )
    return origins


def fold_predictions(district: District, pipeline: Any, origin: pd.Period) -> pd.DataFrame:
    """Fit on data up to ``origin``, forecast every horizon, join the actuals."""
    from models.forecast.inputs import as_of

    pipeline.fit(as_of(district, origin))
    forecasts = pipeline.predict(district, horizon=int(pipeline.horizons), origin=origin)
    return attach_actuals(forecasts, district)


def attach_actuals(forecasts: pd.DataFrame, district: District) -> pd.DataFrame:
    """Forecasts with the observed value of their kindergarten, month and target (NaN if none)."""
    targets = [t for t in forecasts["target"].unique() if t in district.monthly.columns]
    actual = district.monthly.melt(
        id_vars=[KINDERGARTEN_ID, MONTH], value_vars=targets, var_name="target", value_name="actual"
    )
    actual["actual"] = pd.to_numeric(actual["actual"], errors="coerce")
    return forecasts.merge(actual, on=[KINDERGARTEN_ID, MONTH, "target"], how="left")


def make_objective(
    district: District,
    make_pipeline: Callable[[dict[str, Any]], Any],
    origins: list[pd.Period],
    progress: Progress | None = None,
) -> Callable[[Any], float]:
    """The Optuna objective: backtest loss over ``origins``, pruned fold by fold."""
    import optuna

    def objective(trial: optuna.Trial) -> float:
        params = search_space(trial)
        trial.set_user_attr(LGBM_PARAMS_ATTR, params)
        folds: list[pd.DataFrame] = []
        for step, origin in enumerate(origins):
            folds.append(fold_predictions(district, make_pipeline(params), origin))
            loss = backtest_score(pd.concat(folds, ignore_index=True)).loss
            trial.report(loss, step)
            if progress is not None:
                progress(
                    f"trial {trial.number} fold {step + 1}/{len(origins)}", step + 1, len(origins)
                )
            if trial.should_prune():
                raise optuna.TrialPruned(f"loss {loss:.4f} after {step + 1} fold(s)")
        return loss

    return objective


JOURNAL_PREFIX = "journal:"


def default_worker_identity() -> str:
    """This process as a tuning worker: host name and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_seed(seed: int, identity: str) -> int:
    """The sampler seed of one worker: ``seed`` and the worker's identity hashed together, so
    workers of one study started with the same ``--seed`` draw different trials."""
    digest = hashlib.sha256(f"{int(seed)}|{identity}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def optuna_storage(storage: str) -> Any:
    """An Optuna storage for ``storage``: ``journal:PATH`` → journal file storage; any other
    text is passed on as an RDB (SQLAlchemy) URL."""
    if not storage.startswith(JOURNAL_PREFIX):
        return storage
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = storage.removeprefix(JOURNAL_PREFIX).removeprefix("//")
    if not path:
        raise UserInputError(
            "the journal storage needs a file: journal:PATH",
            [Problem(file="--storage", rule="journal:PATH names a file", value=storage)],
        )
    folder = Path(path).expanduser().resolve().parent
    if not folder.is_dir():
        raise UserInputError(
            f"the journal's folder {folder} does not exist",
            [Problem(file="--storage", rule="the journal file's folder must exist", value=storage)],
        )
    return JournalStorage(JournalFileBackend(str(Path(path).expanduser())))


def open_study(
    storage: str,
    study_name: str,
    *,
    seed: int = 0,
    create: bool = True,
    pruner: Any = None,
    worker: str | None = None,
) -> Any:
    """Create or join the study in ``storage`` (an RDB URL or ``journal:PATH``) with this
    worker's sampler (:func:`worker_seed` of ``seed`` and ``worker``, default
    :func:`default_worker_identity`); :class:`UserInputError` if unreachable.

    The default pruner stops a trial whose running loss after a fold is worse than the median
    of earlier trials at the same fold (after two complete trials)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    identity = worker or default_worker_identity()
    try:
        backend = optuna_storage(storage)
        if not create:
            return optuna.load_study(study_name=study_name, storage=backend)
        return optuna.create_study(
            study_name=study_name,
            storage=backend,
            direction="minimize",
            load_if_exists=True,
            sampler=optuna.samplers.TPESampler(seed=worker_seed(seed, identity)),
            pruner=pruner or optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0),
        )
    except KeyError:
        raise UserInputError(
            f"no study {study_name!r} in {storage}: run `bemanning tune DATA --study "
            f"{study_name}` first",
            [Problem(file="--study", rule="study must exist in the storage", value=study_name)],
        ) from None
    except UserInputError:
        raise
    except Exception as exc:  # a bad URL or a server that does not answer
        raise UserInputError(
            f"the Optuna storage {storage} cannot be opened ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})",
            [
                Problem(
                    file="--storage",
                    rule="must be a reachable SQLAlchemy URL or journal:PATH",
                    value=storage,
                )
            ],
        ) from None


def tune(
    district: District,
    *,
    n_trials: int,
    storage: str,
    study_name: str,
    make_pipeline: Callable[[dict[str, Any]], Any],
    n_origins: int = 3,
    seed: int = 0,
    progress: Progress | None = None,
    timeout_s: float | None = None,
    pruner: Any = None,
    worker: str | None = None,
) -> Any:
    """Run ``n_trials`` more trials of the study as worker ``worker`` (default: this host and
    process); returns the study (``best_trial`` etc.)."""
    if n_trials < 1:
        raise UserInputError(
            "--trials must be at least 1",
            [Problem(file="--trials", rule="at least 1", value=n_trials)],
        )
    origins = check_tuning_history(district, lambda: make_pipeline({}), n_origins=n_origins)
    study = open_study(storage, study_name, seed=seed, pruner=pruner, worker=worker)
    study.set_user_attr("data_fingerprint", district.fingerprint())
    study.set_user_attr("origins", [str(o) for o in origins])
    study.optimize(
        make_objective(district, make_pipeline, origins, progress),
        n_trials=n_trials,
        timeout=timeout_s,
        gc_after_trial=True,
    )
    return study


def best_lgbm_params(storage: str, study_name: str) -> tuple[dict[str, Any], Mapping[str, Any]]:
    """(LightGBM parameters of the best finished trial, a record of where they came from)."""
    import optuna

    study = open_study(storage, study_name, create=False)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise UserInputError(
            f"study {study_name!r} has no finished trial yet: run `bemanning tune` longer",
            [Problem(file="--study", rule="needs at least one complete trial", value=study_name)],
        )
    best = study.best_trial
    params = dict(best.user_attrs.get(LGBM_PARAMS_ATTR) or best.params)
    record = {
        "study": study_name,
        "trial": best.number,
        "loss": best.value,
        "data_fingerprint": study.user_attrs.get("data_fingerprint", ""),
    }
    return params, record


def tune_on_cluster(
    cluster: str,
    district: District,
    *,
    workers: int,
    n_trials: int,
    storage: str,
    study_name: str,
    make_pipeline: Callable[[dict[str, Any]], Any],
    n_origins: int = 3,
    seed: int = 0,
    timeout_s: float | None = None,
) -> Any:
    """``workers`` tuning workers on the dask.distributed cluster at ``cluster`` (a scheduler
    address), sharing ``n_trials`` between them on one study in ``storage`` (which every
    cluster worker must reach: a database server, or a journal file on a shared file system).
    Worker i is ``dask-<i>``, so its sampler seed is fixed by ``seed`` and i. Returns the study.
    """
    from training.distributed import cluster_client

    if n_trials < 1 or workers < 1:
        raise UserInputError(
            "--trials and --workers must be at least 1",
            [Problem(file="--trials/--workers", rule="at least 1", value=f"{n_trials}/{workers}")],
        )
    open_study(storage, study_name, seed=seed)  # created once, before the workers join
    shares = [n_trials // workers + (i < n_trials % workers) for i in range(workers)]
    with cluster_client(cluster) as client:
        futures = [
            client.submit(
                _tune_worker,
                district,
                n_trials=share,
                storage=storage,
                study_name=study_name,
                make_pipeline=make_pipeline,
                n_origins=n_origins,
                seed=seed,
                timeout_s=timeout_s,
                worker=f"dask-{i}",
                pure=False,
            )
            for i, share in enumerate(shares)
            if share > 0
        ]
        client.gather(futures)
    return open_study(storage, study_name, create=False)


def _tune_worker(district: District, **kwargs: Any) -> int:
    """One cluster worker's share of the trials; returns how many the study holds after it."""
    study = tune(district, **kwargs)
    return len(study.trials)
