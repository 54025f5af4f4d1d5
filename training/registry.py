"""The model registry as the rest of the engine sees it: load the champion, load any model URI,
promote a version.

``load_champion()`` returns a :class:`LoadedModel` whose ``.pipeline`` is the fitted
``ForecastPipeline`` unwrapped from the pyfunc, so serving calls ``.predict(district, ...)`` and
``.predict_contributions(...)`` on it directly, with the version, run, backtest metrics and the
backtest predictions with actuals (``pit_history``) beside it.
"""

from __future__ import annotations

import functools
import getpass
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from data.contract import MONTH, District
from data.errors import Problem, UserInputError
from training.needs_model import ModelMetadata, NeedsForecastModel, check_feature_set
from training.settings import CHAMPION_ALIAS, TrainingSettings, load_settings
from training.tracking import check_tracking_server, quiet_mlflow
from training.tracking_loss import note_champion
from training.tuned_defaults import read_plan_defaults

NO_CHAMPION = "no champion model yet: run `bemanning train DATA` first"


@dataclass
class LoadedModel:
    """A registered (or logged) model ready to forecast, with what judges it."""

    #: The fitted ``models.forecast.pipeline.ForecastPipeline``.
    pipeline: Any
    #: Registry version (``"3"``); for a model loaded by run or path, that URI.
    version: str
    run_id: str | None
    #: Backtest metrics, one row per target × horizon × model (lightgbm and the baselines).
    metrics: pd.DataFrame | None
    metadata: ModelMetadata
    uri: str
    #: plan settings tuned on decisions and stored with the version (None when not tuned)
    plan_defaults: dict[str, Any] | None = None
    #: reads :attr:`pit_history` when it is first asked for
    read_pit_history: Callable[[], pd.DataFrame | None] = field(
        default=lambda: None, repr=False, compare=False
    )

    @functools.cached_property
    def pit_history(self) -> pd.DataFrame | None:
        """Backtest predictions with ``actual`` of the LightGBM model (origin/month as
        Period[M]), read on first use: only plans draw on them, and at a nation (3.9 million
        rows) reading them was most of every model load, forecasts and app starts included."""
        return self.read_pit_history()

    def with_pit_history(self, history: pd.DataFrame | None) -> LoadedModel:
        """The same model with ``history`` as its backtest predictions (e.g. one district's)."""
        return replace(self, read_pit_history=lambda: history)

    @property
    def fingerprint(self) -> str:
        """Fingerprint of the data the model was trained on."""
        return self.metadata.fingerprint

    def check_compatible(self, district: District) -> None:
        """Raise :class:`UserInputError` when the data lacks a column the model was fitted on."""
        check_feature_set(self.metadata, district, f"version {self.version}")


def load_champion(tracking_uri: str | None = None) -> LoadedModel:
    """The model with alias ``champion``; :class:`UserInputError` when there is none yet."""
    settings = load_settings(tracking_uri)
    return load_model(f"models:/{settings.registered_model_name}@{CHAMPION_ALIAS}", tracking_uri)


def load_model(uri: str, tracking_uri: str | None = None) -> LoadedModel:
    """Any MLflow model URI of a `bemanning-needs` model: ``models:/bemanning-needs@champion``,
    ``models:/bemanning-needs/3``, ``runs:/<run_id>/model`` or a local folder."""
    import mlflow
    from mlflow.exceptions import MlflowException

    settings = load_settings(tracking_uri)
    quiet_mlflow()
    is_local = not uri.startswith(("models:/", "runs:/", "models:", "runs:"))
    if not is_local:
        check_tracking_server(settings)
        mlflow.set_tracking_uri(settings.tracking_uri)
    try:
        version, run_id, tags = _resolve(uri, settings)
        # suppress_warnings: MLflow's check of the model's pinned requirements reads the
        # metadata of every installed package (a third of a model load, 2026-12-07) to log a
        # warning that quiet_mlflow() silences anyway
        pyfunc = mlflow.pyfunc.load_model(uri, suppress_warnings=True)
    except MlflowException as exc:
        if _is_missing(exc):
            if uri.endswith(f"@{CHAMPION_ALIAS}"):
                raise UserInputError(NO_CHAMPION) from None
            raise UserInputError(
                f"no model at {uri}",
                [Problem(file="--model", rule="model URI must exist in the registry", value=uri)],
            ) from None
        raise UserInputError(f"could not load model {uri}: {exc.message}") from None
    except OSError as exc:
        raise UserInputError(
            f"could not load model {uri}: {exc}",
            [Problem(file="--model", rule="model folder must exist", value=uri)],
        ) from None
    wrapped = pyfunc.unwrap_python_model()
    if not isinstance(wrapped, NeedsForecastModel):
        raise UserInputError(
            f"{uri} is not a bemanning-needs model (found {type(wrapped).__name__})"
        )
    return LoadedModel(
        pipeline=wrapped.pipeline,
        version=version or uri,
        run_id=run_id or pyfunc.metadata.run_id,
        metrics=wrapped.backtest_metrics,
        metadata=wrapped.metadata,
        uri=uri,
        plan_defaults=read_plan_defaults(tags),
        read_pit_history=lambda: _with_periods(wrapped.read_pit_history()),
    )


def promote(
    version: str | int,
    reason: str,
    *,
    forced: bool = True,
    who: str | None = None,
    tracking_uri: str | None = None,
) -> None:
    """Give ``version`` the alias ``champion`` and record who promoted it, when and why.

    The record is kept as model-version tags (``promoted_by``, ``promoted_at``,
    ``promotion_reason``, ``promotion``: ``forced`` or ``automatic``); the version that lost
    the alias gets ``replaced_by``.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    settings = load_settings(tracking_uri)
    quiet_mlflow()
    check_tracking_server(settings)
    client = MlflowClient(settings.tracking_uri)
    name = settings.registered_model_name
    version = str(version).strip()
    try:
        client.get_model_version(name, version)
    except MlflowException as exc:
        if not _is_missing(exc) and "INVALID_PARAMETER" not in str(exc.error_code):
            raise
        known = _known_versions(client, name)
        raise UserInputError(
            f"no version {version} of {name}",
            [
                Problem(
                    file="VERSION",
                    rule=f"must be one of: {known or 'none registered yet'}",
                    value=version,
                )
            ],
        ) from None
    previous = _alias_version(client, name, CHAMPION_ALIAS)
    # inside `train`: if the server is lost from here on, the alias goes back to ``previous``
    note_champion(settings, name, previous)
    client.set_registered_model_alias(name, CHAMPION_ALIAS, version)
    record = {
        "promotion": "forced" if forced else "automatic",
        "promoted_by": who or getpass.getuser(),
        "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "promotion_reason": reason,
    }
    for key, value in record.items():
        client.set_model_version_tag(name, version, key, value)
    if previous is not None and previous != version:
        client.set_model_version_tag(name, previous, "replaced_by", version)


def champion_version(tracking_uri: str | None = None) -> str | None:
    """The version holding the alias ``champion``, or None."""
    from mlflow import MlflowClient

    settings = load_settings(tracking_uri)
    quiet_mlflow()
    return _alias_version(
        MlflowClient(settings.tracking_uri), settings.registered_model_name, CHAMPION_ALIAS
    )


def _resolve(uri: str, settings: TrainingSettings) -> tuple[str | None, str | None, dict[str, str]]:
    """(version, run id, version tags) behind a ``models:/`` URI; (None, None, {}) for others."""
    from mlflow import MlflowClient

    if not uri.startswith("models:/"):
        return None, None, {}
    client = MlflowClient(settings.tracking_uri)
    name, _, rest = uri.removeprefix("models:/").partition("/")
    if "@" in name:
        name, alias = name.split("@", 1)
        found = client.get_model_version_by_alias(name, alias)
    else:
        found = client.get_model_version(name, rest)
    return str(found.version), found.run_id, dict(found.tags or {})


def _alias_version(client: Any, name: str, alias: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException as exc:
        if _is_missing(exc) or "INVALID_PARAMETER" in str(exc.error_code):
            return None
        raise


def _known_versions(client: Any, name: str) -> str:
    try:
        found = client.search_model_versions(f"name = '{name}'")
    except Exception:
        return ""
    return ", ".join(sorted((str(v.version) for v in found), key=int))


def _is_missing(exc: Any) -> bool:
    return "RESOURCE_DOES_NOT_EXIST" in str(getattr(exc, "error_code", "")) or (
        "not found" in str(exc).lower()
    )


def _with_periods(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    """``origin`` and ``month`` back to Period[M]; each distinct ``YYYY-MM`` parsed once.

    A nation's backtest predictions hold millions of rows but only a few hundred months: parsing
    every string one by one cost every model load most of a minute.
    """
    if frame is None:
        return None
    for column in ("origin", MONTH):  # in place: the frame was just read, nothing shares it
        if column in frame.columns and not isinstance(frame[column].dtype, pd.PeriodDtype):
            frame[column] = periods_from_text(frame[column])
    return frame


def periods_from_text(values: pd.Series) -> pd.Series:
    """``YYYY-MM`` strings (or missing, or a categorical of them) → Period[M], parsing each
    distinct value once."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        uniques = values.cat.categories.astype(str)
    else:
        codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
    parsed = pd.PeriodIndex([pd.Period(str(u), freq="M") for u in uniques], freq="M")
    taken = parsed.take(codes, allow_fill=True, fill_value=pd.NaT)  # type: ignore[arg-type]
    return pd.Series(taken, index=values.index, name=values.name)
