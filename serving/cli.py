"""The ``bemanning`` command line: one Typer app; each workload lives in its own module under
``serving.commands`` (``register(app)``) and imports its heavy libraries only when it runs."""

from __future__ import annotations

import importlib

import typer

from serving.commands.common import freeze_long_lived, start_command_process

app = typer.Typer(
    name="bemanning",
    help="Predictive staffing engine for Oslo's kindergartens.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Modules under serving.commands that add commands; each has ``register(app)``.
COMMAND_MODULES = ("data", "assemble", "training", "planning", "web", "report", "project")

for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"serving.commands.{_name}")
    except ModuleNotFoundError as exc:  # a workload not built yet in this checkout
        if exc.name != f"serving.commands.{_name}":
            raise
        continue
    _module.register(app)


def main() -> None:
    """Run one command; what it imports and reads lives until the process ends
    (:func:`serving.commands.common.freeze_long_lived`)."""
    start_command_process()
    try:
        app()
    finally:
        freeze_long_lived()
