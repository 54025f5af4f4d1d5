"""One champion for all the notebooks in a test session: trained once (small settings, on a
simulated district of its own seed, so no notebook's hidden months leak into it) in a temporary
MLflow store that every executed notebook then finds through MLFLOW_TRACKING_URI."""

from __future__ import annotations

from pathlib import Path

import pytest

#: A seed no notebook uses for its own district.
CHAMPION_SEED = 10


@pytest.fixture(scope="session")
def notebook_tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    from training.research import ensure_champion, notebook_simulation

    folder: Path = tmp_path_factory.mktemp("notebook-mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    champion = ensure_champion(notebook_simulation(seed=CHAMPION_SEED).district, tracking_uri=uri,
                               train_into=uri)
    assert champion.trained_here
    return uri
