"""A clone holds everything its documents and tests point at: no link or path leaves the repo
(the data contract is docs/CONTRACT.md; real data lives in data/real)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted(
    [
        REPO / "README.md",
        *REPO.glob("docs/*.md"),
        *REPO.glob("*/README.md"),
        *REPO.glob("data/real/*.md"),
    ]
)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
#: A path in backticks that climbs out of the folder a reader runs commands from.
OUTSIDE = re.compile(r"`\.\./[^`]*`")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(REPO)))
def test_document_links_resolve_inside_the_repo(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        resolved = (document.parent / target).resolve()
        if not resolved.is_relative_to(REPO) or not resolved.exists():
            broken.append(target)
    assert not broken, f"{document.name} links to what a clone does not have: {broken}"
    assert not OUTSIDE.findall(text), f"{document.name} names paths outside the repo"


def test_tests_read_real_data_from_inside_the_repo() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "tests").rglob("*.py")
        if path.name != Path(__file__).name
        and re.search(r"shared/data|parents\[[3-9]\]", path.read_text(encoding="utf-8"))
    ]
    assert not offenders, f"tests reading data outside the repo: {offenders}"
    assert (REPO / "data/real/oslo_kindergartens_3_districts_2024.csv").is_file()
