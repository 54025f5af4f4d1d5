"""``forecast``: every kindergarten and target forecast with the champion (or a given model),
written with its top drivers and the rare counts' outlook. Heavy libraries are imported inside
the command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from serving.commands.common import (
    ColumnsOption,
    DataArgument,
    TrackingOption,
    console,
    state_value,
    user_errors,
)
from serving.commands.training_common import _check_positive, _read


@user_errors
def forecast(
    data: DataArgument,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="CSV file for the forecasts (CONTRACT.md "
            "format); the top drivers go beside it as "
            "<name>_drivers.csv.",
        ),
    ] = Path("forecasts.csv"),
    horizon: Annotated[int, typer.Option(help="Months ahead, 1–12.")] = 12,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="MLflow model URI (default: models:/bemanning-needs@champion)."
        ),
    ] = None,
    top: Annotated[int, typer.Option(help="Drivers per forecast row.")] = 5,
    columns: ColumnsOption = None,
    tracking_uri: TrackingOption = None,
) -> None:
    """Forecast every kindergarten and target with the champion model (or --model) and write
    the forecasts and their top drivers (LightGBM feature contributions)."""
    import pandas as pd

    from data.contract import FORECAST_COLUMNS, month_to_str
    from data.errors import Problem, UserInputError
    from models.forecast.fallback import with_fallback
    from serving.i18n import DEFAULT_LANGUAGE
    from serving.words import forecast_source
    from training.registry import load_champion, load_model

    _check_positive(horizon=horizon, top=top)
    if out.suffix.lower() != ".csv":
        raise UserInputError(
            f"--out {out} must be a .csv file",
            [Problem(file="--out", rule="must end in .csv", value=str(out))],
        )
    with console.status("Loading the model…"):
        uri = state_value("mlflow", tracking_uri, data)
        loaded = load_model(model, uri) if model else load_champion(uri)
    console.print(
        f"Model version [bold]{loaded.version}[/] (trained on data {loaded.fingerprint})."
    )
    district = _read(data, columns)
    loaded.check_compatible(district)
    with console.status("Forecasting…"):
        forecasts = loaded.pipeline.predict(district, horizon=horizon)
        drivers = loaded.pipeline.predict_contributions(district, horizon=horizon, top=top)
        # every open kindergarten gets a forecast: the recently opened and the gapped the
        # documented fallback (models/forecast/fallback.py), named in the forecast column
        fallback = with_fallback(
            district,
            forecasts,
            origin=district.last_month,
            horizon=horizon,
            targets=tuple(t for t in loaded.pipeline.targets_ if t in district.monthly.columns),
        )
    forecasts = fallback.forecasts[list(FORECAST_COLUMNS)].copy()
    # a planner opens this file: where each forecast comes from in bokmål (the reasons in
    # detail are printed below)
    forecasts["forecast"] = [
        forecast_source(DEFAULT_LANGUAGE, fallback.reasons.get(k))
        for k in forecasts["kindergarten_id"].astype(str)
    ]
    written = []
    for frame, path in ((forecasts, out), (drivers, out.with_name(f"{out.stem}_drivers.csv"))):
        frame = frame.copy()
        for column in ("origin", "month"):
            frame[column] = month_to_str(frame[column].astype(pd.PeriodDtype("M")))
        if district.simulated:
            frame["simulated"] = True
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        written.append(path)
    for kid, reason in sorted(fallback.reasons.items()):
        console.print(f"[yellow]fallback forecast for {kid} ({reason})[/]", highlight=False)
    console.print(
        f"Wrote {len(forecasts):,} forecasts to {written[0]} and their drivers to "
        f"{written[1]} ({forecasts['kindergarten_id'].nunique()} kindergartens, "
        f"{forecasts['target'].nunique()} targets, horizons 1–{horizon})."
    )
    _write_rare_counts(
        forecasts,
        out.with_name(f"{out.stem}_rare_counts.csv"),
        horizon,
        simulated=district.simulated,
    )


def _write_rare_counts(forecasts: Any, path: Path, horizon: int, *, simulated: bool) -> None:
    """Counts that are mostly zero (staff leavers, § 37 decisions) as a planner reads them:
    expected number over the period and the chance of at least one, per kindergarten."""
    from training.evaluation import rare_count_outlook

    outlook = rare_count_outlook(forecasts)
    if outlook.empty:
        return
    shown = outlook.round({"expected_number": 3, "p_at_least_one": 3})
    if simulated:
        shown["simulated"] = True
    shown.to_csv(path, index=False)
    for target, part in outlook.groupby("target"):
        likely = int((part["p_at_least_one"] >= 0.5).sum())
        console.print(
            f"{target}: {part['expected_number'].sum():.1f} expected over the next {horizon} "
            f"months in all; {likely} of {len(part)} kindergartens at least even odds of one.",
            highlight=False,
        )
    console.print(f"Expected numbers and chances of at least one: {path}", soft_wrap=True)
