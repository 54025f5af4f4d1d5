"""What every command shares: bad input reported as a list with exit code 2, never a traceback."""

from __future__ import annotations

import functools
import gc
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from data.errors import UserInputError

# where a command's MLflow, store and Optuna URLs come from (flag, environment, bemanning.toml)
from serving.project import state_value as state_value

P = ParamSpec("P")
R = TypeVar("R")

console = Console()
err_console = Console(stderr=True)

#: set by :func:`serving.cli.main`: this process runs one command and then ends
_ONE_COMMAND = {"process": False}


def start_command_process() -> None:
    """Mark this process as running one command (:func:`serving.cli.main`), then
    :func:`freeze_long_lived`."""
    _ONE_COMMAND["process"] = True
    freeze_long_lived()


def freeze_long_lived() -> None:
    """In a process that runs one command, move every object alive now out of the cyclic
    garbage collector's sight (``gc.freeze``): the modules imported, the data read, a loaded
    model live until the process ends anyway, and otherwise every full collection, and the
    interpreter's last ones at exit, walk millions of objects that are never garbage (a city
    plan spent 0.9 s of CPU in full collections and 1.4 s exiting; profiled 2026-12-07).
    Called once the command's imports are done, after its model load and when it ends. Does
    nothing where a command's function runs without :func:`serving.cli.main` (tests), so
    what a test leaves behind stays collectable."""
    if _ONE_COMMAND["process"]:
        gc.freeze()


def print_study_states(study_name: str, storage_url: str, trials: Iterable[Any]) -> None:
    """One line of an Optuna study's trials by state ("12 complete, 3 pruned"), for `tune`
    and `tune --plans` alike."""
    states = Counter(trial.state.name.lower() for trial in trials)
    console.print(
        f"Study [bold]{study_name}[/] in {storage_url}: "
        + ", ".join(f"{n} {state}" for state, n in sorted(states.items())),
        highlight=False,
    )


def report_user_error(exc: UserInputError, console: Console = err_console) -> None:
    """Print every problem of a bad input, errors first, then warnings."""
    console.print(f"[bold red]{escape(str(exc))}[/]", highlight=False)
    for problem in sorted(exc.problems, key=lambda p: p.severity != "error"):
        style = "red" if problem.severity == "error" else "yellow"
        console.print(f"  [{style}]{escape(str(problem))}[/]", highlight=False, soft_wrap=True)


def user_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Decorate a Typer command: a :class:`UserInputError` becomes a report and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except UserInputError as exc:
            report_user_error(exc)
            raise typer.Exit(code=2) from None

    return wrapper


#: Options and arguments several commands share, declared once.
DataArgument = Annotated[
    Path,
    typer.Argument(
        help="Data folder (kindergartens.*, monthly.*, population.* as CSV, Parquet or .xlsx) "
        "or one DuckDB file holding tables of those names.",
        show_default=False,
    ),
]
ColumnsOption = Annotated[
    Path | None,
    typer.Option(
        "--columns",
        help="TOML file renaming the export's headers to the contract's, one \\[table] per data "
        'table, e.g. \\[monthly] "Antall barn under 3 år" = "children_under3".',
    ),
]
TrackingOption = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else the project's "
        "bemanning.toml beside the data, else sqlite:///mlflow.db in the working directory).",
    ),
]
