"""One definition of the plan options: the command line, the API schema and the web form show
every option with the same default and range as ``serving.plan_options.OPTIONS``, and the
engine's own defaults (risk level, steps) are the same numbers."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
import typer
from app_fixtures import AppHarness

from data.contract import RESOURCES
from models.allocation import (
    DEFAULT_RISK,
    DEFAULT_STEP_FTE,
    EQUITY_COST_SHARE,
    RISK_RANGE,
    AllocationSettings,
)
from serving.app.schemas import PlanCreate
from serving.formatting import format_percent
from serving.plan_options import (
    OPTIONS,
    parse_moves,
    range_problems,
    range_rule,
    values_from_form,
)
from serving.planning import DEFAULT_STEP_FTE as REQUEST_STEPS
from serving.planning import PlanRequest
from training.decisions import PlanSettings

SCALARS = [name for name in OPTIONS if not name.startswith("pool_")]


def _cli_params() -> dict[str, Any]:
    from serving.cli import app

    command = typer.main.get_command(app)
    plan = command.commands["plan"]  # type: ignore[attr-defined]
    return {opt: p for p in plan.params for opt in getattr(p, "opts", [])}


def _schema_bounds(prop: dict[str, Any]) -> tuple[Any, Any]:
    variants = prop.get("anyOf", [prop])
    number = next((v for v in variants if v.get("type") in ("number", "integer")), {})
    return number.get("minimum"), number.get("maximum")


@pytest.mark.parametrize("name", SCALARS)
def test_the_command_line_option_matches_the_definition(name: str) -> None:
    option = OPTIONS[name]
    param = _cli_params()[option.flag]
    assert param.default == option.default, name
    if name == "max_moves":  # parsed: a number or "none" (no cap)
        assert parse_moves("none") is None and parse_moves("0") == 0
    if option.kind is not str:  # checked with every other problem at once, named by the flag
        assert option.range_text() in (param.help or ""), name
        for bad in (option.minimum - 1, (option.maximum or 0) + 1):
            if option.maximum is None and bad > option.minimum:
                continue
            (problem,) = range_problems({name: bad})
            assert problem.file == option.flag and range_rule(option) in str(problem)
        assert range_problems({name: option.default}) == []
    assert option.unit in (param.help or ""), name


def test_the_pool_option_states_the_pool_range() -> None:
    param = _cli_params()["--pool"]
    assert OPTIONS["pool_staff"].range_text() in param.help
    assert OPTIONS["pool_staff"].empty in param.help


@pytest.mark.parametrize("name", SCALARS)
def test_the_api_schema_matches_the_definition(name: str) -> None:
    option = OPTIONS[name]
    prop = PlanCreate.model_json_schema()["properties"][name]
    assert prop.get("default") == option.default, name
    if option.kind is not str:
        assert _schema_bounds(prop) == (option.minimum, option.maximum), name
    assert prop["unit"] == option.unit and option.help in prop["description"]
    assert option.optional == any(v.get("type") == "null" for v in prop.get("anyOf", [])), name


def test_the_engine_defaults_are_the_definitions() -> None:
    request = PlanRequest(pools={})
    assert OPTIONS["risk"].default == DEFAULT_RISK == request.risk == PlanSettings().risk
    assert AllocationSettings().risk == DEFAULT_RISK
    assert (OPTIONS["risk"].minimum, OPTIONS["risk"].maximum) == RISK_RANGE
    assert OPTIONS["months"].default == request.months
    assert OPTIONS["equity_weight"].default == request.equity_weight
    assert OPTIONS["max_moves"].default == request.max_moves
    assert OPTIONS["scenarios"].default == request.n_scenarios
    steps = {r: OPTIONS[f"step_{r}"].default for r in RESOURCES}
    assert steps == dict(REQUEST_STEPS) == dict(zip(RESOURCES, DEFAULT_STEP_FTE, strict=True))
    assert steps == {"staff": 0.5, "pedagogue": 1.0, "resource_pedagogue": 0.5}


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, dict[str, str | None]] = {}
        self.in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and values.get("data-testid") == "new-plan-form":
            self.in_form = True
        elif tag == "input" and self.in_form and values.get("name"):
            self.inputs[str(values["name"])] = values

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form = False


def test_the_web_form_matches_the_definition_and_reads_back_to_the_api_defaults(
    trained_harness: AppHarness,
) -> None:
    page = trained_harness.client_for("anna").get("/plans")
    assert page.status_code == 200
    parser = _Inputs()
    parser.feed(page.text)
    for name, option in OPTIONS.items():
        field = parser.inputs[name]
        shown = field.get("value") or ""
        assert shown == ("" if option.default is None else str(option.default)), name
        if option.kind is not str:
            for attribute, bound in (("min", option.minimum), ("max", option.maximum)):
                expected = None if bound is None else bound
                value = field.get(attribute)
                assert (None if value is None else float(value)) == expected, (name, attribute)
        assert re.search(rf'<label for="opt-{name}">', page.text), name
    # submitting the form untouched asks for exactly what the API's defaults ask for
    submitted = {name: field.get("value") or "" for name, field in parser.inputs.items()}
    from_form = PlanCreate.model_validate(values_from_form(submitted))
    assert from_form == PlanCreate()


def test_the_equity_help_quotes_the_bound_the_optimiser_uses(trained_harness: AppHarness) -> None:
    # the form's help says how much the equity weight may cost, from the optimiser's constant
    page = trained_harness.client_for("anna").get("/plans")
    shown = format_percent(EQUITY_COST_SHARE, 1, "nb")
    assert f"denne × {shown} av det potten kjøper" in page.text
    assert "%(share)s" not in page.text


def test_a_request_that_gives_and_moves_nothing_is_refused_by_the_api(
    harness: AppHarness,
) -> None:
    anna = harness.client_for("anna")
    refused = anna.post("/api/plans", json={})
    assert refused.status_code == 400
    assert "nothing to allocate" in " ".join(refused.json()["problems"])
    bad = anna.post("/api/plans", json={"risk": 0.3, "max_moves": -1, "pools": {"staff": -1}})
    assert bad.status_code == 422
    assert {"risk", "max_moves", "pools"} <= {
        p.split(".")[1].split(":")[0] for p in bad.json()["problems"]
    }
