"""How a CSV file from a real system is written: encoding, delimiter and decimal mark.

Norwegian spreadsheet exports are often ``;``-separated with decimal commas, saved as UTF-8 with a
byte-order mark or as Latin-1 / Windows-1252. We sniff rather than ask, because the people who
export the file rarely know which of these their tool chose.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

#: Encodings tried in order. UTF-8 (with or without BOM) first: it fails loudly on Latin-1 bytes,
#: while cp1252 accepts nearly anything, so it must come after; latin-1 accepts every byte.
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
DELIMITERS = ";,\t|"
#: Bytes read to decide; enough for a header and a few dozen rows.
SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class CsvDialect:
    """What we found out about one CSV file."""

    encoding: str
    delimiter: str
    #: True when numbers may be written ``0,25`` (the file is ``;``-separated).
    decimal_comma: bool


def detect_encoding(path: Path) -> str:
    """The first of :data:`ENCODINGS` that decodes the whole file."""
    raw = path.read_bytes()
    for encoding in ENCODINGS:
        try:
            raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return "latin-1"  # pragma: no cover - latin-1 decodes every byte


def detect_delimiter(sample: str) -> str:
    """The delimiter of a CSV text sample: csv.Sniffer first, then the commonest in the header."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample else ""
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] > 0 else ","


def detect_dialect(path: Path) -> CsvDialect:
    """Encoding, delimiter and decimal mark of a CSV file."""
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as handle:
        sample = handle.read(SNIFF_BYTES)
    # Cut a partial last line so the sniffer sees whole rows only.
    if len(sample) == SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    delimiter = detect_delimiter(sample)
    return CsvDialect(encoding=encoding, delimiter=delimiter, decimal_comma=delimiter == ";")
