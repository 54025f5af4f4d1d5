"""A spinner through named steps, for commands that run a fixed sequence (plan, report)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


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
