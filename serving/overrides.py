"""Overrides never hidden. A planner's pin is a record beside the solved line, never a rewrite of
it: the solved figure stays as the optimiser left it, the *planned* figure is the ruling pin
applied to it, and every view — the plan page, the API, the diff, the kindergarten's history
and the exports — shows both, with the pin in the line's reason::

    Låst av anna 6. des. til 7,0 årsverk (+1,0) — «ny gruppe»  (nb)
    Pinned by anna 6 Dec to 7.0 FTE (+1.0) — 'new group'        (en)

This module is the one place those figures and words are made (the words through the gettext
catalogue, :data:`PIN_WHAT`); exports call :func:`pins_frame` and :func:`planned_lines_frame`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from serving.formatting import format_fte, format_short_date
from serving.i18n import N_, gettext
from serving.store.line_edits import pinned_value, ruling_pin
from serving.store.tables import Pin, Plan, PlanLine

#: What a pin does to its line, said after "Pinned by anna 6 Dec" or "Pinned": the FTE the
#: line is pinned to and the change from today's staffing.
PIN_WHAT = {
    "fix": N_("to %(fte)s FTE (%(change)s)"),
    "floor": N_("to at least %(fte)s FTE (%(change)s)"),
    "ban": N_("with no change (%(fte)s FTE)"),
}
_PINNED_BY = N_("Pinned by %(user)s %(date)s %(what)s")
_PINNED = N_("Pinned %(what)s")
#: a pin whose line is gone from the plan: its change alone
_BY_CHANGE = N_("by %(change)s FTE")
_QUOTED = N_("'%(text)s'")
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
    "pin_action",
    "sentence",
)


def pin_what(pin: Pin, line: PlanLine | None, language: str = "nb") -> str:
    """What the pin does: "til 7,0 årsverk (+1,0)" / "to 7.0 FTE (+1.0)"; without its line
    (gone from the plan) the level is unknown and the change stands alone."""
    change = format_fte(pin.value_fte, language, signed=True)
    if line is None:
        return gettext(language, _BY_CHANGE, change=change)
    if pin.kind == "ban":
        level = format_fte(line.current_fte, language)
    else:
        level = format_fte(line.current_fte + pin.value_fte, language)
    return gettext(language, PIN_WHAT.get(pin.kind, PIN_WHAT["fix"]), fte=level, change=change)


def pin_action(pin: Pin, line: PlanLine | None, language: str = "nb") -> str:
    """The pin as a planner's action: "Låst til 7,0 årsverk (+1,0)" (the pins sheet)."""
    return gettext(language, _PINNED, what=pin_what(pin, line, language))


def pin_sentence(pin: Pin, line: PlanLine | None, language: str = "nb") -> str:
    """The pin as the line's reason starts: who, when, what, and the planner's own words."""
    head = gettext(
        language,
        _PINNED_BY,
        user=pin.created_by,
        date=format_short_date(pin.created_at, language),
        what=pin_what(pin, line, language),
    )
    comment = pin.comment.strip()
    return head + (f" — {gettext(language, _QUOTED, text=comment)}" if comment else "")


def line_of(plan: Plan, pin: Pin) -> PlanLine | None:
    """The plan's line ``pin`` is on (None when the plan has no such line)."""
    return next(
        (
            ln
            for ln in plan.lines
            if (ln.kindergarten_id, ln.resource) == (pin.kindergarten_id, pin.resource)
        ),
        None,
    )


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
        return f"{pin_sentence(self.pin, self.line, language)}. {self.line.reason}".strip()


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
                "pin_action": pin_action(pin, line, language),
                "sentence": pin_sentence(pin, line, language),
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
                "pinned": pin_sentence(p.pin, p.line, language) if p.pin is not None else "",
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
                "pin": (
                    pin_sentence(planned.pin, line, language) if planned.pin is not None else ""
                ),
                "approved": line.approved,
                "overridden": planned.pin is not None,
            }
        )
    return out
