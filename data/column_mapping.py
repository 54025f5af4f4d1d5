"""Renaming a real system's column headers to the contract's names (``--columns mapping.toml``).

Exports carry their own headers, often Norwegian. The mapping file has one TOML table per data
table, each line ``"header in the export" = "contract column"``::

    [monthly]
    "Antall barn under 3 år" = "children_under3"
    "Antall barn over 3 år" = "children_over3"

    [kindergartens]
    "Barnehage" = "name"

Headers the mapping names but a file does not have are ignored (one mapping can serve several
exports). A target the contract does not know, or two columns ending up with one name, is a problem.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from data.contract import TABLES
from data.errors import Problem
from data.readers import RawTable
from data.schemas import (
    MAPPING_CLASH,
    MAPPING_UNKNOWN_TABLE,
    MAPPING_UNKNOWN_TARGET,
    MAPPING_UNREADABLE,
    TABLE_COLUMNS,
)

#: table → {header in the export: contract column}
ColumnMapping = dict[str, dict[str, str]]


def load_column_mapping(path: Path) -> tuple[ColumnMapping, list[Problem]]:
    """Read and check a mapping file; problems name the file, the table and the header."""
    path = Path(path)
    label = path.name
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        return {}, [Problem(file=label, rule=MAPPING_UNREADABLE, value="file does not exist")]
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        return {}, [Problem(file=label, rule=MAPPING_UNREADABLE, value=str(exc))]

    mapping: ColumnMapping = {}
    problems: list[Problem] = []
    for table, renames in document.items():
        if table not in TABLES or not isinstance(renames, dict):
            problems.append(Problem(file=label, rule=MAPPING_UNKNOWN_TABLE, value=table))
            continue
        known = {spec.name for spec in TABLE_COLUMNS[table]}
        mapping[table] = {}
        targets: dict[str, str] = {}
        for source, target in renames.items():
            where = f"{label}, table {table}"
            if not isinstance(target, str) or target not in known:
                problems.append(
                    Problem(file=where, rule=MAPPING_UNKNOWN_TARGET, column=source, value=target)
                )
                continue
            if target in targets:
                problems.append(
                    Problem(
                        file=where,
                        rule=MAPPING_CLASH,
                        column=target,
                        value=f"{targets[target]!r} and {source!r}",
                    )
                )
                continue
            targets[target] = source
            mapping[table][source.strip()] = target
    return mapping, problems


def apply_column_mapping(raw: RawTable, mapping: ColumnMapping) -> list[Problem]:
    """Rename ``raw``'s columns in place; report a rename onto a column the file already has."""
    renames = {
        source: target
        for source, target in mapping.get(raw.table, {}).items()
        if source in raw.frame.columns
    }
    if not renames:
        return []
    renamed = [renames.get(str(c), str(c)) for c in raw.frame.columns]
    problems = []
    for source, target in renames.items():
        if renamed.count(target) > 1:
            problems.append(
                Problem(
                    file=raw.file,
                    rule=MAPPING_CLASH,
                    column=target,
                    value=f"{source!r} renamed onto a column the file already has",
                )
            )
    if problems:
        return problems
    raw.frame.columns = renamed
    return []
