"""Planning actions the routes call: solve a plan (one district, or every district the user
may plan, each with its own pools), its lines as a table, re-solve with the planners' pins,
pin, approve a line or the plan, and the difference of two versions. Who may do what is
:mod:`serving.app.services`' access rules; the workflow's rules are
:mod:`serving.store.workflow`."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from data.contract import PLAN_COLUMNS, District
from data.errors import Problem, UserInputError
from serving import overrides
from serving.app.engine import EngineState, district_subset
from serving.app.line_words import explanation_text
from serving.app.schemas import (
    DistrictPlansCreate,
    LineApprove,
    PinCreate,
    PlanApprove,
    PlanCreate,
)
from serving.app.services import (
    Forbidden,
    NotFound,
    plans_for,
    require_change,
    visible_districts,
)
from serving.district_plans import summed_summaries
from serving.i18n import N_, Message
from serving.plan_options import OPTIONS, nothing_to_allocate, step_fte
from serving.store import line_edits, repository, workflow
from serving.store.tables import Plan, PlanLine, User
from serving.words import ROLE, as_message


def _json_safe(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, pd.DataFrame):
        return _json_safe(value.to_dict(orient="records"))
    return str(value)


def _plan_district(user: User, requested: str | None, names: list[str]) -> str:
    if user.role != "admin":
        return user.district or ""
    if requested:
        if requested not in names:
            raise UserInputError(
                Message(
                    N_("No district %(district)s in the data (have: %(names)s)."),
                    district=repr(requested),
                    names=", ".join(names),
                )
            )
        return requested
    if len(names) == 1:
        return names[0]
    raise UserInputError(Message(N_("Choose the district to plan (the data hold several).")))


def _solve(
    state: EngineState,
    district_name: str,
    params: Mapping[str, Any],
    pins: list[Any],
    previous: pd.DataFrame | None,
) -> Any:
    from serving.planning import Pin, PlanRequest, build_plan

    data = state.derived(
        ("subset", district_name), lambda: district_subset(state.district(), district_name)
    )
    if data.kindergartens.empty:
        raise UserInputError(
            Message(N_("No kindergartens in %(district)s."), district=repr(district_name))
        )
    model = state.champion()
    forecasts = state.forecasts()
    forecasts = forecasts[forecasts["kindergarten_id"].isin(data.kindergartens["kindergarten_id"])]
    if "month" in forecasts and forecasts["month"].dtype == object:
        forecasts = forecasts.assign(
            month=pd.PeriodIndex(forecasts["month"], freq="M"),
            origin=pd.PeriodIndex(forecasts["origin"], freq="M"),
        )

    def option(name: str) -> Any:
        value = params.get(name)
        return OPTIONS[name].default if value is None and not OPTIONS[name].optional else value

    request = PlanRequest(
        pools={k: float(v) for k, v in (params.get("pools") or {}).items() if v is not None},
        budget_nok=option("budget_nok"),
        start=pd.Period(params["start"], freq="M") if params.get("start") else None,
        months=int(option("months")),
        risk=float(option("risk")),
        equity_weight=float(option("equity_weight")),
        max_moves=option("max_moves") if "max_moves" in params else OPTIONS["max_moves"].default,
        pins=tuple(
            Pin(
                kindergarten_id=p.kindergarten_id,
                resource=p.resource,
                kind=p.kind,
                value_fte=p.value_fte,
                comment=p.comment,
            )
            for p in pins
        ),
        # the server's setting caps what one request may ask (a solve holds a worker)
        n_scenarios=min(int(option("scenarios")), state.settings.plan_scenarios),
        seed=int(params.get("seed", 0)),
        time_limit_s=state.settings.plan_time_limit_s,
        previous_plan=previous,
        step_fte=step_fte(params),
    )
    result = state.solve(
        build_plan,
        data,
        forecasts,
        request,
        pit_history=model.pit_history,
        model_version=str(model.version),
    )
    return result, data


def store_result(
    session: Session,
    result: Any,
    data: District,
    *,
    district_name: str,
    params: Mapping[str, Any],
    user: User,
    parent: Plan | None,
) -> Plan:
    names = data.kindergartens.set_index("kindergarten_id")["name"].to_dict()
    lines = result.lines
    extra = [c for c in lines.columns if c not in PLAN_COLUMNS]
    rows = []
    for record in lines.to_dict(orient="records"):
        row = {c: record[c] for c in PLAN_COLUMNS}
        row["period"] = str(row["period"])
        row["kindergarten_name"] = names.get(row["kindergarten_id"], row["kindergarten_id"])
        row["explanation"] = _json_safe({c: record[c] for c in extra})
        rows.append(row)
    header = _json_safe(dict(result.header))
    # the engine's id is a hash of the inputs: two planners asking the same get the same one,
    # so the store names each plan itself and keeps the engine's id beside it
    header["engine_plan_id"] = header.pop("plan_id", str(result.plan_id))
    header["request"] = _json_safe(dict(params))
    return repository.save_plan(
        session,
        district=district_name,
        lines=rows,
        header=header,
        summary=_json_safe(result.summary.to_dict(orient="records")),
        created_by=user.name,
        data_fingerprint=str(header.get("data_fingerprint") or data.fingerprint()),
        model_version=str(header.get("model_version") or state_model_version(result)),
        simulated=bool(result.simulated),
        parent=parent,
    )


def state_model_version(result: Any) -> str:
    return str(getattr(result, "header", {}).get("model_version", ""))


def create_plan(state: EngineState, session: Session, user: User, params: PlanCreate) -> Plan:
    require_change(user)
    names = visible_districts(user, state.district())
    district_name = _plan_district(user, params.district, names)
    request = params.model_dump(exclude={"district"})
    empty = nothing_to_allocate(params.pools, params.budget_nok, params.max_moves)
    if empty is not None:
        raise UserInputError(Message(N_("Nothing to plan")), [empty])
    result, data = _solve(state, district_name, request, [], None)
    return store_result(
        session, result, data, district_name=district_name, params=request, user=user, parent=None
    )


#: the header entry naming the run of district plans a plan was made in
DISTRICT_RUN = "district_run"


def create_district_plans(
    state: EngineState, session: Session, user: User, params: DistrictPlansCreate
) -> tuple[str, list[Plan]]:
    """One plan per district (``params.districts``, default every district of the data), each
    with its own pools (``district_pools``, else ``pools``), solved side by side in the solver
    processes and stored as drafts marked with one run id; returns (run id, the plans in
    district order). Only an admin sees every district, so only an admin may start it; every
    district's problems are told at once and nothing is stored then."""
    if user.role != "admin":
        raise Forbidden(
            Message(
                N_("%(user)s is a %(role)s: only an admin plans every district."),
                user=user.name,
                role=as_message(ROLE, user.role),
            )
        )
    names = visible_districts(user, state.district())
    wanted = list(dict.fromkeys(params.districts or names))
    problems = [
        Problem("district plans", f"must be a district of the data: {', '.join(names)}", value=n)
        for n in [*wanted, *params.district_pools]
        if n not in names
    ]
    empty = nothing_to_allocate(params.pools, params.budget_nok, params.max_moves)
    if empty is not None and not params.district_pools:
        problems.append(empty)
    if problems:
        raise UserInputError(f"{len(problems)} problem(s) with the district plans", problems)
    base = params.model_dump(exclude={"district", "districts", "district_pools"})
    requests = {
        name: {**base, "pools": dict(params.district_pools.get(name, params.pools))}
        for name in wanted
    }

    def solve(name: str) -> Any:
        try:
            return _solve(state, name, requests[name], [], None)
        except UserInputError as exc:  # returned, so every district's problems are told
            return exc

    # each solve holds a solver process; as many at once as there are solver processes
    with ThreadPoolExecutor(max_workers=max(1, state.settings.plan_workers)) as pool:
        outcomes = dict(zip(wanted, pool.map(solve, wanted), strict=True))
    failed: list[Problem] = []
    for name, outcome in outcomes.items():
        if isinstance(outcome, UserInputError):
            failed += [
                replace(p, file=f"{p.file} (district {name})") for p in outcome.problems
            ] or [Problem(f"district {name}", str(outcome))]
    if failed:
        raise UserInputError(f"{len(failed)} problem(s) with the district plans", failed)
    run_id = uuid.uuid4().hex[:12]
    plans = []
    for name, (result, data) in outcomes.items():
        result.header[DISTRICT_RUN] = run_id
        plans.append(
            store_result(
                session,
                result,
                data,
                district_name=name,
                params=requests[name],
                user=user,
                parent=None,
            )
        )
    return run_id, plans


def district_run(
    session: Session, user: User, run_id: str
) -> tuple[list[Plan], list[dict[str, Any]]]:
    """The plans of one run of district plans the user may see (district order) and their city
    summary as records (:func:`serving.district_plans.summed_summaries` of the stored
    summaries)."""
    plans = [p for p in plans_for(session, user) if (p.header or {}).get(DISTRICT_RUN) == run_id]
    if not plans:
        raise NotFound(Message(N_("No run of district plans %(run)s."), run=repr(run_id)))
    plans.sort(key=lambda p: p.district)
    summary = summed_summaries([pd.DataFrame.from_records(p.summary or []) for p in plans])
    return plans, [{str(k): v for k, v in r.items()} for r in summary.to_dict(orient="records")]


def plan_lines_frame(plan: Plan, language: str | None = None) -> pd.DataFrame:
    """The plan's lines in the contract's column order (``suggested_fte`` as solved; the reason
    opens with the ruling pin, if any), then the planner-side columns: ``planned_fte`` (pins
    applied), the pin sentence, approval. With a ``language`` (the exports), the pin sentence
    and the ``reason`` are in it: the reason is the line's explanation in words
    (:func:`serving.app.line_words.explanation_text`), not the engine's English sentence."""
    records = [
        {
            "plan_id": plan.id,
            "kindergarten_id": p.line.kindergarten_id,
            "period": p.line.period,
            "resource": p.line.resource,
            "current_fte": p.line.current_fte,
            "suggested_fte": p.line.suggested_fte,
            "change_fte": p.line.change_fte,
            "required_fte_p50": p.line.required_fte_p50,
            "required_fte_p90": p.line.required_fte_p90,
            "shortfall_risk": p.line.shortfall_risk,
            "reason": p.reason(),
            "kindergarten_name": p.line.kindergarten_name,
            "planned_fte": p.planned_fte,
            "planned_change_fte": p.planned_change_fte,
            "pin": (
                overrides.pin_sentence(p.pin, p.line, language or "nb") if p.pin is not None else ""
            ),
            "engine_fte": p.line.engine_fte,
            "overridden": p.overridden,
            "approved": p.line.approved,
            "approved_by": p.line.approved_by,
            "row_version": p.line.row_version,
            **p.line.explanation,
        }
        for p in overrides.planned_lines(plan)
    ]
    frame = pd.DataFrame.from_records(
        records, columns=None if records else [*PLAN_COLUMNS, "kindergarten_name"]
    )
    if language is not None and records:
        frame["reason"] = [
            explanation_text(language, record, separator="; ", with_pin=True) for record in records
        ]
    return frame


def resolve_plan(state: EngineState, session: Session, user: User, plan: Plan) -> Plan:
    """Solve again honouring the plan's pins: a new draft version (the old one is kept)."""
    require_change(user)
    params = dict(plan.header.get("request") or {})
    if "pools" not in params:
        raise UserInputError(
            Message(N_("Plan %(plan)s has no stored request to solve again."), plan=plan.id)
        )
    previous = plan_lines_frame(plan)[list(PLAN_COLUMNS)]
    result, data = _solve(state, plan.district, params, repository.effective_pins(plan), previous)
    new = store_result(
        session, result, data, district_name=plan.district, params=params, user=user, parent=plan
    )
    repository.copy_pins(plan, new)
    pinned = {(p.kindergarten_id, p.resource) for p in new.pins}
    for line in new.lines:  # stored with the new version, before anyone can read it
        line.overridden = (line.kindergarten_id, line.resource) in pinned
    repository.append_audit(
        session,
        user_name=user.name,
        action="plan.resolve",
        entity="plan",
        entity_id=new.id,
        plan_id=new.id,
        before={"plan_id": plan.id},
        after={"plan_id": new.id, "pins": len(plan.pins)},
    )
    session.flush()
    return new


def pin_line(
    session: Session, user: User, plan: Plan, line_id: int, pin: PinCreate
) -> tuple[Plan, PlanLine]:
    require_change(user)
    return line_edits.pin_line(
        session,
        plan,
        line_id,
        kind=pin.kind,
        value_fte=pin.value_fte,
        comment=pin.comment,
        expected_version=pin.row_version,
        user_name=user.name,
    )


def approve_line(
    session: Session, user: User, plan: Plan, line_id: int, body: LineApprove
) -> PlanLine:
    require_change(user)
    return line_edits.approve_line(
        session,
        plan,
        line_id,
        expected_version=body.row_version,
        user_name=user.name,
        comment=body.comment,
    )


def approve_plan(session: Session, user: User, plan: Plan, body: PlanApprove) -> Plan:
    require_change(user)
    return workflow.approve_plan(
        session,
        plan,
        user_name=user.name,
        revision=body.revision,
        comment=body.comment,
        supersede=body.supersede,
        reason=body.reason,
    )


def plan_diff(a: Plan, b: Plan) -> overrides.PlanDiff:
    """The lines whose planned figure differs, b − a (:func:`serving.overrides.plan_diff`)."""
    return overrides.plan_diff(a, b)
