"""MLflow tracking: one run per `bemanning train` with everything needed to trust and reuse it.

A run holds the parameters, the data set (``mlflow.data`` pandas dataset of the monthly table,
named and digested by the data fingerprint), backtest metrics per target and horizon
(``wape.children_under3.h03``), plots, feature importances, and the whole fitted pipeline as one
pyfunc model with signature and input example (:mod:`training.needs_model`). Registration in the
model registry happens only after all of that is logged (:func:`register_version`), so a failure
half-way leaves no registered version behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from data.contract import KINDERGARTEN_ID, MONTH, District
from data.errors import Problem, UserInputError
from training.needs_model import (
    DEFAULT_PARAMS,
    ModelMetadata,
    NeedsForecastModel,
    district_to_model_input,
    parquet_safe,
    save_artifacts,
)
from training.settings import CHALLENGER_ALIAS, TrainingSettings
from training.tracking_loss import TrackingUnreachable, note_run, note_version

#: Kindergartens in the logged input example (the example must hold enough history to predict).
_EXAMPLE_KINDERGARTENS = 2


def quiet_mlflow() -> None:
    """No telemetry, git probing, progress bars or chatter; few HTTP retries, so commands fail
    fast and print only what `bemanning` itself says. Idempotent."""
    import logging
    import warnings

    for key, value in {
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "GIT_PYTHON_REFRESH": "quiet",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "MLFLOW_LOGGING_LEVEL": "ERROR",
    }.items():
        os.environ.setdefault(key, value)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow(\.|$)")
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"mlflow(\.|$)")
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from mlflow.utils.logging_utils import disable_logging

    disable_logging()


def check_tracking_server(settings: TrainingSettings) -> None:
    """Raise a :class:`UserInputError` unless the tracking store answers.

    Called before any training: an unreachable server must not cost an hour of fitting, and
    must not leave a run or a model version half-written.
    """
    uri = settings.tracking_uri
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else "file"
    try:
        if scheme in ("http", "https"):
            _check_http(uri, settings.connect_timeout_s)
        elif scheme == "sqlite":
            _check_sqlite_folder(uri)
        elif scheme.startswith(("postgresql", "mysql", "mssql")):
            _check_database(uri, settings.connect_timeout_s)
    except UserInputError:
        raise
    except Exception as exc:  # any failure to reach the store is the user's setting to fix
        raise _unreachable(uri, f"{type(exc).__name__}: {exc}") from None


def _unreachable(uri: str, why: str) -> UserInputError:
    return TrackingUnreachable(
        f"the MLflow tracking server {uri} is unreachable ({why}); nothing was trained or "
        "registered. Start it, or point MLFLOW_TRACKING_URI elsewhere "
        "(default: sqlite:///mlflow.db in the working directory)",
        [Problem(file="MLFLOW_TRACKING_URI", rule="tracking server must answer", value=uri)],
    )


def _check_http(uri: str, timeout_s: float) -> None:
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout_s).close()
    except urllib.error.HTTPError:
        return  # it answered; an error status is MLflow's business, not reachability
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _unreachable(uri, str(reason)) from None


def _check_sqlite_folder(uri: str) -> None:
    path = uri.split(":///", 1)[1] if ":///" in uri else ""
    if not path or path == ":memory:":
        return
    folder = Path(path).expanduser().resolve().parent
    if not folder.is_dir():
        raise _unreachable(uri, f"folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise _unreachable(uri, f"folder {folder} is not writable")


def _check_database(uri: str, timeout_s: float) -> None:
    import sqlalchemy

    connect_args = {"connect_timeout": int(max(timeout_s, 1))} if "postgres" in uri else {}
    engine = sqlalchemy.create_engine(uri, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("select 1"))
    finally:
        engine.dispose()


def metric_name(kind: str, target: str, horizon: int) -> str:
    """MLflow metric name of one backtest figure, e.g. ``wape.children_under3.h03``."""
    return f"{kind}.{target}.h{int(horizon):02d}"


def backtest_metric_values(metrics: pd.DataFrame, model: str = "lightgbm") -> dict[str, float]:
    """The backtest metrics table (one row per target × horizon × model) as MLflow metrics.

    The engine's model gets plain names; the baselines the same names under their model's
    prefix (``seasonal_naive.wape.children_under3.h03``) so the UI compares them side by side.
    """
    kinds = [
        c
        for c in ("wape", "mase", "pinball", "coverage_50", "coverage_80", "coverage_90")
        if c in metrics.columns
    ]
    values: dict[str, float] = {}
    for row in metrics.to_dict("records"):
        prefix = "" if row["model"] == model else f"{row['model']}."
        for kind in kinds:
            value = float(row[kind])
            if pd.notna(value):
                values[prefix + metric_name(kind, str(row["target"]), int(row["horizon"]))] = value
    return values


@dataclass(frozen=True)
class LoggedRun:
    """A finished run whose model is logged but not yet registered."""

    run_id: str
    model_uri: str
    fingerprint: str


def sqlite_artifact_location(tracking_uri: str) -> str | None:
    """For a SQLite store, the folder ``mlartifacts`` beside the database file (as a file
    URI); ``None`` for any other store. MLflow's own default, ``./mlruns`` in the working
    directory, would scatter a project's artifacts wherever a command happened to run."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix) or tracking_uri == prefix + ":memory:":
        return None
    database = Path(tracking_uri[len(prefix) :]).expanduser().resolve()
    return (database.parent / "mlartifacts").as_uri()


def use_experiment(settings: TrainingSettings) -> Any:
    """Point MLflow at the settings' store and experiment, creating the experiment with its
    artifacts beside a SQLite store (see :func:`sqlite_artifact_location`)."""
    import mlflow

    mlflow.set_tracking_uri(settings.tracking_uri)
    if mlflow.get_experiment_by_name(settings.experiment_name) is None:
        location = sqlite_artifact_location(settings.tracking_uri)
        if location is not None:
            mlflow.create_experiment(settings.experiment_name, artifact_location=location)
    return mlflow.set_experiment(settings.experiment_name)


def log_training_run(
    settings: TrainingSettings,
    *,
    pipeline: Any,
    district: District,
    params: Mapping[str, Any],
    backtest_metrics: pd.DataFrame | None,
    backtest_predictions: pd.DataFrame | None,
    feature_importances: pd.DataFrame | None = None,
    plots: Mapping[str, Path] | None = None,
    tags: Mapping[str, str] | None = None,
) -> LoggedRun:
    """Log one training run (see module doc). The run ends before anything is registered."""
    import mlflow
    from mlflow.models import infer_signature

    quiet_mlflow()
    use_experiment(settings)
    fingerprint = district.fingerprint()
    pit_history = _lightgbm_rows(backtest_predictions)
    metadata = ModelMetadata.of(district, tuple(getattr(pipeline, "targets_", ()) or ()))
    model_input = district_to_model_input(district)
    example = _input_example(model_input)

    with tempfile.TemporaryDirectory(prefix="bemanning-run-") as tmp:
        folder = Path(tmp)
        artifacts = save_artifacts(
            folder / "model", pipeline, metadata, district, backtest_metrics, pit_history
        )
        example_output = pipeline.predict(_example_district(district, example), horizon=1)
        signature = infer_signature(example, _schema_safe(example_output), params=DEFAULT_PARAMS)
        run_name = f"train {fingerprint}" + (" (simulated)" if district.simulated else "")
        with mlflow.start_run(run_name=run_name) as run:
            note_run(settings, run.info.run_id)  # a lost server later: marked FAILED
            mlflow.set_tags(
                {
                    "data_fingerprint": fingerprint,
                    "data_source": district.source,
                    "simulated": str(district.simulated).lower(),
                    **(tags or {}),
                }
            )
            mlflow.log_params({k: _param_text(v) for k, v in params.items()})
            dataset = mlflow.data.from_pandas(  # type: ignore[attr-defined]
                parquet_safe(district.monthly),
                source=_dataset_source(district.source),
                name=f"monthly-{fingerprint}",
                digest=fingerprint,
            )
            mlflow.log_input(dataset, context="training")
            if backtest_metrics is not None:
                _log_metrics_in_batches(backtest_metric_values(backtest_metrics))
                mlflow.log_table(parquet_safe(backtest_metrics), "backtest/metrics.json")
            # the backtest predictions travel once, inside the model (model/artifacts/pit_history
            # .parquet): logged beside it as well they doubled the largest file of every run
            if feature_importances is not None:
                mlflow.log_table(feature_importances, "feature_importances.json")
            for name, plot in (plots or {}).items():
                if Path(plot).is_dir():
                    mlflow.log_artifacts(str(plot), f"plots/{name}")
                elif Path(plot).exists():
                    mlflow.log_artifact(str(plot), "plots")
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=NeedsForecastModel(),
                artifacts=artifacts,
                signature=signature,
                input_example=(example, {"horizon": 1}),
                pip_requirements=_pip_requirements(),
            )
    return LoggedRun(run_id=run.info.run_id, model_uri=info.model_uri, fingerprint=fingerprint)


def register_version(
    settings: TrainingSettings, logged: LoggedRun, *, tags: Mapping[str, str] | None = None
) -> str:
    """Register the logged model as a new version with alias ``challenger``; returns it."""
    import mlflow
    from mlflow import MlflowClient

    quiet_mlflow()
    mlflow.set_tracking_uri(settings.tracking_uri)
    client = MlflowClient(settings.tracking_uri)
    version = mlflow.register_model(
        logged.model_uri,
        settings.registered_model_name,
        tags={"data_fingerprint": logged.fingerprint, **(tags or {})},
    ).version
    note_version(settings, settings.registered_model_name, str(version))
    client.set_registered_model_alias(settings.registered_model_name, CHALLENGER_ALIAS, version)
    return str(version)


def _dataset_source(source: str) -> Any:
    """A folder or file the data was read from, or (simulated, in memory) a labelled source."""
    if source and Path(source).exists():
        return str(Path(source).resolve())
    from mlflow.data.code_dataset_source import CodeDatasetSource

    return CodeDatasetSource(tags={"bemanning.source": source or "in memory"})


def _lightgbm_rows(predictions: pd.DataFrame | None) -> pd.DataFrame | None:
    if predictions is None:
        return None
    if "model" in predictions.columns:
        predictions = predictions[predictions["model"] == "lightgbm"]
    return predictions.reset_index(drop=True)


def _input_example(model_input: pd.DataFrame) -> pd.DataFrame:
    """The full history of the first kindergartens: small, and enough to predict from."""
    ids = model_input[KINDERGARTEN_ID].drop_duplicates().head(_EXAMPLE_KINDERGARTENS)
    return model_input[model_input[KINDERGARTEN_ID].isin(ids)].reset_index(drop=True)


def _example_district(district: District, example: pd.DataFrame) -> District:
    ids = set(example[KINDERGARTEN_ID])
    return District(
        kindergartens=district.kindergartens[district.kindergartens[KINDERGARTEN_ID].isin(ids)],
        monthly=district.monthly[district.monthly[KINDERGARTEN_ID].isin(ids)],
        population=district.population,
        simulated=district.simulated,
        source=district.source,
    )


def _schema_safe(frame: pd.DataFrame) -> pd.DataFrame:
    out = parquet_safe(frame)
    for column in (MONTH, "origin"):
        if column in out.columns:
            out[column] = out[column].astype(str)
    return out


def _param_text(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 500 else text[:497] + "..."


def _log_metrics_in_batches(values: Mapping[str, float], batch: int = 900) -> None:
    import mlflow

    items = list(values.items())
    for start in range(0, len(items), batch):
        mlflow.log_metrics(dict(items[start : start + batch]))


def _pip_requirements() -> list[str]:
    """Pinned versions of what the pickled pipeline needs, without resolving the whole env."""
    from importlib.metadata import PackageNotFoundError, version

    requirements = []
    for package in ("pandas", "numpy", "scikit-learn", "lightgbm", "pyarrow", "joblib", "mlflow"):
        try:
            requirements.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            continue
    return requirements
