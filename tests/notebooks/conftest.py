"""One champion for all the notebooks in a test run: trained once (small settings, on a
simulated district of its own seed, so no notebook's hidden months leak into it) in a temporary
MLflow store that every executed notebook then finds through MLFLOW_TRACKING_URI.

Under pytest-xdist the workers share the store: the first to arrive trains while holding a file
lock, the others wait and load what it registered.
"""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest

#: A seed no notebook uses for its own district.
CHAMPION_SEED = 10


@pytest.fixture(scope="session")
def notebook_tracking_uri(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> str:
    from training.research import ensure_champion, notebook_simulation

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if worker_id != "master" else base
    folder = shared / "notebook-mlflow"
    folder.mkdir(exist_ok=True)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    with Path(folder / "train.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            ensure_champion(notebook_simulation(seed=CHAMPION_SEED).district, tracking_uri=uri,
                            train_into=uri)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return uri
