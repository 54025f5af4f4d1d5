"""Exports: the Excel workbook's header sheet and lines, CSV/Parquet tables for Power BI, and the
privacy suppression that every export (internal) applies."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from types import SimpleNamespace

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from data.contract import SIMULATED_LABEL
from serving.app.privacy import suppress_frame, suppress_reason
from serving.exports import summary_rows, table_bytes
from serving.formatting import excel_number_format, format_in_unit, format_when
from serving.workbook import plan_workbook

LINES = pd.DataFrame(
    [
        {
            "plan_id": "p1",
            "kindergarten_id": "K1",
            "period": "2026-11–2027-10",
            "resource": "staff",
            "current_fte": 10.0,
            "suggested_fte": 11.5,
            "change_fte": 1.5,
            "required_fte_p50": 10.8,
            "required_fte_p90": 12.1,
            "shortfall_risk": 0.12,
            "reason": "§ 31 decisions expected to rise from 3 to 6 by August; 1.5 FTE short",
            "vedtak_31_now": 3,
            "binding_constraint": "pool exhausted",
        },
        {
            "plan_id": "p1",
            "kindergarten_id": "K2",
            "period": "2026-11–2027-10",
            "resource": "staff",
            "current_fte": 8.0,
            "suggested_fte": 8.0,
            "change_fte": 0.0,
            "required_fte_p50": 7.0,
            "required_fte_p90": 7.5,
            "shortfall_risk": 0.01,
            "reason": "need already met",
            "vedtak_31_now": 7,
            "binding_constraint": "need met",
        },
    ]
)


def test_decision_counts_below_five_are_suppressed_in_reasons_and_columns() -> None:
    assert (
        suppress_reason("§ 31 decisions expected to rise from 3 to 6 by August")
        == "§ 31 decisions expected to rise from <5 to 6 by August"
    )
    assert (
        suppress_reason("2 § 37 decisions; staffing norm needs 12 FTE")
        == "<5 § 37 decisions; staffing norm needs 12 FTE"
    )
    assert (
        suppress_reason("children 4/18 now; pool exhausted") == "children 4/18 now; pool exhausted"
    )  # not decisions: shown
    shown = suppress_frame(LINES)
    assert shown["vedtak_31_now"].tolist() == ["<5", "7"]
    assert "from <5 to 6" in shown.loc[0, "reason"]
    forecasts = pd.DataFrame({"target": ["vedtak_31", "children_over3"], "p50": [2.0, 3.0]})
    assert suppress_frame(forecasts)["p50"].tolist() == ["<5", 3.0]


PLAN_INFO = {
    "plan_id": "p1",
    "district": "Bydel Gamle Oslo",
    "status": "approved",
    "version": 2,
    "created_by": "anna",
    "created_at": "2026-12-06T13:05:00+00:00",
    "approved_by": "anna",
    "approved_at": "2026-12-06T14:00:00+00:00",
    "model_version": "3",
    "data_fingerprint": "abcd1234",
}
HEADER = {
    "period": "2026-11–2027-10",
    "request": {"pools": {"staff": 2.0}, "risk": 0.9, "budget_nok": 1_250_000.0},
    "step_fte": {"staff": 0.5},
    "solver_status": "Optimal",
}
SUMMARY = [
    {
        "allocation": "plan",
        "unmet_staff_fte_months": 1.2,
        "breach_months_staffing": 3.25,
        "extra_staff_fte": 2.0,
        "cost_nok": 900_000.0,
    },
    {
        "allocation": "proportional",
        "unmet_staff_fte_months": 2.5,
        "breach_months_staffing": 4.0,
        "extra_staff_fte": 2.0,
        "cost_nok": 900_000.0,
    },
]
PINS = pd.DataFrame(
    [
        {
            "kindergarten_id": "K1",
            "kindergarten_name": "Solsikken",
            "resource": "staff",
            "kind": "fix",
            "value_fte": 1.0,
            "solved_fte": 11.5,
            "planned_fte": 11.0,
            "rules_line": True,
            "comment": '=HYPERLINK("http://x")',
            "created_by": "anna",
            "created_at": "2026-12-06T13:00:00+00:00",
            "pin_action": "Låst til 11,0 årsverk (+1,0)",
            "sentence": "Låst av anna 6. des. til 11,0 årsverk (+1,0)",
        }
    ]
)
EVENT = SimpleNamespace(
    at=datetime(2026, 12, 6, 14, 0, tzinfo=UTC),
    user_name="anna",
    action="plan.approve",
    entity="plan",
    entity_id="p1",
    comment="+ looks fine",
)


def _book(language: str = "nb", simulated: bool = True, audit=(EVENT,)):  # type: ignore[no-untyped-def]
    content = plan_workbook(
        language=language,
        plan_info=PLAN_INFO,
        header=HEADER,
        lines=LINES.assign(kindergarten_name=["Solsikken", "Blåbær"]),
        summary=SUMMARY,
        pins=PINS,
        audit=list(audit),
        simulated=simulated,
    )
    return load_workbook(io.BytesIO(content))


def test_workbook_sheets_have_labelled_frozen_filtered_headers_and_widths() -> None:
    book = _book("nb")
    assert book.sheetnames == ["Plan", "Linjer", "Sammenligning", "Låsinger", "Endringslogg"]
    for sheet in book.worksheets:
        assert sheet["A1"].value.endswith("SIMULERTE DATA — ikke virkelige barnehager")
        assert sheet.freeze_panes == "A3"  # title and header rows stay in view
        assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A2:")
        assert sheet["A2"].font.bold
        headers = [c.value for c in sheet[2] if c.value]
        assert headers and not any("_" in h for h in headers), (sheet.title, headers)
        for j in range(1, len(headers) + 1):
            width = sheet.column_dimensions[get_column_letter(j)].width
            assert 8 <= width <= 90, (sheet.title, j, width)
    lines = book["Linjer"]
    headers = [c.value for c in lines[2]]
    assert headers[:4] == ["Barnehage", "Barnehagenummer", "Ressurs", "Periode"]
    risk = lines.cell(row=3, column=headers.index("Risiko for brudd på normen") + 1)
    assert risk.value == 0.12 and risk.number_format == "0%"  # a number shown as 12 %
    change = lines.cell(row=3, column=headers.index("Endring (årsverk)") + 1)
    assert change.value == 1.5 and change.number_format == "#,##0.0"
    assert lines.cell(row=3, column=3).value == "Grunnbemanning"
    why = lines.cell(row=3, column=len(headers)).value
    assert "Hva som hindrer mer: Potten er brukt opp" in why
    english = _book("en")
    assert english.sheetnames == ["Plan", "Lines", "Comparison", "Pins", "Audit trail"]
    assert [c.value for c in english["Lines"][2]][:3] == [
        "Kindergarten",
        "Kindergarten number",
        "Resource",
    ]


def test_header_sheet_is_readable_rows_with_percent_and_kroner() -> None:
    sheet = _book("nb")["Plan"]
    rows = {r[0].value: r[1] for r in sheet.iter_rows(min_row=3) if r[0].value}
    assert rows["Data"].value == "SIMULERTE DATA — ikke virkelige barnehager"
    assert rows["Plan"].value == "p1" and rows["Status"].value == "Godkjent"
    assert rows["Modellversjon"].value == "3" and rows["Datafingeravtrykk"].value == "abcd1234"
    assert rows["Godkjent av"].value == "anna"
    approved_at = rows["Godkjent"].value
    assert approved_at == datetime(2026, 12, 6, 15, 0)  # Oslo time, as Excel has no zones
    assert rows["Pott: Grunnbemanning (ekstra årsverk)"].value == 2.0
    budget = rows["Budsjett for planperioden"]
    assert budget.value == 1_250_000.0 and "kr" in budget.number_format
    risk = next(cell for label, cell in rows.items() if label.startswith("Risikonivå"))
    assert risk.value == 0.9 and risk.number_format == "0%"
    assert rows["Steg: Grunnbemanning (årsverk)"].value == 0.5
    assert not any(isinstance(c.value, str) and "{" in c.value for c in rows.values())


def test_pins_audit_and_comparison_sheets() -> None:
    book = _book("nb")
    pins = book["Låsinger"]
    headers = [c.value for c in pins[2]]
    assert headers[:4] == ["Barnehage", "Barnehagenummer", "Ressurs", "Låsing"]
    # what the planner did, in words: the level and the change together
    assert pins.cell(row=3, column=4).value == "Låst til 11,0 årsverk (+1,0)"
    assert pins.cell(row=3, column=headers.index("Gjelder linjen") + 1).value == "ja"
    comment = pins.cell(row=3, column=headers.index("Kommentar") + 1)
    assert comment.value == '=HYPERLINK("http://x")' and comment.data_type == "s"
    assert comment.quotePrefix  # text, never a formula
    assert pins.cell(row=3, column=headers.index("Laget") + 1).value == datetime(2026, 12, 6, 14, 0)
    audit = book["Endringslogg"]
    assert audit.cell(row=3, column=3).value == "Plan godkjent"
    assert audit.cell(row=3, column=5).data_type == "s"
    comparison = book["Sammenligning"]
    assert [c.value for c in comparison[2]] == ["Mål", "Denne planen", "Fordelingsnøkkel"]
    rows = {r[0].value: r for r in comparison.iter_rows(min_row=3)}
    cost = rows["Kostnad (kr)"]
    assert cost[1].value == 900_000.0 and cost[1].number_format == '#,##0 "kr"'
    unmet = rows["Udekket behov, grunnbemanning (årsverk-måneder)"]
    assert unmet[1].value == 1.2 and unmet[1].number_format == "#,##0.0"
    breach = rows["Barnehagemåneder med brudd på bemanningsnormen"]
    assert breach[2].value == 4.0 and breach[2].number_format == "#,##0.0"
    assert rows["Ekstra grunnbemanning (årsverk)"][1].number_format == "#,##0.0"
    # one definition with the page: each row's unit formats the page's cell and Excel's
    table = summary_rows("nb", SUMMARY)
    shown = {
        label: [format_in_unit(v, unit, "nb") for v in values] for label, values, unit in table.rows
    }
    assert shown["Kostnad (kr)"] == ["900\u202f000\u00a0kr"] * 2
    assert shown["Udekket behov, grunnbemanning (årsverk-måneder)"] == ["1,2", "2,5"]
    assert shown["Barnehagemåneder med brudd på bemanningsnormen"] == ["3,2", "4,0"]
    for label, values, unit in table.rows:
        for cell, value in zip(rows[label][1:], values, strict=True):
            assert cell.number_format == excel_number_format(unit, "nb")
            decimals = cell.number_format.partition(".")[2].count("0")
            assert format_in_unit(value, unit, "nb").count(",") == (1 if decimals else 0)
    vedtak_free = [c.value for row in book["Linjer"].iter_rows(min_row=3) for c in row]
    assert not any(isinstance(v, str) and "{" in v for v in vedtak_free)


def test_csv_text_that_looks_like_a_formula_is_escaped_and_numbers_stay_numbers() -> None:
    frame = pd.DataFrame(
        {
            "comment": ["=SUM(A1)", "+1", "-x", "@cmd", "\tpad", "plain"],
            "change_fte": [-1.5, 1.0, 0.0, 2.0, 3.0, 4.0],
        }
    )
    text = table_bytes(frame, "csv", simulated=False).decode()
    table = pd.read_csv(io.StringIO(text))
    assert table["comment"].tolist() == ["'=SUM(A1)", "'+1", "'-x", "'@cmd", "'\tpad", "plain"]
    assert table["change_fte"].tolist() == [-1.5, 1.0, 0.0, 2.0, 3.0, 4.0]
    assert list(table.columns) == ["data_label", "comment", "change_fte"]  # machine names


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_tables_for_power_bi_are_labelled_and_suppressed(fmt: str) -> None:
    content = table_bytes(LINES.assign(extra=[{"a": 1}, None]), fmt, simulated=True)
    frame = (
        pd.read_csv(io.BytesIO(content), dtype=str)
        if fmt == "csv"
        else pd.read_parquet(io.BytesIO(content))
    )
    assert (frame["data_label"] == SIMULATED_LABEL).all() and len(frame) == 2
    assert frame["vedtak_31_now"].tolist() == ["<5", "7"]
    assert frame["extra"].iloc[0] == '{"a": 1}' and pd.isna(frame["extra"].iloc[1])
    with pytest.raises(ValueError, match="format must be one of"):
        table_bytes(LINES, "json", simulated=False)


def test_moments_in_the_workbook_are_oslo_time_as_on_the_page() -> None:
    """The store keeps UTC and SQLite hands it back without its zone: the audit sheet shows the
    same Oslo wall-clock time as the page's "7. des. 2026 kl. 01:48"."""
    naive_utc = datetime(2026, 12, 7, 0, 48)
    book = _book(audit=[SimpleNamespace(**{**vars(EVENT), "at": naive_utc})])
    assert book["Endringslogg"].cell(row=3, column=1).value == datetime(2026, 12, 7, 1, 48)
    assert format_when(naive_utc, "nb") == "7. des. 2026 kl. 01:48"
