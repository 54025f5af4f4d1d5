"""Which kindergarten a raw export's row is about: by id, by a loosely written name, or by
another system's code looked up in the crosswalk (``[crosswalk]`` in ``sources.toml``).

Names are compared after :func:`normalise_name`: case, repeated spaces, punctuation and the words
"barnehage"/"barnehagen"/"bhg" do not matter, so "TØYEN BHG.", "Tøyen  bhg" and "Tøyen barnehage"
are one name, and "Kampen-Vålerenga" equals "Kampen Vålerenga". A name matching no kindergarten
or more than one is a problem naming the nearest candidates.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Words that say "kindergarten" and so never tell two kindergartens apart.
KINDERGARTEN_WORDS = frozenset({"barnehage", "barnehagen", "barnehager", "bhg", "bhgr"})
_PUNCTUATION = re.compile(r"[^\w]+")

NAME_NO_MATCH = "name matches no kindergarten"
NAME_SEVERAL = "name matches more than one kindergarten"
UNKNOWN_ID = "kindergarten_id is not in the kindergartens table"
CODE_NOT_IN_CROSSWALK = "code is not in the crosswalk"
CODE_USED_TWICE = "crosswalk code is used for more than one kindergarten"
CROSSWALK_UNKNOWN_ID = "crosswalk names a kindergarten_id that is not in the kindergartens table"
#: Candidates listed beside a name that matched none or several.
N_CANDIDATES = 3


def normalise_name(name: str) -> str:
    """A kindergarten name as compared: lower case, punctuation and "barnehage"/"bhg" dropped."""
    words = _PUNCTUATION.sub(" ", str(name).casefold()).split()
    return " ".join(w for w in words if w not in KINDERGARTEN_WORDS)


@dataclass
class KeyResult:
    """kindergarten_id per row (None where unresolved) and, per failing row, its rule and the
    text shown with it (the nearest candidates)."""

    ids: np.ndarray
    failed: np.ndarray
    rules: np.ndarray
    details: np.ndarray


class NameIndex:
    """The kindergartens' names, normalised, for matching loosely written names."""

    def __init__(self, ids: pd.Series, names: pd.Series) -> None:
        self._display: dict[str, str] = {}
        self._by_name: dict[str, list[str]] = {}
        for kid, name in zip(ids.astype(str), names.astype(str), strict=True):
            self._display[kid] = name
            self._by_name.setdefault(normalise_name(name), []).append(kid)

    def lookup(self, name: str) -> tuple[str | None, str | None, str]:
        """(id, None, "") when ``name`` matches one kindergarten, else (None, rule, candidates)."""
        key = normalise_name(name)
        found = self._by_name.get(key, [])
        if len(found) == 1:
            return found[0], None, ""
        if found:
            shown = "; ".join(f"{self._display[k]} ({k})" for k in found[:N_CANDIDATES])
            return None, NAME_SEVERAL, f"{name!r} could be: {shown}"
        near = difflib.get_close_matches(key, list(self._by_name), n=N_CANDIDATES, cutoff=0.5)
        shown = "; ".join(
            f"{self._display[k]} ({k})" for candidate in near for k in self._by_name[candidate]
        )
        return None, NAME_NO_MATCH, f"{name!r}; nearest: {shown or 'none'}"


def resolve_keys(
    values: pd.Series,
    scheme: str,
    *,
    known_ids: pd.Index | None,
    names: NameIndex | None,
    crosswalk: dict[str, dict[str, str]],
) -> KeyResult:
    """Resolve one key column of a raw export to kindergarten_ids, each distinct value once
    (``known_ids`` None: any id is accepted, for the kindergartens table itself)."""
    n = len(values)
    text = values.astype(object).where(values.notna(), None)
    codes, distinct = pd.factorize(text.to_numpy(dtype=object), use_na_sentinel=True)
    ids = np.empty(len(distinct) + 1, dtype=object)
    rules = np.empty(len(distinct) + 1, dtype=object)
    details = np.empty(len(distinct) + 1, dtype=object)
    known = None if known_ids is None else set(known_ids.astype(str))
    for i, raw in enumerate(distinct):
        value = _key_text(raw)
        if scheme == "name":
            assert names is not None
            ids[i], rules[i], details[i] = names.lookup(value)
        elif scheme == "kindergarten_id":
            ok = known is None or value in known  # the kindergartens table defines the ids
            ids[i] = value if ok else None
            rules[i], details[i] = (None, "") if ok else (UNKNOWN_ID, value)
        else:
            found = crosswalk.get(scheme, {}).get(value)
            ids[i] = found
            rules[i], details[i] = (None, "") if found else (CODE_NOT_IN_CROSSWALK, value)
    ids[-1], rules[-1], details[-1] = None, None, None  # a missing key: reported as empty
    row_ids, row_rules = ids[codes], rules[codes]
    failed = ~pd.isna(row_rules) if n else np.zeros(0, dtype=bool)
    return KeyResult(ids=row_ids, failed=failed, rules=row_rules, details=details[codes])


def _key_text(value: object) -> str:
    """A key cell as text; a whole float (``7.0`` from a spreadsheet) is its integer."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()
