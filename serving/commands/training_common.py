"""What the retraining commands share: reading the data with its warnings printed, a progress
bar fed by callbacks, the pipeline's parameters from the options and the options' checks."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serving.commands.common import console
from serving.commands.training_options import IntervalMethod

if TYPE_CHECKING:
    from data.contract import District


def _read(data: Path, columns: Path | None) -> District:
    from data.contract import SIMULATED_LABEL
    from data.validate import read_district

    with console.status("Reading and checking the data…"):
        district = read_district(data, column_mapping=columns)
    if district.simulated:
        console.print(f"[bold yellow]{SIMULATED_LABEL}[/]")
    for problem in district.warnings:
        console.print(f"  [yellow]{problem}[/]", highlight=False, soft_wrap=True)
    return district


@contextmanager
def _progress(title: str) -> Iterator[Callable[[str, int, int], None]]:
    """A Rich progress bar driven by ``progress(description, completed, total)`` callbacks;
    Python warnings raised meanwhile (e.g. targets skipped) are printed once afterwards."""
    from serving.progress import progress_bar

    with warnings.catch_warnings(record=True) as caught, progress_bar(console) as bar:
        warnings.simplefilter("always", UserWarning)
        task = bar.add_task(title, total=None)

        def update(description: str, completed: int, total: int) -> None:
            bar.update(
                task, description=f"{title}: {description}", completed=completed, total=total
            )

        yield update
    seen = set()
    for warning in caught:
        text = str(warning.message)
        if (
            issubclass(warning.category, UserWarning)
            and text not in seen
            and "mlflow" not in warning.filename
        ):
            seen.add(text)
            console.print(f"[yellow]warning: {text}[/]", highlight=False)


def _pipeline_params(
    targets: list[str] | None,
    horizons: int,
    lgbm_params: dict[str, Any] | None,
    intervals: IntervalMethod = IntervalMethod.cqr,
    cohort_features: bool | None = None,
) -> dict[str, Any]:
    params: dict[str, Any] = {"horizons": horizons, "interval_method": intervals.value}
    if cohort_features is not None:  # else the pipeline's own default
        params["cohort_features"] = cohort_features
    if targets:
        params["targets"] = tuple(dict.fromkeys(targets))
    if lgbm_params:
        params["lgbm_params"] = dict(lgbm_params)
    return params


def _parse_lgbm(items: list[str] | None) -> dict[str, Any]:
    """``KEY=VALUE`` strings → LightGBM overrides (numbers parsed, all problems at once)."""
    from data.errors import Problem, UserInputError

    params: dict[str, Any] = {}
    problems = []
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip() or not text.strip():
            problems.append(Problem(file="--lgbm", rule="must be KEY=VALUE", value=item))
            continue
        value: Any = text.strip()
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                continue
        params[key.strip()] = value
    if problems:
        raise UserInputError("bad --lgbm option(s)", problems)
    return params


def _check_targets(targets: list[str] | None) -> None:
    from data.contract import TARGETS
    from data.errors import Problem, UserInputError

    unknown = [t for t in targets or [] if t not in TARGETS]
    if unknown:
        raise UserInputError(
            "unknown target(s)",
            [
                Problem(file="--target", rule=f"must be one of {', '.join(TARGETS)}", value=t)
                for t in unknown
            ],
        )


def _check_positive(**values: int) -> None:
    from data.errors import Problem, UserInputError

    bad = [
        Problem(file=f"--{name}", rule="must be at least 1", value=value)
        for name, value in values.items()
        if value < 1
    ]
    if bad:
        raise UserInputError("bad options", bad)
