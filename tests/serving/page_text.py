"""What a person reads on a page: the text outside scripts and styles, plus the attribute texts
a screen reader or tooltip shows (aria-label, title, placeholder, alt)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: A code word: lower-case words joined by underscores (``unmet_staff_fte_months``).
SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
#: A number in e-notation (``2.21e+03``, ``-1e5``), not the tail of a hyphenated identifier: a
#: plan's ID ends in a random hex word, and ``gamleoslo-20261207-4e428594`` is a name, not 4 × 10^…
E_NOTATION = re.compile(r"(?<![\w-])[-−]?\d+(?:[.,]\d+)?e[+-]?\d+\b", re.IGNORECASE)
#: A Python dict or list written out (``{'staff': 8.0``).
PYTHON_DICT = re.compile(r"\{\s*'[^']*'\s*:")
SHOWN_ATTRIBUTES = ("aria-label", "title", "placeholder", "alt")


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        self.parts += [v for k, v in attrs if k in SHOWN_ATTRIBUTES and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def code_words(html: str) -> dict[str, list[str]]:
    """Everything on the page a planner should never read: snake_case codes, e-notation, Python
    dicts and a doubled "(simulated)"."""
    text = visible_text(html)
    found = {
        "snake_case": SNAKE_CASE.findall(text),
        "e-notation": E_NOTATION.findall(text),
        "python dict": PYTHON_DICT.findall(text),
        "doubled simulated": re.findall(r"\(simul\w+\)\s*\(simul\w+\)", text, re.IGNORECASE),
    }
    return {k: v for k, v in found.items() if v}
