"""Small, fast pieces for the tracking/registry/tuning tests: a simulated district (fixed seed,
six kindergartens, five years), a lean pipeline (two targets, three horizons, 20 trees) and a
temporary SQLite tracking URI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from data.contract import District

FAST_LGBM = {"n_estimators": 20, "num_leaves": 7, "min_data_in_leaf": 10, "n_jobs": 1}
FAST_TARGETS = ("children_under3", "vedtak_31")


def small_district(seed: int = 3, n_kindergartens: int = 6, end: str = "2024-12") -> District:
    from simulate import simulate_district

    return simulate_district(
        "district",
        seed=seed,
        n_kindergartens=n_kindergartens,
        start=pd.Period("2020-01", "M"),
        end=pd.Period(end, "M"),
    ).district


def small_pipeline(lgbm: dict[str, Any] | None = None, **overrides: Any) -> Any:
    from models.forecast.pipeline import ForecastPipeline

    params: dict[str, Any] = {
        "targets": FAST_TARGETS,
        "horizons": 3,
        "calibration_origins": 2,
        "lgbm_params": {**FAST_LGBM, **(lgbm or {})},
    }
    params.update(overrides)
    return ForecastPipeline(**params)


def tracking_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/mlflow.db"
