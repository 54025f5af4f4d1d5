"""Overrides never hidden. A planner's pin is a record beside the solved line, never a rewrite of
it: the solved figure stays as the optimiser left it, the *planned* figure is the ruling pin
applied to it, and every view — the plan page, the API, the diff, the kindergarten's history
and the exports — shows both, with the pin in the line's reason::

    Låst av anna 6. des: +1,0 årsverk — «ny gruppe»  (nb)
    Pinned by anna 6 Dec: +1.0 FTE — 'new group'      (en)

This module is the one place those figures and words are made; exports call
:func:`pins_frame` and :func:`planned_lines_frame`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from serving.formatting import format_fte
from serving.store.repository import pinned_value, ruling_pin
from serving.store.tables import Pin, Plan, PlanLine

MONTHS = {
    "nb": ("jan", "feb", "mar", "apr", "mai", "jun", "jul", "aug", "sep", "okt", "nov", "des"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
PIN_WORDS = {
    "nb": {
        "pinned": "Låst av {user} {date}",
        "ban": "ingen endring",
        "fix": "{value} årsverk",
        "floor": "minst {value} årsverk",
        "quote": "«{text}»",
    },
    "en": {
        "pinned": "Pinned by {user} {date}",
        "ban": "no change",
        "fix": "{value} FTE",
        "floor": "at least {value} FTE",
        "quote": "'{text}'",
    },
}
PIN_COLUMNS = (
    "kindergarten_id",
    "kindergarten_name",
    "resource",
    "kind",
    "value_fte",
    "solved_fte",
    "planned_fte",
    "rules_line",
    "comment",
    "created_by",
    "created_at",
    "sentence",
)


def _language(language: str) -> str:
    return language if language in PIN_WORDS else "nb"


def short_date(when: datetime, language: str = "nb") -> str:
    """``6. des`` (nb) / ``6 Dec`` (en)."""
    language = _language(language)
    month = MONTHS[language][when.month - 1]
    return f"{when.day}. {month}" if language == "nb" else f"{when.day} {month}"


def pin_sentence(pin: Pin, language: str = "nb") -> str:
    """The pin as the line's reason starts: who, when, what, and the planner's own words."""
    words = PIN_WORDS[_language(language)]
    value = format_fte(pin.value_fte, _language(language), signed=True)
    what = words[pin.kind].format(value=value)
    head = words["pinned"].format(user=pin.created_by, date=short_date(pin.created_at, language))
    comment = pin.comment.strip()
    return f"{head}: {what}" + (f" — {words['quote'].format(text=comment)}" if comment else "")


@dataclass(frozen=True)
class PlannedLine:
    """A solved line with what the plan gives it once the ruling pin (if any) is applied."""

    line: PlanLine
    pin: Pin | None
    planned_fte: float

    @property
    def planned_change_fte(self) -> float:
        return round(self.planned_fte - self.line.current_fte, 4)

    @property
    def overridden(self) -> bool:
        """A pin rules the line (after a re-solve the solved figure may already honour it)."""
        return self.pin is not None

    @property
    def differs(self) -> bool:
        """The planned figure differs from the solved one (a pin not yet solved with)."""
        return abs(self.planned_fte - self.line.suggested_fte) > 1e-9

    def reason(self, language: str = "nb") -> str:
        """The pin sentence first (when there is a pin), then the solver's reason."""
        if self.pin is None:
            return self.line.reason
        return f"{pin_sentence(self.pin, language)}. {self.line.reason}".strip()


def planned_line(plan: Plan, line: PlanLine) -> PlannedLine:
    pin = ruling_pin(plan, line)
    planned = (
        line.suggested_fte if pin is None else round(pinned_value(line, pin.kind, pin.value_fte), 4)
    )
    return PlannedLine(line, pin, planned)


def planned_lines(plan: Plan) -> list[PlannedLine]:
    return [planned_line(plan, line) for line in plan.lines]


def pins_frame(plan: Plan, language: str = "nb") -> pd.DataFrame:
    """Every pin of the plan (earlier ones on a line too, marked ``rules_line`` False), with the
    solved and planned figure of its line and the sentence the line's reason shows; stable
    machine column names (:data:`PIN_COLUMNS`) for exports to label."""
    lines = {(ln.kindergarten_id, ln.resource): ln for ln in plan.lines}
    rows = []
    for pin in sorted(plan.pins, key=lambda p: p.id or 0):
        line = lines.get((pin.kindergarten_id, pin.resource))
        ruling = line is not None and ruling_pin(plan, line) is pin
        rows.append(
            {
                "kindergarten_id": pin.kindergarten_id,
                "kindergarten_name": line.kindergarten_name if line else pin.kindergarten_id,
                "resource": pin.resource,
                "kind": pin.kind,
                "value_fte": pin.value_fte,
                "solved_fte": line.suggested_fte if line else None,
                "planned_fte": (
                    round(pinned_value(line, pin.kind, pin.value_fte), 4) if line else None
                ),
                "rules_line": ruling,
                "comment": pin.comment,
                "created_by": pin.created_by,
                "created_at": pin.created_at.isoformat(),
                "sentence": pin_sentence(pin, language),
            }
        )
    return pd.DataFrame(rows, columns=list(PIN_COLUMNS))


@dataclass(frozen=True)
class PlanDiff:
    """The lines whose planned figure differs between two plans (b − a), and how many."""

    rows: pd.DataFrame
    n_lines: int  #: lines compared (in either plan)

    @property
    def n_changed(self) -> int:
        return len(self.rows)


DIFF_COLUMNS = (
    "kindergarten_id",
    "kindergarten_name",
    "resource",
    "planned_fte_a",
    "planned_fte_b",
    "difference_fte",
    "pinned_a",
    "pinned_b",
)


def _diff_frame(plan: Plan, language: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "kindergarten_id": p.line.kindergarten_id,
                "kindergarten_name": p.line.kindergarten_name,
                "resource": p.line.resource,
                "planned_fte": p.planned_fte,
                "pinned": pin_sentence(p.pin, language) if p.pin is not None else "",
            }
            for p in planned_lines(plan)
        ],
        columns=["kindergarten_id", "kindergarten_name", "resource", "planned_fte", "pinned"],
    )


def plan_diff(a: Plan, b: Plan, language: str = "nb", *, tolerance: float = 1e-9) -> PlanDiff:
    """Line by line b − a in *planned* FTE (pins applied), lines only in one plan included; only
    the lines that differ, largest difference first. A line a pin sets in either plan is always
    listed: the planner's override is a change from the solve, even where both versions agree."""
    merged = _diff_frame(a, language).merge(
        _diff_frame(b, language),
        on=["kindergarten_id", "resource"],
        how="outer",
        suffixes=("_a", "_b"),
    )
    merged["kindergarten_name"] = merged["kindergarten_name_a"].fillna(
        merged["kindergarten_name_b"]
    )
    merged["difference_fte"] = (
        merged["planned_fte_b"].fillna(0) - merged["planned_fte_a"].fillna(0)
    ).round(4)
    merged[["pinned_a", "pinned_b"]] = merged[["pinned_a", "pinned_b"]].fillna("")
    differs = (
        (merged["difference_fte"].abs() > tolerance)
        | merged["planned_fte_a"].isna()
        | merged["planned_fte_b"].isna()
        | (merged["pinned_a"] != "")
        | (merged["pinned_b"] != "")
    )
    rows = merged.loc[differs, list(DIFF_COLUMNS)].sort_values(
        ["difference_fte", "kindergarten_id"],
        key=lambda s: s.abs() if s.name == "difference_fte" else s,
        ascending=[False, True],
        ignore_index=True,
    )
    return PlanDiff(rows, len(merged))


def history_rows(pairs: Sequence[tuple[Plan, PlanLine]], language: str = "nb") -> list[dict]:
    """A kindergarten's allocation history: each stored line with its solved and planned figure
    and the pin sentence, newest plan first as given."""
    out = []
    for plan, line in pairs:
        planned = planned_line(plan, line)
        out.append(
            {
                "plan_id": plan.id,
                "version": plan.version,
                "status": plan.status,
                "created_at": plan.created_at,
                "period": line.period,
                "resource": line.resource,
                "current_fte": line.current_fte,
                "suggested_fte": line.suggested_fte,
                "planned_fte": planned.planned_fte,
                "pin": pin_sentence(planned.pin, language) if planned.pin is not None else "",
                "approved": line.approved,
                "overridden": planned.pin is not None,
            }
        )
    return out
