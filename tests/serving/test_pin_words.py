"""A pin in words, from the gettext catalogue in the planner's language: who, when (a Norwegian
date, "6. des."), what the line is pinned to and the change from today, and the comment."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from serving.overrides import pin_action, pin_sentence
from serving.store.tables import Pin, PlanLine

WHEN = datetime(2026, 12, 6, 13, 0, tzinfo=UTC)


def _pin(kind: str, value: float, comment: str = "ny gruppe") -> Pin:
    return Pin(
        kindergarten_id="K1",
        resource="staff",
        kind=kind,
        value_fte=value,
        comment=comment,
        created_by="anna",
        created_at=WHEN,
    )


LINE = PlanLine(kindergarten_id="K1", resource="staff", current_fte=6.0, suggested_fte=6.5)


@pytest.mark.parametrize(
    ("kind", "value", "nb", "en"),
    [
        (
            "fix",
            1.0,
            "Låst av anna 6. des. til 7,0 årsverk (+1,0) — «ny gruppe»",
            "Pinned by anna 6 Dec to 7.0 FTE (+1.0) — 'ny gruppe'",
        ),
        (
            "floor",
            0.5,
            "Låst av anna 6. des. til minst 6,5 årsverk (+0,5) — «ny gruppe»",
            "Pinned by anna 6 Dec to at least 6.5 FTE (+0.5) — 'ny gruppe'",
        ),
        (
            "ban",
            0.0,
            "Låst av anna 6. des. uten endring (6,0 årsverk) — «ny gruppe»",
            "Pinned by anna 6 Dec with no change (6.0 FTE) — 'ny gruppe'",
        ),
    ],
)
def test_pin_sentence_in_both_languages(kind: str, value: float, nb: str, en: str) -> None:
    assert pin_sentence(_pin(kind, value), LINE, "nb") == nb
    assert pin_sentence(_pin(kind, value), LINE, "en") == en


def test_pin_action_says_what_the_planner_did_and_a_pin_without_comment_has_no_quote() -> None:
    assert pin_action(_pin("fix", 1.0), LINE, "nb") == "Låst til 7,0 årsverk (+1,0)"
    assert pin_action(_pin("fix", 1.0), LINE, "en") == "Pinned to 7.0 FTE (+1.0)"
    assert pin_sentence(_pin("fix", -1.0, "  "), LINE, "nb").endswith("til 5,0 årsverk (−1,0)")
    # a pin whose line is gone keeps its change
    assert pin_action(_pin("fix", 1.0), None, "nb") == "Låst med +1,0 årsverk"
