"""Plain functions the routes call: who may see what, the pages' data, and planning actions
(solve, pin, re-solve, approve). Routes stay thin; these functions hold the rules."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from data.contract import PLAN_COLUMNS, District
from data.errors import UserInputError
from serving.app.engine import EngineState, district_subset
from serving.app.privacy import suppress_frame_for
from serving.app.schemas import LineApprove, PinCreate, PlanApprove, PlanCreate
from serving.app.views import overview_table
from serving.store import repository
from serving.store.tables import Plan, PlanLine, User


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
        raise Forbidden(f"{user.name} is a {user.role}: viewers can look but not change plans.")


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
        raise NotFound(f"No plan {plan_id!r}.")
    return plan


def plans_for(session: Session, user: User) -> list[Plan]:
    return repository.list_plans(session, None if user.role == "admin" else (user.district or ""))


# --- pages' data -----------------------------------------------------------------------------


def overview(state: EngineState, user: User) -> pd.DataFrame:
    """The overview table for ``user``'s districts, decision counts suppressed for viewers."""
    full = state.derived(
        ("overview", state.fingerprint(), state.champion().version),
        lambda: overview_table(state.district(), state.forecasts()),
    )
    rows = full if user.role == "admin" else full[full["district"] == user.district]
    return suppress_frame_for(user, rows.reset_index(drop=True))


def kindergarten(state: EngineState, user: User, kindergarten_id: str) -> dict[str, Any]:
    """Everything the kindergarten page shows (404 outside the user's district)."""
    district = state.district()
    row = district.kindergartens[district.kindergartens["kindergarten_id"] == kindergarten_id]
    if row.empty or not sees_district(user, str(row["district"].iloc[0])):
        raise NotFound(f"No kindergarten {kindergarten_id!r}.")
    history = district.monthly[district.monthly["kindergarten_id"] == kindergarten_id]
    forecasts = state.forecasts()
    forecasts = forecasts[forecasts["kindergarten_id"] == kindergarten_id]
    try:
        drivers = state.contributions()
        if "kindergarten_id" in drivers.columns:
            drivers = drivers[drivers["kindergarten_id"] == kindergarten_id]
    except (UserInputError, AttributeError, NotImplementedError) as exc:
        drivers = pd.DataFrame({"note": [f"drivers not available: {exc}"]})
    return {
        "info": row.iloc[0].to_dict(),
        "history": history,
        "forecasts": forecasts,
        "drivers": drivers,
    }


def allocation_history(session: Session, user: User, kindergarten_id: str) -> list[dict]:
    """Every stored plan line for one kindergarten, newest plan first (one query)."""
    from sqlalchemy import select

    query = (
        select(Plan, PlanLine)
        .join(PlanLine, PlanLine.plan_id == Plan.id)
        .where(PlanLine.kindergarten_id == kindergarten_id)
        .order_by(Plan.created_at.desc(), Plan.id.desc(), PlanLine.resource)
    )
    if user.role != "admin":
        query = query.where(Plan.district == (user.district or ""))
    return [
        {
            "plan_id": plan.id,
            "version": plan.version,
            "status": plan.status,
            "created_at": plan.created_at,
            "period": line.period,
            "resource": line.resource,
            "current_fte": line.current_fte,
            "suggested_fte": line.suggested_fte,
            "approved": line.approved,
            "overridden": line.overridden,
        }
        for plan, line in session.execute(query)
    ]


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
                f"No district {requested!r} in the data (have: {', '.join(names)})."
            )
        return requested
    if len(names) == 1:
        return names[0]
    raise UserInputError("Choose the district to plan (the data hold several).")


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
        raise UserInputError(f"No kindergartens in {district_name!r}.")
    model = state.champion()
    forecasts = state.forecasts()
    forecasts = forecasts[forecasts["kindergarten_id"].isin(data.kindergartens["kindergarten_id"])]
    if "month" in forecasts and forecasts["month"].dtype == object:
        forecasts = forecasts.assign(
            month=pd.PeriodIndex(forecasts["month"], freq="M"),
            origin=pd.PeriodIndex(forecasts["origin"], freq="M"),
        )
    request = PlanRequest(
        pools={k: float(v) for k, v in params["pools"].items()},
        budget_nok=params.get("budget_nok"),
        start=pd.Period(params["start"], freq="M") if params.get("start") else None,
        months=int(params.get("months", 12)),
        risk=float(params.get("risk", 0.9)),
        equity_weight=float(params.get("equity_weight", 1.0)),
        max_moves=int(params.get("max_moves", 0)),
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
        n_scenarios=state.settings.plan_scenarios,
        seed=int(params.get("seed", 0)),
        time_limit_s=state.settings.plan_time_limit_s,
        previous_plan=previous,
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
    result, data = _solve(state, district_name, request, [], None)
    return store_result(
        session, result, data, district_name=district_name, params=request, user=user, parent=None
    )


def plan_lines_frame(plan: Plan) -> pd.DataFrame:
    """The plan's lines in the contract's column order, then the planner-side columns."""
    records = [
        {
            "plan_id": plan.id,
            "kindergarten_id": ln.kindergarten_id,
            "period": ln.period,
            "resource": ln.resource,
            "current_fte": ln.current_fte,
            "suggested_fte": ln.suggested_fte,
            "change_fte": ln.change_fte,
            "required_fte_p50": ln.required_fte_p50,
            "required_fte_p90": ln.required_fte_p90,
            "shortfall_risk": ln.shortfall_risk,
            "reason": ln.reason,
            "kindergarten_name": ln.kindergarten_name,
            "engine_fte": ln.engine_fte,
            "overridden": ln.overridden,
            "approved": ln.approved,
            "approved_by": ln.approved_by,
            "row_version": ln.row_version,
            **ln.explanation,
        }
        for ln in plan.lines
    ]
    return pd.DataFrame.from_records(
        records, columns=None if records else [*PLAN_COLUMNS, "kindergarten_name"]
    )


def resolve_plan(state: EngineState, session: Session, user: User, plan: Plan) -> Plan:
    """Solve again honouring the plan's pins: a new draft version (the old one is kept)."""
    require_change(user)
    params = dict(plan.header.get("request") or {})
    if "pools" not in params:
        raise UserInputError(f"Plan {plan.id} has no stored request to solve again.")
    previous = plan_lines_frame(plan)[list(PLAN_COLUMNS)]
    result, data = _solve(state, plan.district, params, list(plan.pins), previous)
    new = store_result(
        session, result, data, district_name=plan.district, params=params, user=user, parent=plan
    )
    repository.copy_pins(plan, new)
    for pin in plan.pins:
        for line in new.lines:
            if (line.kindergarten_id, line.resource) == (pin.kindergarten_id, pin.resource):
                line.overridden = True
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
    return repository.pin_line(
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
    return repository.approve_line(
        session,
        plan,
        line_id,
        expected_version=body.row_version,
        user_name=user.name,
        comment=body.comment,
    )


def approve_plan(session: Session, user: User, plan: Plan, body: PlanApprove) -> Plan:
    require_change(user)
    return repository.approve_plan(session, plan, user_name=user.name, comment=body.comment)


def plan_diff(a: Plan, b: Plan) -> pd.DataFrame:
    """Line by line difference b − a in suggested FTE (lines only in one plan included)."""

    def frame(plan: Plan) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "kindergarten_id": ln.kindergarten_id,
                    "kindergarten_name": ln.kindergarten_name,
                    "resource": ln.resource,
                    "suggested_fte": ln.suggested_fte,
                }
                for ln in plan.lines
            ],
            columns=["kindergarten_id", "kindergarten_name", "resource", "suggested_fte"],
        )

    merged = frame(a).merge(
        frame(b), on=["kindergarten_id", "resource"], how="outer", suffixes=("_a", "_b")
    )
    merged["kindergarten_name"] = merged["kindergarten_name_a"].fillna(
        merged["kindergarten_name_b"]
    )
    merged["difference_fte"] = (
        merged["suggested_fte_b"].fillna(0) - merged["suggested_fte_a"].fillna(0)
    ).round(4)
    out = merged[
        [
            "kindergarten_id",
            "kindergarten_name",
            "resource",
            "suggested_fte_a",
            "suggested_fte_b",
            "difference_fte",
        ]
    ]
    return out.sort_values(
        ["difference_fte", "kindergarten_id"],
        key=lambda s: s.abs() if s.name == "difference_fte" else s,
        ascending=[False, True],
        ignore_index=True,
    )
