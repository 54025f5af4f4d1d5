"""Plain functions the routes call: who may see what and the pages' data (the planning actions
are :mod:`serving.app.plan_services`). Routes stay thin; these functions hold the rules."""

from __future__ import annotations

from typing import Any, cast

import pandas as pd
from sqlalchemy.orm import Session

from data.contract import District
from data.errors import UserInputError
from serving import overrides
from serving.app.deps import UserView
from serving.app.engine import EngineState, district_subset
from serving.app.kindergarten_sections import contributions, split_by_kindergarten
from serving.app.privacy import is_internal_view, suppress_frame_for
from serving.app.views import overview_table
from serving.i18n import N_, Message
from serving.key_figures import KeyFigure, key_figures
from serving.store import repository
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
