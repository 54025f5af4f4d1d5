"""Plain functions the routes call: who may see what, the pages' data, and planning actions
(solve, pin, re-solve, approve). Routes stay thin; these functions hold the rules."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from data.contract import PLAN_COLUMNS, District
from data.errors import Problem, UserInputError
from serving import overrides
from serving.app.deps import UserView
from serving.app.engine import EngineState, district_subset
from serving.app.kindergarten_sections import contributions, split_by_kindergarten
from serving.app.line_words import explanation_text
from serving.app.privacy import is_internal_view, suppress_frame_for
from serving.app.schemas import (
    DistrictPlansCreate,
    LineApprove,
    PinCreate,
    PlanApprove,
    PlanCreate,
)
from serving.app.views import overview_table
from serving.district_plans import summed_summaries
from serving.i18n import N_, Message
from serving.key_figures import KeyFigure, key_figures
from serving.plan_options import OPTIONS, nothing_to_allocate, step_fte
from serving.store import line_edits, repository, workflow
from serving.store.tables import Plan, PlanLine, User
from serving.words import ROLE, as_message


class NotFound(Exception):
    """Unknown — or outside the user's district, which is answered the same way (404), so a
    planner cannot even learn which ids exist elsewhere."""


class Forbidden(Exception):
    """Known and visible, but this role may not do it (403)."""


# --- access ----------------------------------------------------------------------------------


def can_change(user: User) -> bool:
    return user.role in ("planner", "admin")


def require_change(user: User) -> None:
    if not can_change(user):
        raise Forbidden(
            Message(
                N_("%(user)s is a %(role)s: viewers can look but not change plans."),
                user=user.name,
                role=as_message(ROLE, user.role),
            )
        )


def visible_districts(user: User, district: District) -> list[str]:
    names = sorted(district.kindergartens["district"].dropna().unique().tolist())
    if user.role == "admin":
        return names
    return [user.district] if user.district else []


def sees_district(user: User, name: str) -> bool:
    return user.role == "admin" or (user.district is not None and user.district == name)


def visible_data(state: EngineState, user: User) -> District:
    """The data set cut down to what ``user`` may see."""
    district = state.district()
    if user.role == "admin":
        return district
    return state.derived(
        ("subset", user.district), lambda: district_subset(district, user.district or "")
    )


def plan_for(session: Session, user: User, plan_id: str) -> Plan:
    plan = repository.get_plan(session, plan_id)
    if plan is None or not sees_district(user, plan.district):
        raise NotFound(Message(N_("No plan %(plan)s."), plan=repr(plan_id)))
    return plan


def plans_for(session: Session, user: User) -> list[Plan]:
    return repository.list_plans(session, None if user.role == "admin" else (user.district or ""))


def count_plans_for(session: Session, user: User) -> int:
    return repository.count_plans(session, None if user.role == "admin" else (user.district or ""))


def plan_stamp_for(session: Session, user: User, plan_id: str) -> tuple[Any, ...]:
    """The plan's state stamp (:func:`repository.plan_stamp`), 404 as :func:`plan_for`."""
    stamp = repository.plan_stamp(session, plan_id)
    if stamp is None or not sees_district(user, str(stamp[0])):
        raise NotFound(Message(N_("No plan %(plan)s."), plan=repr(plan_id)))
    return stamp


# --- pages' data -----------------------------------------------------------------------------


def overview(state: EngineState, user: User) -> pd.DataFrame:
    """The overview table for ``user``'s districts, decision counts suppressed for viewers."""
    model = state.champion()
    full = state.derived(
        ("overview", state.fingerprint(), model.version),
        lambda: overview_table(
            state.district(), state.forecasts(), pit_history=getattr(model, "pit_history", None)
        ),
    )
    rows = full if user.role == "admin" else full[full["district"] == user.district]
    return suppress_frame_for(user, rows.reset_index(drop=True))


#: the overview's flag filter: its value in a query → the flag column
OVERVIEW_FLAGS = {
    "breach": "flag_breach",
    "effective": "flag_effective_cover",
    "rising31": "flag_rising_31",
    "sick": "flag_sick_leave",
    "turnover": "flag_turnover",
}


def filter_overview(
    rows: pd.DataFrame,
    *,
    q: str = "",
    municipality: str = "",
    district: str = "",
    flag: str = "",
) -> pd.DataFrame:
    """The overview rows matching a search (name or number), a municipality, a district and a
    flag (:data:`OVERVIEW_FLAGS`); an empty filter keeps every row. The page and the API
    filter alike."""
    if q:
        mask = rows["name"].str.contains(q, case=False, regex=False) | rows[
            "kindergarten_id"
        ].str.contains(q, case=False, regex=False)
        rows = rows[mask]
    if municipality:
        rows = rows[rows["municipality"] == municipality]
    if district:
        rows = rows[rows["district"] == district]
    if flag in OVERVIEW_FLAGS:
        rows = rows[rows[OVERVIEW_FLAGS[flag]].fillna(False).astype(bool)]
    return rows


def page_of(rows: pd.DataFrame, page: int, size: int) -> tuple[pd.DataFrame, int, int]:
    """(the rows of page ``page`` — clipped to 1 … pages — of ``size`` rows, that page, the
    number of pages); a nation is 5,500 kindergartens, shown a page at a time."""
    pages = max(1, -(-len(rows) // size))
    page = min(max(page, 1), pages)
    start = (page - 1) * size
    return rows.iloc[start : start + size], page, pages


def district_key_figures(
    state: EngineState, user: User, *, exported: bool = False
) -> list[KeyFigure]:
    """The key figures of the districts ``user`` may see (decision counts masked for an internal
    view, and always in an export, by the one privacy rule), computed once per data set, model
    and audience."""
    internal = exported or is_internal_view(user)
    return state.derived(
        ("key_figures", state.fingerprint(), state.champion().version, user.district, internal),
        lambda: key_figures(visible_data(state, user), state.forecasts(), internal=internal),
    )


def audiences(state: EngineState) -> list[UserView]:
    """Everyone a page can look different for: an admin, and a planner and a viewer of each of
    the data's districts (raises UserInputError without data)."""
    names = sorted(state.district().kindergartens["district"].dropna().unique().tolist())
    return [UserView("", "admin", None)] + [
        UserView("", role, name) for name in names for role in ("planner", "viewer")
    ]


def warm_key_figures(state: EngineState) -> None:
    """Every audience's key figures computed ahead, so no overview request computes them: 15
    districts' first overviews at once held the interpreter for seconds on the city."""
    try:
        for audience in audiences(state):
            district_key_figures(state, cast(User, audience))
    except UserInputError:  # no data or model yet: the pages say what to do first
        return


def kindergarten_info(state: EngineState, user: User, kindergarten_id: str) -> dict[str, Any]:
    """The kindergarten's row of the data set (404 outside the user's district)."""
    kindergartens = state.district().kindergartens
    row = kindergartens[kindergartens["kindergarten_id"] == kindergarten_id]
    if row.empty or not sees_district(user, str(row["district"].iloc[0])):
        raise NotFound(
            Message(N_("No kindergarten %(kindergarten)s."), kindergarten=repr(kindergarten_id))
        )
    return {str(k): v for k, v in row.iloc[0].to_dict().items()}


def kindergarten(state: EngineState, user: User, kindergarten_id: str) -> dict[str, Any]:
    """Everything the kindergarten API answers (404 outside the user's district): its rows of
    the data and the engine's output, split by kindergarten once per data set and model."""
    info = kindergarten_info(state, user, kindergarten_id)
    model_version = str(state.champion().version)
    parts = state.derived(
        ("by kindergarten", state.fingerprint(), model_version),
        lambda: split_by_kindergarten(state.district(), state.forecasts(), contributions(state)),
    )[kindergarten_id]
    drivers = (
        parts.drivers
        if contributions(state) is not None
        else pd.DataFrame({"note": ["drivers not available for this model"]})
    )
    return {
        "info": info,
        "history": parts.history,
        "forecasts": parts.forecasts,
        "drivers": drivers,
        "model_version": model_version,
    }


def allocation_history(session: Session, user: User, kindergarten_id: str) -> list[dict]:
    """Every stored plan line for one kindergarten, newest plan first: solved and planned
    figure, and the pin that made them differ (one query for the lines)."""
    from sqlalchemy import select

    query = (
        select(Plan, PlanLine)
        .join(PlanLine, PlanLine.plan_id == Plan.id)
        .where(PlanLine.kindergarten_id == kindergarten_id)
        .order_by(Plan.created_at.desc(), Plan.id.desc(), PlanLine.resource)
    )
    if user.role != "admin":
        query = query.where(Plan.district == (user.district or ""))
    return overrides.history_rows([(plan, line) for plan, line in session.execute(query)])


# --- planning --------------------------------------------------------------------------------


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
