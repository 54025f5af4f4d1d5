"""Which screens are *internal* and what that hides: viewers' pages and every export show counts
of § 31/§ 37 decisions below 5 as "<5" (DOMAIN.md, privacy); planners and admins, who work in
the protected zone, see the counts."""

from __future__ import annotations

import re

import pandas as pd

from serving.report.privacy import SUPPRESSED, SUPPRESSION_THRESHOLD, suppress_decision_counts
from serving.store.tables import User

#: Numbers in a reason sentence that count decisions: "§ 31 decisions expected to rise from 3
#: to 5" → both numbers are decision counts. FTE and percentages are not.
_DECISION_CLAUSE = re.compile(r"[^;.]*(?:§\s?3[17]|vedtak|decision)[^;.]*", re.IGNORECASE)
_COUNT = re.compile(r"(?<![§\d.,])(?<!§ )\b(\d+)\b(?![.,]\d)(?!\s*(?:FTE|%|årsverk|hours|h\b))")


def is_internal_view(user: User) -> bool:
    return user.role == "viewer"


def decision_columns(frame: pd.DataFrame) -> tuple[str, ...]:
    return tuple(c for c in frame.columns if str(c).startswith("vedtak"))


def suppress_reason(text: str) -> str:
    """Replace decision counts below 5 inside the clauses of ``text`` that talk about § 31/§ 37
    decisions; other numbers (FTE, shares) stay."""

    def clause(match: re.Match[str]) -> str:
        return _COUNT.sub(
            lambda m: SUPPRESSED if int(m.group(1)) < SUPPRESSION_THRESHOLD else m.group(1),
            match.group(0),
        )

    return _DECISION_CLAUSE.sub(clause, text)


def _suppressed(values: pd.Series | pd.DataFrame) -> bool:
    """Whether ``values`` are shown already (text only: "<5", "–", whole numbers)."""
    cells = values.to_numpy().ravel()
    return len(cells) > 0 and all(isinstance(v, str) for v in cells)


def suppress_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as an internal export shows it: decision counts and reasons suppressed, and
    forecast quantiles of decision targets too. Idempotent: a viewer's overview arrives
    suppressed, and suppressing its export again answered 500 (issue 20)."""
    counts = tuple(c for c in decision_columns(frame) if not _suppressed(frame[c]))
    out = suppress_decision_counts(frame, counts)
    if "reason" in out.columns:
        out["reason"] = out["reason"].map(lambda r: suppress_reason(r) if isinstance(r, str) else r)
    if "target" in out.columns:
        decision_rows = out["target"].astype(str).str.startswith("vedtak")
        quantiles = [c for c in out.columns if re.fullmatch(r"p\d\d", str(c))]
        if decision_rows.any() and quantiles and not _suppressed(out.loc[decision_rows, quantiles]):
            shown = suppress_decision_counts(out.loc[decision_rows, quantiles], tuple(quantiles))
            out[quantiles] = out[quantiles].astype(object)
            out.loc[decision_rows, quantiles] = shown
    return out


def suppress_frame_for(user: User, frame: pd.DataFrame) -> pd.DataFrame:
    return suppress_frame(frame) if is_internal_view(user) else frame


def reason_for(user: User, text: str) -> str:
    return suppress_reason(text) if is_internal_view(user) else text


def explanation_for(user: User, explanation: dict) -> dict:
    if not is_internal_view(user):
        return explanation
    from serving.report.privacy import suppress_count

    return {
        k: (suppress_count(v) if str(k).startswith("vedtak") and isinstance(v, int | float) else v)
        for k, v in explanation.items()
    }
