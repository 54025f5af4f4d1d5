"""What every researcher's notebook starts with: a small simulated district and a champion
model, with no setup.

:func:`ensure_champion` loads the champion from ``MLFLOW_TRACKING_URI`` (or the default
``sqlite:///mlflow.db``); when there is none it trains one on the notebook's district with modest
settings and registers it in a temporary MLflow store, so a newcomer's "run all" never touches
a shared registry and never fails for lack of a model.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from data.contract import District
from data.errors import UserInputError

#: Small but real settings: each notebook trains in well under two minutes on 2 cores.
#: Only the targets a plan needs (turnover is left out) and small boosters.
NOTEBOOK_PIPELINE_PARAMS: dict[str, Any] = {
    "targets": ("children_under3", "children_over3", "vedtak_31", "vedtak_37", "sick_leave_rate"),
    "lgbm_params": {"n_estimators": 40, "num_leaves": 15, "min_data_in_leaf": 20},
    "calibration_origins": 2,
    "max_rows_per_model": 20_000,
}
NOTEBOOK_BACKTEST_ORIGINS = 3
NOTEBOOK_KINDERGARTENS = 14
NOTEBOOK_START = pd.Period("2020-01", "M")
NOTEBOOK_END = pd.Period("2026-10", "M")


@dataclass
class Champion:
    """The loaded champion and where it came from."""

    model: Any  #: training.registry.LoadedModel
    tracking_uri: str
    trained_here: bool


def notebook_simulation(
    seed: int = 11,
    *,
    n_kindergartens: int = NOTEBOOK_KINDERGARTENS,
    start: pd.Period = NOTEBOOK_START,
    end: pd.Period = NOTEBOOK_END,
) -> Any:
    """A small SIMULATED district (``simulate.Simulation``: ``.district``, ``.truth``)."""
    from simulate import simulate_district

    return simulate_district(
        "district", seed=seed, n_kindergartens=n_kindergartens, start=start, end=end
    )


def ensure_champion(
    district: District,
    *,
    tracking_uri: str | None = None,
    n_origins: int = NOTEBOOK_BACKTEST_ORIGINS,
    train_into: str | None = None,
) -> Champion:
    """The champion at ``tracking_uri`` (default: the environment's), or — when there is none —
    one trained on ``district`` and registered in ``train_into`` (default: a fresh temporary
    MLflow store, so a notebook never writes into a shared registry by accident)."""
    from training.registry import load_champion
    from training.retrain import train_and_register
    from training.settings import load_settings

    settings = load_settings(tracking_uri)
    try:
        return Champion(load_champion(settings.tracking_uri), settings.tracking_uri, False)
    except UserInputError:
        pass
    if train_into is None:
        folder = Path(tempfile.mkdtemp(prefix="bemanning-notebook-mlflow-"))
        train_into = f"sqlite:///{folder / 'mlflow.db'}"
    local = settings.model_copy(update={"tracking_uri": train_into})
    train_and_register(
        district,
        local,
        pipeline_params=NOTEBOOK_PIPELINE_PARAMS,
        n_origins=n_origins,
        span_months=max(n_origins, 12),
    )
    return Champion(load_champion(local.tracking_uri), local.tracking_uri, True)


def hide_last_months(district: District, months: int = 12) -> tuple[District, pd.DataFrame]:
    """(the district without its last ``months`` months, the hidden monthly rows): plan on the
    first, judge the plan on the second (realised needs on simulated ground truth)."""
    cut = district.last_month - months + 1
    seen = district.monthly[district.monthly["month"] < cut].reset_index(drop=True)
    hidden = district.monthly[district.monthly["month"] >= cut].reset_index(drop=True)
    return District(
        kindergartens=district.kindergartens,
        monthly=seen,
        population=district.population,
        simulated=district.simulated,
        source=district.source,
    ), hidden
