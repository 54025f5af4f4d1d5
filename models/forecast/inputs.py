"""From a :class:`District` to the grid the forecasters read, point-in-time by construction.

Everything a forecast at origin t may see is the data truncated to months ≤ t (``as_of``) plus
the known-future features (calendar, August shift, projections) for the months ahead; the feature
table is rebuilt on the truncated data, so altering data after t cannot change a forecast made at t.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pandas as pd

from data.contract import KINDERGARTEN_ID, MONTH, TARGETS, District
from data.errors import Problem, UserInputError
from data.lineage import known_at
from features.table import feature_columns, feature_table_and_known_grid
from models.forecast.frames import CYCLE_TARGETS, PanelGrid, build_panel_grid


def as_of(district: District, month: pd.Period) -> District:
    """The district as it was known at the end of ``month``: monthly rows after it removed, and
    quality values not yet published then left out (``data.lineage.known_at``)."""
    if district.lineage is not None or district.quality is not None:
        return known_at(district, month)
    monthly = district.monthly[district.monthly[MONTH] <= month].reset_index(drop=True)
    return replace(district, monthly=monthly)


def resolve_targets(district: District, requested: Sequence[str] | None) -> list[str]:
    """The targets to model: the requested ones (each must be in the data), or every contract
    target present (absent ones skipped with a warning)."""
    monthly = district.monthly

    def present(t: str) -> bool:
        return t in monthly.columns and bool(monthly[t].notna().any())

    if requested is not None:
        absent = [t for t in requested if not present(t)]
        if absent:
            raise UserInputError(
                f"target(s) {', '.join(absent)} asked for but absent from the data",
                [
                    Problem(
                        file="monthly",
                        column=t,
                        rule="target asked for explicitly is absent (no column or no values)",
                    )
                    for t in absent
                ],
            )
        return list(requested)
    chosen = [t for t in TARGETS if present(t)]
    skipped = [t for t in TARGETS if t not in chosen]
    if skipped:
        warnings.warn(
            f"target(s) absent from the data, skipped: {', '.join(skipped)}",
            UserWarning,
            stacklevel=3,
        )
    if not chosen:
        raise UserInputError(
            "no forecast target in the data",
            [Problem(file="monthly", rule=f"needs one of {', '.join(TARGETS)}")],
        )
    return chosen


def months_of_history(district: District, target: str) -> int:
    """Distinct months with at least one value of ``target``."""
    values = district.monthly[[MONTH, target]].dropna()
    return int(values[MONTH].nunique())


def check_history(district: District, targets: Sequence[str], required: int) -> None:
    """Every target needs ``required`` months of history; all shortfalls reported at once."""
    problems = []
    for t in targets:
        have = months_of_history(district, t)
        if have < required:
            problems.append(
                Problem(
                    file="monthly",
                    column=t,
                    rule=f"too little history: {required} months needed, {have} months present",
                )
            )
    if problems:
        raise UserInputError(
            f"too little history to forecast: {required} months needed per target", problems
        )


#: Features that index absolute time (the kindergarten year, the count of months seen). Trees
#: cannot extrapolate them: every future month falls in the last bin seen in training, so they
#: learn the level of past periods instead of a mechanism. Left out of the models' design.
TIME_INDEX_FEATURES = ("known_kg_year", "months_observed")


@dataclass
class FeatureInputs:
    grid: PanelGrid
    point_in_time: list[str]
    known_future: list[str]


def check_horizon(horizon: int, horizons: int) -> None:
    """Refuse a forecast horizon outside the model's 1 … ``horizons`` months (exit 2)."""
    if not 1 <= horizon <= horizons:
        raise UserInputError(
            f"horizon {horizon} is outside the model's 1 … {horizons}",
            [
                Problem(
                    file="forecast request",
                    column="horizon",
                    rule=f"must be 1 … {horizons} months",
                )
            ],
        )


def feature_inputs(
    district: District,
    targets: Sequence[str],
    *,
    months_ahead: int,
    exclude: Sequence[str] = (),
) -> FeatureInputs:
    """Feature table of ``district`` on a grid reaching ``months_ahead`` months past its data,
    without the features named in ``exclude``."""
    table, known = feature_table_and_known_grid(district, months_ahead=months_ahead)
    point_in_time, known_future = (
        [name for name in c if name not in exclude] for c in feature_columns(table)
    )
    last = district.monthly[MONTH].max()
    ids = sorted(table[KINDERGARTEN_ID].unique())
    grid = build_panel_grid(
        table,
        known,
        point_in_time_names=[c for c in point_in_time if c not in TIME_INDEX_FEATURES],
        known_future_names=[c for c in known_future if c not in TIME_INDEX_FEATURES],
        # both children counts always: their cohort estimate needs the two together
        targets=list(dict.fromkeys([*targets, *CYCLE_TARGETS])),
        kindergarten_ids=ids,
        last_month=last + months_ahead,
    )
    return FeatureInputs(grid, point_in_time, known_future)


def target_grid(district: District, targets: Sequence[str], *, months_ahead: int) -> PanelGrid:
    """The targets alone on a grid (for the baselines, which need no features)."""
    monthly = district.monthly
    last = monthly[MONTH].max()
    return build_panel_grid(
        monthly,
        None,
        point_in_time_names=[],
        known_future_names=[],
        targets=targets,
        last_month=last + months_ahead,
    )


def check_feature_names(expected: dict[str, list[str]], found: FeatureInputs) -> None:
    """A fitted model and the data must agree on the features, name for name."""
    problems = []
    for kind, names in (
        ("point_in_time", found.point_in_time),
        ("known_future", found.known_future),
    ):
        want = expected[kind]
        missing = [n for n in want if n not in names]
        extra = [n for n in names if n not in want]
        if missing:
            problems.append(
                Problem(
                    file="feature table",
                    rule=(
                        f"{kind.replace('_', '-')} features the model was trained on are missing: "
                        f"{', '.join(missing)}"
                    ),
                )
            )
        if extra:
            problems.append(
                Problem(
                    file="feature table",
                    rule=(
                        f"{kind.replace('_', '-')} features the model does not know: "
                        f"{', '.join(extra)}"
                    ),
                )
            )
        if not missing and not extra and list(want) != list(names):
            problems.append(Problem(file="feature table", rule=f"{kind} features in another order"))
    if problems:
        raise UserInputError("the model's feature set does not match the data", problems)


def targets_fitted_on_other_features(
    fitted: dict[str, list[str]], built: dict[str, list[str]]
) -> list[str]:
    """The targets of a fitted model's design features (``fitted``) whose features differ from
    the ones this version of the engine builds from the data (``built``); targets ``built`` does
    not have are not compared."""
    return [
        target
        for target, names in fitted.items()
        if target in built and list(names) != list(built[target])
    ]


def check_design_names(expected: dict[str, list[str]], found: dict[str, list[str]]) -> None:
    """A fitted model's design features per target (the data's features plus the engine's own
    history and projection features) must be the ones this version of the engine builds. A
    feature whose definition changes gets a new name, so a model fitted on the old definition is
    refused here rather than silently fed the new one."""
    problems = []
    for target in targets_fitted_on_other_features(expected, found):
        unknown = [n for n in expected[target] if n not in found[target]]
        problems.append(
            Problem(
                file="model",
                column=target,
                rule=(
                    "fitted on features this version of the engine does not build"
                    + (f" ({', '.join(unknown)})" if unknown else " in this order")
                    + ": retrain it, or promote a version this engine fitted "
                    "(bemanning promote VERSION)"
                ),
            )
        )
    if problems:
        raise UserInputError("the model was fitted by another version of the engine", problems)
