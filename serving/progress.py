"""Progress on the terminal: a bar for long counted work (simulate, backtest, train, tune) and a
spinner through named steps for commands that run a fixed sequence (plan, report)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress


def progress_bar(console: Console) -> Progress:
    """A transient Rich bar: bold description, bar, done/total and time elapsed (the total may
    be unknown at first)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


@contextmanager
def staged_progress(steps: Sequence[str], console: Console) -> Iterator[Callable[[int], None]]:
    """Show ``steps[0]``; the yielded ``step(i)`` moves the spinner on to ``steps[i]``."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(steps[0], total=len(steps))

        def step(i: int) -> None:
            progress.update(task, description=steps[i], completed=i)

        yield step
