"""The app's one settings object, read from the environment (prefix ``BEMANNING_``, plus the
conventional ``DATABASE_URL`` and ``MLFLOW_TRACKING_URI``) and validated once at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Values a secret key must never have outside dev: they are in this file for anyone to read.
KNOWN_WEAK_SECRETS = frozenset({"", "changethis", "change-me", "secret", "dev", "bemanning"})
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BEMANNING_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///bemanning.db",
        validation_alias=AliasChoices("DATABASE_URL", "BEMANNING_DATABASE_URL", "database_url"),
        description="SQLAlchemy URL of the plan store; SQLite file by default, PostgreSQL "
        "through DATABASE_URL.",
    )
    data_path: Path | None = Field(
        default=None,
        description="Data folder (CSV/Parquet/Excel) or DuckDB file per "
        "CONTRACT.md; without it the pages say what to do first.",
    )
    tracking_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "MLFLOW_TRACKING_URI", "BEMANNING_TRACKING_URI", "tracking_uri"
        ),
        description="MLflow tracking URI holding the champion model (default: MLflow's own).",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(""), description="Signs session cookies; at least 32 characters."
    )
    dev: bool = Field(
        default=False,
        description="Development mode: allows a throwaway secret and plain-HTTP cookies.",
    )
    session_lifetime_s: int = Field(
        default=8 * 3600, gt=0, description="Seconds a login stays valid."
    )
    secure_cookies: bool = Field(
        default=False, description="Mark the session cookie Secure (set when served over HTTPS)."
    )
    warm_cache: bool = Field(
        default=True,
        description="At start, compute (or load from the "
        "store) forecasts and the overview in the background.",
    )
    plan_workers: int = Field(
        default=1,
        ge=0,
        le=8,
        description="Processes that solve plans, so a solve never slows "
        "the pages (0: solve in the request thread).",
    )
    plan_time_limit_s: float = Field(
        default=60.0, gt=0, description="Time limit handed to the optimiser, seconds."
    )
    plan_scenarios: int = Field(
        default=200, gt=0, description="Forecast scenarios the optimiser plans over."
    )
    language: Literal["nb", "en"] = Field(
        default="nb",
        description="Language of the pages and exports: nb (Norwegian bokmål) or en; each "
        "user can switch on the page.",
    )

    @model_validator(mode="after")
    def _refuse_weak_secret(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if self.dev:
            if not secret:
                import secrets

                # A fresh random key per start in dev: sessions simply end on restart.
                self.secret_key = SecretStr(secrets.token_urlsafe(32))
            return self
        if secret in KNOWN_WEAK_SECRETS or len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                "BEMANNING_SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_LENGTH} characters outside dev mode, e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return self
