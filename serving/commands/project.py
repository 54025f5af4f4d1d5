"""``bemanning init``: one place for a project's state (``bemanning.toml``, see
:mod:`serving.project`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from serving.commands.common import console, user_errors


def init(
    folder: Annotated[
        Path,
        typer.Argument(
            help="Project folder: the one holding (or that will hold) the data folder.",
            show_default=False,
        ),
    ],
) -> None:
    """Write FOLDER/bemanning.toml: this project's MLflow store, app database and tuning
    studies as SQLite files beside it. Commands given a data folder inside FOLDER then find
    them with no flag (a flag or MLFLOW_TRACKING_URI / DATABASE_URL still wins)."""
    from serving.project import PROJECT_FILE, read_project_state, write_project_file

    existed = (folder / PROJECT_FILE).exists()
    path = write_project_file(folder)
    state = read_project_state(path)  # also checks a file that was already there
    verb = "Kept" if existed else "Wrote"
    console.print(f"{verb} {path}", soft_wrap=True)
    console.print(f"  models and runs (MLflow): {state.tracking_uri}", soft_wrap=True)
    console.print(f"  planners' app database:   {state.database_url}", soft_wrap=True)
    console.print(f"  tuning studies (Optuna):  {state.optuna_storage}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command()(user_errors(init))
