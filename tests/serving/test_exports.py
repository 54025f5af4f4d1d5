"""Exports: the Excel workbook's header sheet and lines, CSV/Parquet tables for Power BI, and the
privacy suppression that every export (internal) applies."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from openpyxl import load_workbook

from data.contract import PLAN_COLUMNS, SIMULATED_LABEL
from serving.app.privacy import suppress_frame, suppress_reason
from serving.exports import plan_workbook, table_bytes

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


def test_workbook_has_a_header_sheet_then_the_lines() -> None:
    content = plan_workbook(
        plan_info={
            "plan_id": "p1",
            "status": "approved",
            "model_version": "3",
            "data_fingerprint": "abcd1234",
        },
        header={"request": {"pools": {"staff": 2}, "risk": 0.9}, "solver_status": "Optimal"},
        lines=LINES,
        summary=[{"allocation": "plan", "unmet_staff_fte_months": 1.2}],
        pins=pd.DataFrame({"kindergarten_id": ["K1"], "kind": ["fix"], "comment": ["why"]}),
        simulated=True,
    )
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["header", "lines", "summary", "pins"]
    header = {r[0]: r[1] for r in book["header"].iter_rows(min_row=2, values_only=True)}
    assert header["data"] == SIMULATED_LABEL and header["model_version"] == "3"
    assert header["data_fingerprint"] == "abcd1234"
    assert header["parameter: pools"] == '{"staff": 2}' and header["parameter: risk"] == 0.9
    assert header["engine: solver_status"] == "Optimal"
    rows = list(book["lines"].iter_rows(values_only=True))
    assert rows[0][0] == SIMULATED_LABEL
    assert list(rows[1][: len(PLAN_COLUMNS)]) == list(PLAN_COLUMNS)
    assert [r[1] for r in rows[2:]] == ["K1", "K2"]
    vedtak = rows[1].index("vedtak_31_now")
    assert [r[vedtak] for r in rows[2:]] == ["<5", "7"]


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
