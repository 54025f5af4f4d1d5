"""A plan line's explanation as a short structured form in the page's language: what drives the
need (with the forecast numbers), what stops the line from getting more, the risk of breaching
the norm before and after, and who pinned it — instead of the engine's English sentence and its
``binding_constraint: … marginal_value_pool: …`` codes.

Lines stored before the engine recorded its numbers separately (``line_facts``) fall back to the
engine's own words for the need.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from serving import formatting, overrides, words
from serving.app.privacy import suppress_reason
from serving.i18n import N_, gettext
from serving.report.privacy import suppress_count


@dataclass(frozen=True)
class ExplanationRow:
    label: str
    text: str


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None


def _decisions(value: Any, internal: bool, language: str) -> str:
    number = _number(value)
    if number is None:
        return formatting.MISSING
    return suppress_count(number) if internal else formatting.format_count(number, language)


def need_text(
    language: str, resource: str, facts: Mapping[str, Any], p50: float, p90: float, internal: bool
) -> str | None:
    """The need in words, from the line's facts; None when the line has none stored."""
    fte = formatting.format_fte
    if resource == "resource_pedagogue":
        if "vedtak_31_now" not in facts:
            return None
        return gettext(
            language,
            N_(
                "§ 31/§ 37 decisions %(now31)s/%(now37)s now, %(peak31)s/%(peak37)s expected in "
                "%(month)s: %(p50)s FTE of help needed (9 in 10 cases: at most %(p90)s)"
            ),
            now31=_decisions(facts.get("vedtak_31_now"), internal, language),
            now37=_decisions(facts.get("vedtak_37_now"), internal, language),
            peak31=_decisions(facts.get("vedtak_31_peak"), internal, language),
            peak37=_decisions(facts.get("vedtak_37_peak"), internal, language),
            month=facts.get("peak_month", formatting.MISSING),
            p50=fte(p50, language),
            p90=fte(p90, language),
        )
    if "children_under3_now" not in facts:
        return None
    children = gettext(
        language,
        N_("Children under/over 3: %(u3)s/%(o3)s now, %(u3peak)s/%(o3peak)s expected in %(month)s"),
        u3=formatting.format_count(facts.get("children_under3_now"), language),
        o3=formatting.format_count(facts.get("children_over3_now"), language),
        u3peak=formatting.format_count(facts.get("children_under3_peak"), language),
        o3peak=formatting.format_count(facts.get("children_over3_peak"), language),
        month=facts.get("peak_month", formatting.MISSING),
    )
    if resource == "staff":
        norm = gettext(
            language,
            N_(
                "the staffing norm needs %(p50)s FTE (9 in 10 cases: at most %(p90)s) at "
                "%(sick)s sick leave"
            ),
            p50=fte(p50, language),
            p90=fte(p90, language),
            sick=formatting.format_percent(facts.get("sick_leave_share"), 0, language),
        )
    else:
        norm = gettext(
            language,
            N_(
                "the pedagogue norm needs %(p50)s positions (exactly %(exact)s; 9 in 10 cases: "
                "at most %(p90)s)"
            ),
            p50=formatting.format_number(p50, 0, language),
            exact=formatting.format_number(facts.get("pedagogue_need_exact"), 2, language),
            p90=formatting.format_number(p90, 0, language),
        )
    return f"{children}; {norm}"


def change_text(language: str, change_fte: float) -> str:
    if abs(change_fte) < 1e-9:
        return gettext(language, N_("No change"))
    return gettext(
        language,
        N_("%(change)s FTE"),
        change=formatting.format_fte(change_fte, language, signed=True),
    )


def pin_text(language: str, pin: Any, line: Any) -> str:
    """ "Låst av anna 6. des. til 7,0 årsverk (+1,0) — «kommentar»"
    (:func:`serving.overrides.pin_sentence`, the one place a pin is put in words)."""
    return overrides.pin_sentence(pin, line, language)


def line_explanation(
    language: str, line: Any, *, internal: bool, pins: Sequence[Any] = ()
) -> list[ExplanationRow]:
    """The rows of a line's explanation, each a short label and its text."""
    explanation: Mapping[str, Any] = line.explanation or {}
    rows: list[ExplanationRow] = []
    need = need_text(
        language,
        line.resource,
        explanation,
        float(line.required_fte_p50),
        float(line.required_fte_p90),
        internal,
    )
    if need is None and explanation.get("drivers"):
        need = str(explanation["drivers"])
        if internal:
            need = suppress_reason(need)
    if need:
        rows.append(ExplanationRow(gettext(language, N_("Need")), need))
    if binding := explanation.get("binding_constraint"):
        rows.append(
            ExplanationRow(
                gettext(language, N_("What stops more")),
                words.word(language, words.BINDING, binding),
            )
        )
    before, after = (
        _number(explanation.get("breach_prob_before")),
        _number(explanation.get("breach_prob_after")),
    )
    if before is not None and after is not None:
        norm = words.word(language, words.NORM, _NORM_OF_RESOURCE.get(line.resource, ""))
        rows.append(
            ExplanationRow(
                gettext(language, N_("Risk of breaching the %(norm)s"), norm=norm),
                gettext(
                    language,
                    N_("%(before)s of the months without the plan, %(after)s with it"),
                    before=formatting.format_percent(before, 0, language),
                    after=formatting.format_percent(after, 0, language),
                ),
            )
        )
    marginal = _number(explanation.get("marginal_value_fte"))
    if marginal is not None and marginal > 1e-6:
        rows.append(
            ExplanationRow(
                gettext(language, N_("One more FTE here")),
                gettext(
                    language,
                    N_("would cover %(value)s more FTE-months of weighted need"),
                    value=formatting.format_number(marginal, 1, language),
                ),
            )
        )
    for pin in pins:
        rows.append(ExplanationRow(gettext(language, N_("Pinned")), pin_text(language, pin, line)))
    return rows


def explanation_text(
    language: str,
    record: Mapping[str, Any],
    *,
    internal: bool = True,
    separator: str = "\n",
    with_pin: bool = False,
) -> str:
    """A line's explanation as one text ("Need: …", "What stops more: …"), from a record of the
    plan's lines (:func:`serving.app.plan_services.plan_lines_frame`): the Excel "Why" column and
    the CSV ``reason`` say the same. ``with_pin``: the ruling pin's sentence first, as the engine's
    reason opened with it (Excel shows the pin in a column of its own)."""
    line = SimpleNamespace(
        resource=record.get("resource"),
        required_fte_p50=record.get("required_fte_p50"),
        required_fte_p90=record.get("required_fte_p90"),
        explanation=record,
    )
    rows = line_explanation(language, line, internal=internal)
    pin = record.get("pin") if with_pin else None
    texts = ([str(pin)] if pin else []) + [f"{row.label}: {row.text}" for row in rows]
    return separator.join(texts)


_NORM_OF_RESOURCE = {
    "staff": "staffing",
    "pedagogue": "pedagogue",
    "resource_pedagogue": "special_needs",
}
