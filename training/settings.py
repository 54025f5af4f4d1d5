"""Typed settings of the retraining loop, read once at the edge (CLI) and passed down.

The tracking URI follows MLflow's own convention (``MLFLOW_TRACKING_URI``) so that ``mlflow ui``
and ``bemanning`` agree without extra configuration; the default is a SQLite file in the working
directory, which ``mlflow ui --backend-store-uri sqlite:///mlflow.db`` opens as is.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The registered model every `bemanning train` adds a version to.
REGISTERED_MODEL_NAME = "bemanning-needs"
CHAMPION_ALIAS = "champion"
CHALLENGER_ALIAS = "challenger"
#: The MLflow experiment that holds training runs.
EXPERIMENT_NAME = "bemanning"
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
#: Optuna's default storage: a SQLite file in the working directory; any SQLAlchemy URL
#: (``postgresql+psycopg://...``) lets several workers share one study.
DEFAULT_OPTUNA_STORAGE = "sqlite:///optuna.db"
DEFAULT_STUDY_NAME = "bemanning-lgbm"


def default_state_dir() -> Path:
    """Where `bemanning` keeps what it must finish on its next contact with the tracking server
    (``$XDG_STATE_HOME/bemanning``, else ``~/.local/state/bemanning``)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "bemanning"


class TrainingSettings(BaseSettings):
    """Where runs, models and studies live. Environment variables override the defaults."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    tracking_uri: str = Field(
        default=DEFAULT_TRACKING_URI,
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "tracking_uri"),
        description="MLflow tracking (and registry) URI.",
    )
    registered_model_name: str = Field(
        default=REGISTERED_MODEL_NAME,
        validation_alias=AliasChoices("BEMANNING_REGISTERED_MODEL", "registered_model_name"),
    )
    experiment_name: str = Field(
        default=EXPERIMENT_NAME,
        validation_alias=AliasChoices("BEMANNING_EXPERIMENT", "experiment_name"),
    )
    optuna_storage: str = Field(
        default=DEFAULT_OPTUNA_STORAGE,
        validation_alias=AliasChoices("BEMANNING_OPTUNA_STORAGE", "optuna_storage"),
    )
    state_dir: Path = Field(
        default_factory=default_state_dir,
        validation_alias=AliasChoices("BEMANNING_STATE_DIR", "state_dir"),
        description="Folder of the ledger of runs and versions a lost tracking server left "
        "unfinished (marked FAILED / removed on the next contact).",
    )
    #: Seconds to wait for a remote tracking server before declaring it unreachable.
    connect_timeout_s: float = Field(
        default=5.0,
        validation_alias=AliasChoices("BEMANNING_TRACKING_TIMEOUT", "connect_timeout_s"),
    )


def load_settings(tracking_uri: str | None = None) -> TrainingSettings:
    """Settings from the environment; an explicit ``tracking_uri`` wins over it."""
    settings = TrainingSettings()
    if tracking_uri:
        settings = settings.model_copy(update={"tracking_uri": tracking_uri})
    return settings
