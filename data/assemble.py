"""A folder of raw exports (``sources.toml``) → the contract's tables, their lineage and checks.

Order: the crosswalk, then the kindergartens table (names and ids the other sources are matched
against), then every other source as a :class:`~data.source_frames.Part`, merged per table:

- the rows of ``monthly`` are the (kindergarten, month) pairs of its monthly sources; a coarser
  source's value holds for each month of its period (CONTRACT.md) and fills those rows;
- two sources giving one cell must agree, or both are named;
- the merged tables then pass the same checks as a tidy folder (``validate_tables``),
  with each problem pointed back at the source file and row that made the row.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from data.contract import District
from data.contract_checks import mask_problems
from data.errors import DataContractError, Problem, UserInputError
from data.keys import CODE_USED_TWICE, CROSSWALK_UNKNOWN_ID, NameIndex
from data.lineage import file_fingerprint, lineage_frame
from data.periods import ordinals_to_periods
from data.quality import QUALITY_COLUMNS
from data.readers import SIMULATED_MARKER_FILE, RawTable, read_source_file
from data.schemas import MISSING_COLUMN, TABLE_COLUMNS
from data.source_frames import Part, build_part, check_headers
from data.sources import SETTING_BAD, SOURCES_FILE, Source, SourcesConfig, load_sources

SOURCES_DISAGREE = "two sources give different values for the same cell"
NO_SOURCE = "no source fills this table"
CROSSWALK_ID = "kindergarten_id"


@dataclass
class Assembly:
    """The assembled District and the lineage of its columns."""

    district: District
    lineage: pd.DataFrame
    sources: list[Source] = field(default_factory=list)


def assemble_folder(folder: Path) -> Assembly:
    """Assemble and validate a raw folder; raise DataContractError listing every problem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserInputError(f"{folder} is not a folder of raw exports")
    config, problems = load_sources(folder)
    if problems:
        raise DataContractError(problems)
    raws: dict[int, RawTable] = {}
    for source in config.sources:
        raw, read_problems = read_source_file(
            source.table, folder / source.file, label=source.file, sheet=source.sheet
        )
        problems += read_problems
        if raw is not None:
            header_problems = check_headers(raw, source)
            problems += header_problems
            if not header_problems:
                raws[source.position] = raw

    crosswalk, crosswalk_problems = _crosswalk(config)
    problems += crosswalk_problems
    for source in config.sources:
        if (
            source.key_scheme not in ("kindergarten_id", "name")
            and source.key_scheme not in crosswalk
        ):
            problems.append(
                Problem(
                    file=source.label,
                    rule=SETTING_BAD,
                    column="key_scheme",
                    value=source.key_scheme,
                )
            )
            raws.pop(source.position, None)

    def parts_of(table: str, names: NameIndex | None, known: pd.Index | None) -> list[Part]:
        parts = []
        for source in config.sources:
            if source.table != table or source.position not in raws:
                continue
            part, part_problems = build_part(
                raws[source.position],
                source,
                known_ids=known,
                names=names,
                crosswalk=crosswalk,
                catalogue=config.catalogue,
                district=config.district,
            )
            problems.extend(part_problems)
            parts.append(part)
        return parts

    tables: dict[str, pd.DataFrame] = {}
    origins: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    kg_parts = parts_of("kindergartens", None, None)
    frame, origin, clash = _merge(kg_parts, ["kindergarten_id"], "kindergartens")
    problems += clash
    tables["kindergartens"], origins["kindergartens"] = frame, origin
    known = pd.Index(frame["kindergarten_id"].astype(str)) if len(frame) else pd.Index([])
    names = NameIndex(frame["kindergarten_id"], frame["name"]) if "name" in frame else None
    problems += _crosswalk_ids(config, crosswalk, known)

    monthly_parts = _expanded(parts_of("monthly", names, known))
    frame, origin, clash = _merge(monthly_parts, ["kindergarten_id", "month"], "monthly")
    problems += clash
    frame["month"] = ordinals_to_periods(frame["month"].to_numpy(dtype=np.int64)).array
    tables["monthly"], origins["monthly"] = frame, origin

    population_parts = parts_of("population", names, known)
    if population_parts:
        frame, origin, clash = _merge(population_parts, ["district", "area", "year"], "population")
        problems += clash
        tables["population"], origins["population"] = frame, origin

    quality = _quality(parts_of("quality", names, known), problems)
    for table in ("kindergartens", "monthly"):
        if not any(s.table == table for s in config.sources):
            problems.append(Problem(file=SOURCES_FILE, rule=NO_SOURCE, column=table))
    if any(p.severity == "error" for p in problems):
        raise DataContractError(problems)

    district = _validated(tables, origins, problems, folder, quality)
    lineage = _lineage(config)
    district.lineage = lineage
    return Assembly(district=district, lineage=lineage, sources=config.sources)


# ---- crosswalk -----------------------------------------------------------------------------------
def _crosswalk(config: SourcesConfig) -> tuple[dict[str, dict[str, str]], list[Problem]]:
    """Each key scheme's code → kindergarten_id; a code given to two kindergartens is a problem."""
    if config.crosswalk_file is None:
        return {}, []
    path = config.folder / config.crosswalk_file
    if not path.exists():
        return {}, []
    raw, problems = read_source_file(
        "crosswalk", path, label=config.crosswalk_file, sheet=config.crosswalk_sheet
    )
    if raw is None:
        return {}, problems
    if CROSSWALK_ID not in raw.frame.columns:
        return {}, [
            *problems,
            Problem(file=raw.file, rule=MISSING_COLUMN, row=1, column=CROSSWALK_ID),
        ]
    ids = pd.Series([_code(v) for v in raw.frame[CROSSWALK_ID]], dtype=object)
    crosswalk: dict[str, dict[str, str]] = {}
    for column in raw.frame.columns:
        if column == CROSSWALK_ID:
            continue
        codes = pd.Series([_code(v) for v in raw.frame[column]], dtype=object)
        present = codes.notna() & ids.notna()
        pairs = pd.DataFrame({"code": codes, "id": ids})[present]
        twice = pairs.groupby("code")["id"].transform("nunique") > 1
        mask = np.zeros(len(codes), dtype=bool)
        mask[pairs.index[twice.to_numpy()]] = True
        problems += mask_problems(raw, mask, str(column), CODE_USED_TWICE, codes)
        crosswalk[str(column)] = dict(zip(pairs["code"], pairs["id"], strict=True))
    return crosswalk, problems


def _code(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() or None


def _crosswalk_ids(
    config: SourcesConfig, crosswalk: dict[str, dict[str, str]], known: pd.Index
) -> list[Problem]:
    if not crosswalk or len(known) == 0:
        return []
    unknown = sorted({i for codes in crosswalk.values() for i in codes.values()} - set(known))
    return [
        Problem(
            file=str(config.crosswalk_file), rule=CROSSWALK_UNKNOWN_ID, column=CROSSWALK_ID, value=i
        )
        for i in unknown
    ]


# ---- merging -------------------------------------------------------------------------------------
def _expanded(parts: list[Part]) -> list[Part]:
    """Each row of a coarse period repeated for every month it holds (key gains ``month``)."""
    out = []
    for part in parts:
        length = (part.end - part.start + 1).astype(np.int64)
        repeat = np.repeat(np.arange(len(part.rows)), length)
        offsets = np.arange(len(repeat)) - np.repeat(np.cumsum(length) - length, length)
        keys = part.keys.iloc[repeat].reset_index(drop=True)
        keys["month"] = part.start[repeat] + offsets
        out.append(
            Part(
                source=part.source,
                file=part.file,
                rows=part.rows[repeat],
                keys=keys,
                start=part.start[repeat],
                end=part.end[repeat],
                values={k: v[repeat] for k, v in part.values.items()},
                headers=part.headers,
            )
        )
    return out


def _merge(
    parts: list[Part], key: list[str], table: str
) -> tuple[pd.DataFrame, tuple[np.ndarray, np.ndarray], list[Problem]]:
    """One frame from several parts: rows from the parts of the finest period (monthly sources
    for monthly), cells from whichever part gives them; a cell given differently is a problem.

    Returns the frame, each row's origin (file, user row) and the problems."""
    if not parts:
        empty = pd.DataFrame({k: pd.Series(dtype=object) for k in key})
        return empty, (np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)), []
    all_keys = pd.concat([p.keys[key] for p in parts], ignore_index=True)
    codes = all_keys.groupby(key, sort=False, dropna=False).ngroup().to_numpy()
    bounds = np.cumsum([0] + [len(p.rows) for p in parts])
    monthly_parts = [i for i, p in enumerate(parts) if p.source.every == "month"]
    # monthly rows come from the monthly sources (a coarse value fills them); other tables'
    # rows come from every source
    spine_parts = monthly_parts if table == "monthly" and monthly_parts else list(range(len(parts)))
    n_codes = int(codes.max()) + 1 if len(codes) else 0
    position = np.full(n_codes, -1, dtype=np.int64)
    first_at = np.full(n_codes, -1, dtype=np.int64)
    origin_part = np.full(n_codes, -1, dtype=np.int64)
    for i in spine_parts:
        part_codes = codes[bounds[i] : bounds[i + 1]]
        new = first_at[part_codes] < 0
        first_at[part_codes[new]] = bounds[i] + np.flatnonzero(new)
        origin_part[part_codes[new]] = i
    in_spine = np.flatnonzero(first_at >= 0)
    spine_first = first_at[in_spine]
    order = np.argsort(spine_first, kind="stable")
    position[in_spine[order]] = np.arange(len(in_spine))
    n_rows = len(in_spine)
    rows_first = spine_first[order]
    frame = all_keys.iloc[rows_first].reset_index(drop=True)
    part_of = np.searchsorted(bounds, rows_first, side="right") - 1
    origin_file = np.array([p.file for p in parts], dtype=object)[part_of]
    origin_row = np.concatenate([np.asarray(p.rows, dtype=np.int64) for p in parts])[rows_first]

    problems: list[Problem] = []
    columns = list(dict.fromkeys(c for p in parts for c in p.values))
    for column in columns:
        text = any(p.values[column].dtype == object for p in parts if column in p.values)
        out = np.full(n_rows, None if text else np.nan, dtype=object if text else float)
        who = np.full(n_rows, -1, dtype=np.int64)
        who_row = np.zeros(n_rows, dtype=np.int64)
        for i, part in enumerate(parts):
            if column not in part.values:
                continue
            values = part.values[column]
            pos = position[codes[bounds[i] : bounds[i + 1]]]
            present = pos >= 0
            present &= ~pd.isna(values)
            where = pos[present]
            given = values[present]
            filled = who[where] >= 0
            differ = filled & (out[where] != given)
            if differ.any():
                problems += _disagreements(
                    parts, part, column, present, differ, where, given, out, who, who_row
                )
            new = ~filled
            out[where[new]] = given[new]
            who[where[new]] = i
            who_row[where[new]] = part.rows[present][new]
        frame[column] = out
    return frame, (origin_file, origin_row), problems


def _disagreements(
    parts: list[Part],
    part: Part,
    column: str,
    present: np.ndarray,
    differ: np.ndarray,
    where: np.ndarray,
    given: np.ndarray,
    out: np.ndarray,
    who: np.ndarray,
    who_row: np.ndarray,
) -> list[Problem]:
    """One problem per row of the later source that contradicts an earlier one."""
    rows = part.rows[present][differ]
    first = np.unique(rows, return_index=True)[1]
    problems = []
    for index in first:
        cell = where[differ][index]
        other = parts[int(who[cell])]
        problems.append(
            Problem(
                file=part.file,
                rule=SOURCES_DISAGREE,
                row=int(rows[index]),
                column=part.headers.get(column, column),
                value=(
                    f"{_shown(given[differ][index])} here, {_shown(out[cell])} in "
                    f"{other.file} row {int(who_row[cell])}"
                ),
            )
        )
    return problems


def _shown(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ---- quality -------------------------------------------------------------------------------------
def _quality(parts: list[Part], problems: list[Problem]) -> pd.DataFrame | None:
    """Wide survey files → the long quality table (month = the period's last month)."""
    if not parts:
        return None
    long = []
    for part in parts:
        for indicator, values in part.values.items():
            present = ~np.isnan(values)
            long.append(
                Part(
                    source=part.source,
                    file=part.file,
                    rows=part.rows[present],
                    keys=pd.DataFrame(
                        {
                            "kindergarten_id": part.keys["kindergarten_id"].to_numpy()[present],
                            "month": part.end[present],
                            "indicator": indicator,
                        }
                    ),
                    start=part.start[present],
                    end=part.end[present],
                    values={"value": values[present]},
                    headers={"value": part.headers[indicator]},
                )
            )
    indicators = [p.keys["indicator"].iat[0] for p in long if len(p.rows)]
    if len(indicators) == len(set(indicators)):
        # each indicator from one source (checked there for repeats): nothing to reconcile
        frame = pd.concat([p.keys.assign(value=p.values["value"]) for p in long], ignore_index=True)
    else:
        frame, _, clash = _merge(long, ["kindergarten_id", "month", "indicator"], "quality")
        problems += clash
    frame["month"] = ordinals_to_periods(frame["month"].to_numpy(dtype=np.int64)).array
    frame["value"] = frame["value"].astype(float)
    frame = frame[list(QUALITY_COLUMNS)]
    return frame.sort_values(["kindergarten_id", "month", "indicator"], kind="stable").reset_index(
        drop=True
    )


# ---- validation and lineage ----------------------------------------------------------------------
def _validated(
    tables: dict[str, pd.DataFrame],
    origins: dict[str, tuple[np.ndarray, np.ndarray]],
    problems: list[Problem],
    folder: Path,
    quality: pd.DataFrame | None,
) -> District:
    """The contract's checks on the merged tables, problems pointed back at the source rows."""
    from data.validate import validate_tables

    raws = {}
    for name, frame in tables.items():
        frame = _contract_order(frame, name)
        raws[name] = RawTable(name, frame, f"{name} (assembled)", np.arange(1, len(frame) + 1))
    simulated = (folder / SIMULATED_MARKER_FILE).exists()
    try:
        district = validate_tables(raws, problems, simulated=simulated, source=str(folder))
    except DataContractError as exc:
        raise DataContractError([_pointed(p, origins) for p in exc.problems]) from None
    district.warnings = [_pointed(p, origins) for p in district.warnings]
    district.quality = quality
    return district


def _contract_order(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    order = [s.name for s in TABLE_COLUMNS[table] if s.name in frame.columns]
    out = frame[order].copy()
    for spec in TABLE_COLUMNS[table]:
        if spec.kind == "month" and spec.name in out and out[spec.name].dtype == float:
            values = out[spec.name].to_numpy(dtype=float)
            ordinals = np.where(np.isnan(values), np.iinfo(np.int64).min, values).astype(np.int64)
            out[spec.name] = ordinals_to_periods(ordinals).array
    return out


def _pointed(problem: Problem, origins: dict[str, tuple[np.ndarray, np.ndarray]]) -> Problem:
    table = problem.file.removesuffix(" (assembled)")
    if table == problem.file or table not in origins or problem.row is None:
        return problem
    files, rows = origins[table]
    index = problem.row - 1
    if not 0 <= index < len(files):
        return problem
    return replace(problem, file=str(files[index]), row=int(rows[index]))


def _lineage(config: SourcesConfig) -> pd.DataFrame:
    rows = []
    for source in config.sources:
        fingerprint = file_fingerprint(config.folder / source.file)
        for target in source.columns.values():
            rows.append(
                {
                    "table": source.table,
                    "column": target.to,
                    "source_file": source.file,
                    "fingerprint": fingerprint,
                    "every": source.every,
                    "published_after_months": source.lag,
                }
            )
    return lineage_frame(rows)
