"""The researchers' notebooks run top to bottom on a fresh simulated district, with no setup:
each is executed by a Jupyter kernel in a temporary working folder with MLflow pointed at a
temporary store (where the session's champion was registered; see conftest.py — a notebook
finding no champion trains its own, as a newcomer's would) and must finish without an error,
showing plots and tables labelled SIMULATED. They are stored without outputs.

`make test` runs them through this file (nbclient); no ``--nbmake`` flag is needed.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = ("forecast_evaluation.ipynb", "allocation_what_if.ipynb", "drivers.ipynb")
#: Each notebook is meant to run in well under two minutes; this only stops a hung kernel.
CELL_TIMEOUT_S = 600


def _draws(source: str) -> bool:
    return _pictures(source) > 0


def _pictures(source: str) -> int:
    """How many pictures a cell must show: one per ``plt.show()``, and at least one where it
    displays saved images in a loop."""
    return source.count("plt.show()") + ("display(Image(" in source)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_stored_without_outputs(name: str) -> None:
    notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code, f"{name} has no code"
    assert all(c.outputs == [] and c.execution_count is None for c in code), (
        f"{name} is stored with outputs; clear them before committing"
    )
    text = "\n".join(c.source for c in code)
    # notebooks import the packages, never a path on someone's machine
    assert "/work/" not in text and "/home/" not in text


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom(
    name: str, tmp_path: Path, notebook_tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbclient import NotebookClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", notebook_tracking_uri)
    # no MPLBACKEND: the kernel's inline backend is what a researcher gets, and a module that
    # switched it (as training/plots.py once did) would blank every later chart
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(NOTEBOOK_DIR.parent), os.environ.get("PYTHONPATH", "")])
    )
    notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # every cell that draws shows its picture (not only the first: a backend switched midway
    # leaves the later ones blank), and every notebook shows a table
    drawing = [c for c in notebook.cells if c.cell_type == "code" and _draws(c.source)]
    assert drawing, f"{name} has no cell that draws"
    blank = [
        c.source.splitlines()[0]
        for c in drawing
        if sum("image/png" in o.get("data", {}) for o in c.outputs) < _pictures(c.source)
    ]
    assert not blank, f"{name}: cells that drew nothing: {blank}"
    assert any("text/html" in o.get("data", {}) for o in outputs), f"{name} showed no table"
    # simulated data is labelled as such where it is shown
    shown = "\n".join(
        str(o.get("text", ""))
        + str(o.get("data", {}).get("text/plain", ""))
        + str(o.get("data", {}).get("text/markdown", ""))
        for o in outputs
    )
    assert "SIMULATED" in shown
