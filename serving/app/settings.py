"""The app's one settings object, read from the environment (prefix ``BEMANNING_``, plus the
conventional ``DATABASE_URL`` and ``MLFLOW_TRACKING_URI``) and validated once at start-up."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from serving.i18n import DEFAULT_LANGUAGE
from serving.plan_options import OPTIONS

#: Values a secret key must never have outside dev: they are in this file for anyone to read.
KNOWN_WEAK_SECRETS = frozenset({"", "changethis", "change-me", "secret", "dev", "bemanning"})
MIN_SECRET_LENGTH = 32
#: Estimated entropy a secret key needs outside dev, bits (a random hex key of 32 characters
#: scores ~120): length alone would let "a" * 32 through.
MIN_SECRET_BITS = 100


def secret_bits(secret: str) -> float:
    """Entropy estimate of a secret: its length times the Shannon entropy of its characters, for
    the shortest unit it repeats ("ab" * 20 counts as "ab"). A repeated character scores zero;
    ``secrets.token_urlsafe(32)`` about 200."""
    if not secret:
        return 0.0
    period = (secret + secret).find(secret, 1)
    if period < len(secret):
        secret = secret[:period]
    counts = Counter(secret)
    per_char = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values())
    return per_char * len(secret)


def _without_dev(source: PydanticBaseSettingsSource) -> Callable[[], dict[str, Any]]:
    """The environment minus ``dev``: dev mode (random secret, a demo login printed) comes only
    from ``serve --dev``, never from a variable left behind in a shell or a unit file."""

    def read() -> dict[str, Any]:
        return {k: v for k, v in source().items() if k != "dev"}

    read.__name__ = type(source).__name__
    return read


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BEMANNING_", extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[Any, ...]:
        return (
            init_settings,
            _without_dev(env_settings),
            _without_dev(dotenv_settings),
            file_secret_settings,
        )

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
        description="Development mode (only from `serve --dev`, never from the environment): "
        "allows a throwaway secret and plain-HTTP cookies.",
    )
    session_lifetime_s: int = Field(
        default=8 * 3600, gt=0, description="Seconds a login stays valid at most (absolute)."
    )
    session_idle_s: int = Field(
        default=3600, gt=0, description="Seconds without a request after which a login ends."
    )
    secure_cookies: bool | None = Field(
        default=None,
        description="Mark cookies Secure (sent over HTTPS only); default on outside dev.",
    )
    login_free_failures: int = Field(
        default=5,
        ge=1,
        description="Failed logins per account or client address before back-off starts.",
    )
    login_backoff_s: float = Field(
        default=2.0,
        gt=0,
        description="First back-off after too many failed logins, s; doubles with each failure.",
    )
    login_max_backoff_s: float = Field(
        default=900.0, gt=0, description="Longest back-off after failed logins, s."
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
    page_workers: int = Field(
        default=1,
        ge=0,
        le=4,
        description="Processes that prepare every kindergarten page's forecasts, charts and "
        "history ahead, once per data set and model, so a page request does no model work "
        "(0: prepare a page in the request that first asks for it).",
    )
    plan_time_limit_s: float = Field(
        default=60.0, gt=0, description="Time limit handed to the optimiser, seconds."
    )
    plan_scenarios: int = Field(
        default=OPTIONS["scenarios"].default,
        gt=0,
        description="Most forecast scenarios one plan may use (a request asking for more gets "
        "this many; the plan's header says how many it used).",
    )
    language: Literal["nb", "en"] = Field(
        default=DEFAULT_LANGUAGE,
        description="Language of the pages and exports: nb (Norwegian bokmål) or en; each "
        "user can switch on the page.",
    )

    @model_validator(mode="after")
    def _refuse_weak_secret(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if self.secure_cookies is None:
            self.secure_cookies = not self.dev
        if self.dev:
            if not secret:
                import secrets

                # A fresh random key per start in dev: sessions simply end on restart.
                self.secret_key = SecretStr(secrets.token_urlsafe(32))
            return self
        if (
            secret in KNOWN_WEAK_SECRETS
            or len(secret) < MIN_SECRET_LENGTH
            or secret_bits(secret) < MIN_SECRET_BITS
        ):
            raise ValueError(
                "BEMANNING_SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_LENGTH} characters and about {MIN_SECRET_BITS} bits of entropy "
                "outside dev mode (repeated or guessable text is refused), e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return self
