"""``sources.toml``: which raw export fills which contract table, keyed and dated how.

A folder holding ``sources.toml`` is a district's raw exports (CONTRACT.md "Raw exports");
:func:`load_sources` reads and checks the file, reporting every problem at once with the file
``sources.toml``, the source's position and file, and the setting at fault.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from data.errors import Problem
from data.periods import EVERY
from data.quality import CATALOGUE, Indicator, indicator_from_toml
from data.schemas import TABLE_COLUMNS

SOURCES_FILE = "sources.toml"
SOURCE_TABLES = ("kindergartens", "monthly", "population", "quality")
#: Columns that are flows over a month (summed, never held): they must come monthly.
FLOW_COLUMNS = frozenset({"staff_leavers"})
FLOW_INDICATOR_UNITS = frozenset({"count", "nok"})

SOURCES_UNREADABLE = "sources.toml cannot be read"
SETTING_MISSING = "setting is required"
SETTING_BAD = "setting has a value that is not allowed"
TARGET_UNKNOWN = "maps to a column the table does not have"
TARGET_TWICE = "two source columns map to the same column"
INDICATOR_BAD = "indicator definition is not valid"
SOURCE_FILE_MISSING = "source file does not exist"
FLOW_NOT_MONTHLY = "a flow must come monthly, not coarser"


@dataclass(frozen=True)
class Target:
    """Where one source column goes: a contract column (or quality indicator), times ``scale``."""

    to: str
    scale: float = 1.0


@dataclass
class Source:
    """One ``[[source]]`` entry."""

    position: int
    file: str
    table: str
    columns: dict[str, Target]
    sheet: str | None = None
    key: str | None = None
    key_scheme: str = "kindergarten_id"
    period: str | None = None
    every: str = "month"
    lag: int = 0

    @property
    def label(self) -> str:
        return f"{SOURCES_FILE}, source {self.position} ({self.file})"


@dataclass
class SourcesConfig:
    """The whole ``sources.toml``."""

    folder: Path
    sources: list[Source] = field(default_factory=list)
    district: str | None = None
    crosswalk_file: str | None = None
    crosswalk_sheet: str | None = None
    catalogue: dict[str, Indicator] = field(default_factory=lambda: dict(CATALOGUE))


def is_raw_folder(path: Path) -> bool:
    """True when ``path`` is a folder of raw exports (holds ``sources.toml``)."""
    return Path(path).is_dir() and (Path(path) / SOURCES_FILE).exists()


def load_sources(folder: Path) -> tuple[SourcesConfig, list[Problem]]:
    """Read ``folder/sources.toml``; problems name the source and setting."""
    folder = Path(folder)
    config = SourcesConfig(folder=folder)
    try:
        document = tomllib.loads((folder / SOURCES_FILE).read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        return config, [Problem(file=SOURCES_FILE, rule=SOURCES_UNREADABLE, value=str(exc))]
    problems: list[Problem] = []
    district = document.get("district")
    config.district = str(district) if district is not None else None
    crosswalk = document.get("crosswalk")
    if isinstance(crosswalk, dict):
        if "file" not in crosswalk:
            problems.append(
                Problem(file=f"{SOURCES_FILE}, [crosswalk]", rule=SETTING_MISSING, column="file")
            )
        else:
            config.crosswalk_file = str(crosswalk["file"])
            config.crosswalk_sheet = crosswalk.get("sheet")
            if not (folder / config.crosswalk_file).exists():
                problems.append(Problem(file=config.crosswalk_file, rule=SOURCE_FILE_MISSING))
    for name, table in (document.get("indicator") or {}).items():
        where = f"{SOURCES_FILE}, [indicator.{name}]"
        try:
            config.catalogue[name] = indicator_from_toml(name, table)
        except (ValueError, TypeError, AttributeError) as exc:
            problems.append(Problem(file=where, rule=INDICATOR_BAD, value=str(exc)))
    entries = document.get("source") or []
    if not isinstance(entries, list) or not entries:
        problems.append(Problem(file=SOURCES_FILE, rule=SETTING_MISSING, column="[[source]]"))
        return config, problems
    for position, entry in enumerate(entries, start=1):
        source, source_problems = _source(folder, position, entry, config.catalogue)
        problems += source_problems
        if source is not None:
            config.sources.append(source)
    return config, problems


def _source(
    folder: Path, position: int, entry: dict, catalogue: dict[str, Indicator]
) -> tuple[Source | None, list[Problem]]:
    label = f"{SOURCES_FILE}, source {position}" + (
        f" ({entry['file']})" if "file" in entry else ""
    )
    problems: list[Problem] = []

    def need(name: str) -> object:
        if name not in entry:
            problems.append(Problem(file=label, rule=SETTING_MISSING, column=name))
        return entry.get(name)

    file, table = need("file"), need("table")
    if table is not None and table not in SOURCE_TABLES:
        problems.append(Problem(file=label, rule=SETTING_BAD, column="table", value=table))
        table = None
    every = entry.get("every", "month")
    if every not in EVERY:
        problems.append(Problem(file=label, rule=SETTING_BAD, column="every", value=every))
    lag = entry.get("published_after_months", 0)
    if not isinstance(lag, int) or isinstance(lag, bool) or lag < 0:
        problems.append(
            Problem(file=label, rule=SETTING_BAD, column="published_after_months", value=lag)
        )
        lag = 0
    if table is not None and table != "population":
        need("key")
    if table in ("monthly", "quality") or (table == "population"):
        need("period")
    if table == "population" and every != "year":
        problems.append(Problem(file=label, rule=SETTING_BAD, column="every", value=every))
    if file is not None and not (folder / str(file)).exists():
        problems.append(Problem(file=str(file), rule=SOURCE_FILE_MISSING))
    raw_columns = entry.get("columns") or {}
    if not isinstance(raw_columns, dict) or not raw_columns:
        problems.append(Problem(file=label, rule=SETTING_MISSING, column="[source.columns]"))
        raw_columns = {}
    columns: dict[str, Target] = {}
    seen: dict[str, str] = {}
    known = (
        set(catalogue)
        if table == "quality"
        else {s.name for s in TABLE_COLUMNS.get(str(table), ())} - {"kindergarten_id", "month"}
    )
    for header, target in raw_columns.items():
        to, scale = (target, 1.0) if isinstance(target, str) else (None, 1.0)
        if isinstance(target, dict):
            to = target.get("to")
            scale_value = target.get("scale", 1.0)
            if isinstance(scale_value, int | float) and not isinstance(scale_value, bool):
                scale = float(scale_value)
            else:
                problems.append(
                    Problem(
                        file=label, rule=SETTING_BAD, column=f"{header}.scale", value=scale_value
                    )
                )
        if table is not None and (not isinstance(to, str) or to not in known):
            problems.append(Problem(file=label, rule=TARGET_UNKNOWN, column=header, value=to))
            continue
        assert isinstance(to, str)
        if to in seen:
            problems.append(
                Problem(
                    file=label, rule=TARGET_TWICE, column=to, value=f"{seen[to]!r} and {header!r}"
                )
            )
            continue
        seen[to] = header
        columns[str(header).strip()] = Target(to, scale)
        if every != "month" and (
            to in FLOW_COLUMNS
            or (table == "quality" and catalogue[to].unit in FLOW_INDICATOR_UNITS)
        ):
            problems.append(
                Problem(file=str(file), rule=FLOW_NOT_MONTHLY, column=header, value=every)
            )
    scheme = str(entry.get("key_scheme", "kindergarten_id"))
    if table == "kindergartens" and scheme == "name":
        problems.append(Problem(file=label, rule=SETTING_BAD, column="key_scheme", value=scheme))
    if problems or file is None or table is None:
        return None, problems
    return (
        Source(
            position=position,
            file=str(file),
            table=str(table),
            columns=columns,
            sheet=entry.get("sheet"),
            key=entry.get("key"),
            key_scheme=scheme,
            period=entry.get("period"),
            every=str(every),
            lag=int(lag),
        ),
        problems,
    )
