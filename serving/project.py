"""One place for a project's state: ``bemanning.toml``.

A project folder holds the data folder and a ``bemanning.toml`` saying where that project's
MLflow store (models, runs), the planners' app database and the Optuna studies live. Every
command given a data folder looks for the file in the data folder, then in the folder holding
it, then in the working directory, so after ``make demo`` the README's commands on
``demo/data`` find the demo's champion and store with no flag.

Which value wins: a command-line flag, then the environment (``MLFLOW_TRACKING_URI``,
``DATABASE_URL``, ``BEMANNING_OPTUNA_STORAGE``), then ``bemanning.toml``, then the built-in
default (files in the working directory). A value in the file is a full URL (``postgresql+
psycopg://…``) or a file path, relative to the file's folder, of a SQLite database.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from data.errors import Problem, UserInputError

PROJECT_FILE = "bemanning.toml"
#: Keys of the ``[state]`` table, the environment variables that override each, and the file
#: ``bemanning init`` names (beside ``bemanning.toml``).
STATE_KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    "mlflow": (("MLFLOW_TRACKING_URI", "BEMANNING_TRACKING_URI"), "mlflow.db"),
    "app_database": (("DATABASE_URL", "BEMANNING_DATABASE_URL"), "app.db"),
    "optuna": (("BEMANNING_OPTUNA_STORAGE",), "optuna.db"),
}
TEMPLATE = """\
# bemanning project state: where this project's models and runs (MLflow), the planners' app
# database and the tuning studies (Optuna) live. Every bemanning command given a data folder in
# this folder uses them, unless a flag or an environment variable (MLFLOW_TRACKING_URI,
# DATABASE_URL, BEMANNING_OPTUNA_STORAGE) says otherwise. A value is a SQLite file (relative
# to this file) or a full URL, e.g. postgresql+psycopg://user@host/bemanning.
[state]
{lines}
"""


@dataclass(frozen=True)
class ProjectState:
    """The URLs a ``bemanning.toml`` gives (``None`` where it is silent) and where it is."""

    path: Path
    tracking_uri: str | None = None
    database_url: str | None = None
    optuna_storage: str | None = None


def _as_url(value: str, folder: Path) -> str:
    if "://" in value:
        return value
    path = Path(value).expanduser()
    return f"sqlite:///{(path if path.is_absolute() else folder / path).resolve()}"


def read_project_state(path: Path) -> ProjectState:
    """Parse one ``bemanning.toml``; every problem at once (exit code 2 on the command line)."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UserInputError(
            f"{path} cannot be read", [Problem(file=str(path), rule=f"not valid TOML: {exc}")]
        ) from None
    state = document.get("state", {})
    if not isinstance(state, dict):
        raise UserInputError(
            f"{path} is not a valid project file",
            [Problem(file=str(path), column="state", rule="must be a [state] table")],
        )
    problems = [
        Problem(file=str(path), column=f"state.{key}", rule="unknown key", value=key)
        for key in state
        if key not in STATE_KEYS
    ]
    problems += [
        Problem(file=str(path), column=f"state.{key}", rule="must be text", value=value)
        for key, value in state.items()
        if key in STATE_KEYS and not (isinstance(value, str) and value.strip())
    ]
    if problems:
        raise UserInputError(f"{path} is not a valid project file", problems)
    urls = {key: _as_url(value, path.parent) for key, value in state.items()}
    return ProjectState(
        path=path,
        tracking_uri=urls.get("mlflow"),
        database_url=urls.get("app_database"),
        optuna_storage=urls.get("optuna"),
    )


def find_project_file(data: Path | None) -> Path | None:
    """``bemanning.toml`` in the data folder (or beside a DuckDB file), the folder above it, or
    the working directory — the first found."""
    places: list[Path] = []
    if data is not None:
        folder = Path(data).expanduser().resolve()
        if not folder.is_dir():
            folder = folder.parent
        places += [folder, folder.parent]
    places.append(Path.cwd())
    for place in places:
        candidate = place / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def find_project_state(data: Path | None) -> ProjectState | None:
    path = find_project_file(data)
    return read_project_state(path) if path is not None else None


def _from_environment(key: str) -> bool:
    return any(os.environ.get(name) for name in STATE_KEYS[key][0])


def state_value(key: str, option: str | None, data: Path | None) -> str | None:
    """The value a command uses for ``key`` (``mlflow``, ``app_database``, ``optuna``): the
    flag if given; ``None`` when the environment sets it (the settings read it there) or no
    project file says; otherwise the project file's."""
    if option:
        return option
    if _from_environment(key):
        return None
    state = find_project_state(data)
    if state is None:
        return None
    return {
        "mlflow": state.tracking_uri,
        "app_database": state.database_url,
        "optuna": state.optuna_storage,
    }[key]


def write_project_file(folder: Path) -> Path:
    """Write ``folder/bemanning.toml`` naming SQLite files beside it (kept if it exists)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PROJECT_FILE
    if not path.exists():
        lines = "\n".join(f'{key} = "{name}"' for key, (_, name) in STATE_KEYS.items())
        path.write_text(TEMPLATE.format(lines=lines), encoding="utf-8")
    return path
