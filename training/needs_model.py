"""The fitted forecasting pipeline as ONE MLflow pyfunc model (`bemanning-needs`).

Design: the :class:`~models.forecast.pipeline.ForecastPipeline` (feature building, the LightGBM
quantile models, conformal calibration, reconciliation) is saved whole with joblib as the pyfunc's
artifact ``pipeline``; beside it travel what a consumer needs to use and judge it without the
run: the population table seen at training time (public SSB figures, which the flat pyfunc input
cannot carry), the backtest metrics, the backtest predictions with actuals of the LightGBM model
(``pit_history``; the optimiser draws joint scenarios from them) and metadata (data fingerprint,
the kindergarten and monthly columns the model was trained with).

Through MLflow (`mlflow.pyfunc.load_model(...).predict(frame, params=...)`) the model takes the
monthly panel joined with the kindergarten attributes (one row per kindergarten and month, as
:func:`district_to_model_input` builds it) and returns CONTRACT.md forecasts, or the top drivers
with ``params={"output": "contributions"}``. Inside the engine, :func:`unwrap` hands back the
pipeline itself so serving can call ``.predict(district, ...)`` directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from data.contract import KINDERGARTEN_ID, MONTH, District, month_to_str
from data.errors import Problem, UserInputError

#: Names of the files logged beside the pipeline inside the pyfunc model.
PIPELINE_ARTIFACT = "pipeline"
METADATA_ARTIFACT = "metadata"
POPULATION_ARTIFACT = "population"
METRICS_ARTIFACT = "backtest_metrics"
PIT_ARTIFACT = "pit_history"

#: Kindergarten attributes whose month values are written as ``YYYY-MM`` in the flat input.
_MONTH_ATTRIBUTES = ("opened", "closed")
#: Default prediction parameters; also the params schema of the logged signature.
DEFAULT_PARAMS: dict[str, Any] = {"horizon": 12, "origin": "", "output": "forecasts", "top": 5}


@dataclass(frozen=True)
class ModelMetadata:
    """What the model was trained on; checked against the data it is asked to forecast."""

    fingerprint: str
    simulated: bool
    kindergarten_columns: tuple[str, ...]
    monthly_columns: tuple[str, ...]
    targets: tuple[str, ...]
    trained_through: str

    def to_json(self) -> str:
        return json.dumps({**self.__dict__}, indent=2, default=list)

    @classmethod
    def from_json(cls, text: str) -> ModelMetadata:
        raw = json.loads(text)
        return cls(
            fingerprint=raw["fingerprint"],
            simulated=bool(raw["simulated"]),
            kindergarten_columns=tuple(raw["kindergarten_columns"]),
            monthly_columns=tuple(raw["monthly_columns"]),
            targets=tuple(raw["targets"]),
            trained_through=raw["trained_through"],
        )

    @classmethod
    def of(cls, district: District, targets: tuple[str, ...]) -> ModelMetadata:
        """The metadata of a model fitted on ``district``: columns that hold any value."""
        monthly = [c for c in district.monthly.columns if district.monthly[c].notna().any()]
        # A column in both tables (e.g. ``simulated``) travels in the flat input as the monthly one.
        attributes = [
            c
            for c in district.kindergartens.columns
            if c == KINDERGARTEN_ID or c not in district.monthly.columns
        ]
        return cls(
            fingerprint=district.fingerprint(),
            simulated=district.simulated,
            kindergarten_columns=tuple(map(str, attributes)),
            monthly_columns=tuple(map(str, monthly)),
            targets=tuple(targets),
            trained_through=str(district.last_month),
        )


def check_feature_set(metadata: ModelMetadata, district: District, model_name: str) -> None:
    """Raise when the data lacks a monthly column the model was trained with.

    A model fitted with e.g. ``waiting_list`` would otherwise predict from a column of missing
    values without a word; this names every missing column at once.
    """
    present = {c for c in district.monthly.columns if district.monthly[c].notna().any()}
    missing = [c for c in metadata.monthly_columns if c not in present]
    if missing:
        source = district.source or "monthly"
        problems = [
            Problem(
                file=source,
                column=column,
                rule=f"model {model_name} was trained with this column; the data has no values "
                "in it (retrain with `bemanning train DATA`, or add the column)",
            )
            for column in missing
        ]
        raise UserInputError(
            f"the model's feature set does not match the data: {len(missing)} column(s) missing",
            problems,
        )


def district_to_model_input(district: District) -> pd.DataFrame:
    """The flat pyfunc input: monthly rows joined with their kindergarten's attributes.

    Months become ``YYYY-MM`` strings (MLflow schemas have no period type).
    """
    monthly = district.monthly.copy()
    monthly[MONTH] = month_to_str(monthly[MONTH])
    attributes = district.kindergartens.copy()
    for column in _MONTH_ATTRIBUTES:
        if column in attributes:
            attributes[column] = month_to_str(pd.Series(attributes[column], dtype="period[M]"))
    overlap = [c for c in attributes.columns if c in monthly.columns and c != KINDERGARTEN_ID]
    attributes = attributes.drop(columns=overlap)
    frame = monthly.merge(attributes, on=KINDERGARTEN_ID, how="left", validate="many_to_one")
    # Counts travel as doubles: a gap (a missing value) in any later panel then still fits the
    # logged schema, which an integer column would refuse.
    for column in frame.columns:
        dtype = frame[column].dtype
        if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            frame[column] = frame[column].astype("float64")
    return frame


def model_input_to_district(
    frame: pd.DataFrame, metadata: ModelMetadata, population: pd.DataFrame | None
) -> District:
    """Split the flat pyfunc input back into the contract's tables."""
    missing = [c for c in (KINDERGARTEN_ID, MONTH) if c not in frame.columns]
    if missing:
        raise UserInputError(
            "model input lacks key columns",
            [Problem(file="model input", column=c, rule="required key column") for c in missing],
        )
    kindergarten_columns = [c for c in metadata.kindergarten_columns if c in frame.columns]
    attributes = (
        frame[kindergarten_columns].drop_duplicates(KINDERGARTEN_ID).reset_index(drop=True).copy()
    )
    for column in _MONTH_ATTRIBUTES:
        if column in attributes:
            attributes[column] = pd.PeriodIndex(
                pd.to_datetime(attributes[column], format="%Y-%m"), freq="M"
            )
    monthly_columns = [
        c for c in frame.columns if c not in kindergarten_columns or c == KINDERGARTEN_ID
    ]
    monthly = frame[monthly_columns].copy()
    monthly[KINDERGARTEN_ID] = monthly[KINDERGARTEN_ID].astype(str)
    monthly[MONTH] = pd.PeriodIndex(pd.to_datetime(monthly[MONTH], format="%Y-%m"), freq="M")
    monthly = monthly.sort_values([KINDERGARTEN_ID, MONTH]).reset_index(drop=True)
    return District(
        kindergartens=attributes,
        monthly=monthly,
        population=population,
        simulated=metadata.simulated,
        source="model input",
    )


class NeedsForecastModel(PythonModel):
    """Pyfunc wrapper around a fitted ``ForecastPipeline`` and what travels with it."""

    def load_context(self, context: Any) -> None:
        import joblib

        paths = context.artifacts
        self.pipeline = joblib.load(paths[PIPELINE_ARTIFACT])
        self.metadata = ModelMetadata.from_json(Path(paths[METADATA_ARTIFACT]).read_text())
        self.population = _read_optional_parquet(paths.get(POPULATION_ARTIFACT))
        self.backtest_metrics = _read_optional_parquet(paths.get(METRICS_ARTIFACT))
        # the backtest predictions are most of a model's bytes and only plans use them: mapped
        # now (the file stays readable if the store replaces it), read on the first plan
        path = paths.get(PIT_ARTIFACT)
        self._pit_file = _memory_map(path) if path and Path(path).exists() else None

    def read_pit_history(self) -> pd.DataFrame | None:
        """The LightGBM model's backtest predictions with ``actual`` (``origin`` and ``month``
        as categoricals of ``YYYY-MM`` text), read from the stored table now; None when the
        model was logged without a backtest."""
        if self._pit_file is None:
            return None
        return _read_optional_parquet(self._pit_file, categorical=("origin", MONTH))

    # A DataFrame hint keeps MLflow from inferring a schema from hints: the logged signature
    # (input schema + params schema) is the contract.
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Forecasts (CONTRACT.md) or top drivers for the panel in ``model_input``.

        ``params``: ``horizon`` (months, 1–12), ``origin`` (``YYYY-MM``; empty = last month in
        the data), ``output`` (``forecasts`` or ``contributions``), ``top`` (drivers per row).
        """
        settings = {**DEFAULT_PARAMS, **(params or {})}
        district = model_input_to_district(
            pd.DataFrame(model_input), self.metadata, self.population
        )
        check_feature_set(self.metadata, district, "bemanning-needs")
        horizon = int(settings["horizon"])
        if settings["output"] == "contributions":
            return self.pipeline.predict_contributions(
                district, horizon=horizon, top=int(settings["top"])
            )
        origin = pd.Period(settings["origin"], freq="M") if settings["origin"] else None
        return self.pipeline.predict(district, horizon=horizon, origin=origin)


def _memory_map(path: str) -> Any:
    import pyarrow as pa

    return pa.memory_map(path, "r")


def _read_optional_parquet(path: Any, categorical: tuple[str, ...] = ()) -> pd.DataFrame | None:
    """A stored table, text columns read through their parquet dictionary: a nation's backtest
    predictions repeat a few thousand ids and a few hundred months over millions of rows, and
    building one Python string per cell cost most of a model load. Text comes back as object
    columns (each distinct value one string, shared), except the ``categorical`` ones (the
    predictions' ``origin`` and ``month``, which :func:`training.registry.periods_from_text`
    parses once per distinct month)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(path, pa.MemoryMappedFile):
        path.seek(0)
    elif not path or not Path(path).exists():
        return None
    schema = pq.read_schema(path)
    text = [
        f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]
    # a block per column, the arrow buffers freed as they are converted: no consolidating copy
    table = pq.read_table(path, read_dictionary=text)
    frame = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    for column in text:
        if column in categorical:
            continue
        values = frame[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            categories = values.cat.categories.to_numpy(dtype=object)
            codes = values.cat.codes.to_numpy()
            taken = np.where(codes >= 0, categories.take(np.maximum(codes, 0)), None)
            frame[column] = pd.Series(taken, index=frame.index, dtype=object)
    return frame


def save_artifacts(
    folder: Path,
    pipeline: Any,
    metadata: ModelMetadata,
    district: District,
    backtest_metrics: pd.DataFrame | None,
    pit_history: pd.DataFrame | None,
) -> dict[str, str]:
    """Write the pyfunc's artifacts to ``folder``; returns the ``artifacts=`` mapping."""
    import joblib

    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        PIPELINE_ARTIFACT: folder / "pipeline.joblib",
        METADATA_ARTIFACT: folder / "metadata.json",
    }
    joblib.dump(pipeline, paths[PIPELINE_ARTIFACT])
    paths[METADATA_ARTIFACT].write_text(metadata.to_json())
    tables = {
        POPULATION_ARTIFACT: district.population,
        METRICS_ARTIFACT: backtest_metrics,
        PIT_ARTIFACT: pit_history,
    }
    for name, table in tables.items():
        if table is not None:
            paths[name] = folder / f"{name}.parquet"
            parquet_safe(table).to_parquet(paths[name], index=False)
    return {name: str(path) for name, path in paths.items()}


def parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Period columns as ``YYYY-MM`` strings, so the table reads back anywhere."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.PeriodDtype):
            # each distinct month formatted once: backtest predictions hold millions of rows
            codes, uniques = pd.factorize(out[column], use_na_sentinel=True)
            text = month_to_str(pd.Series(uniques)).to_numpy(dtype=object)
            column_text = pd.Series(text.take(codes), index=out.index, dtype=object)
            out[column] = column_text.where(codes >= 0, None)
    return out
