"""Pydantic schema families of the JSON API (``…Create`` in, ``…Public`` out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from data.contract import RESOURCES
from serving.plan_options import OPTIONS, POOL_OPTIONS, api_field

Role = Literal["viewer", "planner", "admin"]
PinKind = Literal["fix", "floor", "ban"]
#: A decision count as shown: a number, or "<5" where it is suppressed for privacy.
ShownCount = float | str | None


class LoginRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=500)


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=500)
    new_password: str = Field(min_length=1, max_length=500)


class SessionsEnded(BaseModel):
    user: str
    ended: int = Field(description="Open sessions of the user that were ended.")


class SolveProgress(BaseModel):
    elapsed_s: float = Field(description="Seconds the solve has run so far.")
    time_limit_s: float = Field(description="The optimiser's time limit, seconds.")


class SolvesRunning(BaseModel):
    running: list[SolveProgress] = Field(description="Plans being solved now, oldest first.")


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    role: Role
    district: str | None


class LoginResponse(BaseModel):
    user: UserPublic
    csrf_token: str = Field(description="Send as the X-CSRF-Token header on every POST/PATCH.")


class EngineStatusPublic(BaseModel):
    data_ok: bool
    model_ok: bool
    simulated: bool
    data_fingerprint: str
    model_version: str
    next_step: str = Field(description="What to do first, in words, when something is missing.")
    problems: list[str] = []


class PlanCreate(BaseModel):
    """Parameters of a new plan; every option's default, range and help come from
    :data:`serving.plan_options.OPTIONS` (the command line and the web form use the same)."""

    district: str | None = Field(
        default=None,
        description="Required for an admin; a planner always plans their own district.",
    )
    pools: dict[str, float] = Field(
        default_factory=dict,
        description="Extra FTE per resource to spread, e.g. "
        '{"staff": 8, "pedagogue": 4, "resource_pedagogue": 5}; '
        f"each {POOL_OPTIONS[0].range_text()} FTE. A resource left out has "
        f"{POOL_OPTIONS[0].empty}.",
    )
    budget_nok: float | None = api_field("budget_nok")
    start: str | None = api_field("start")
    months: int = api_field("months")
    risk: float = api_field("risk")
    equity_weight: float = api_field("equity_weight")
    max_moves: int | None = api_field("max_moves")
    scenarios: int = api_field("scenarios")
    step_staff: float = api_field("step_staff")
    step_pedagogue: float = api_field("step_pedagogue")
    step_resource_pedagogue: float = api_field("step_resource_pedagogue")
    seed: int = Field(default=0, description="Seed of the forecast scenarios.")

    @field_validator("pools")
    @classmethod
    def _known_resources(cls, pools: dict[str, float]) -> dict[str, float]:
        problems = pool_problems(pools)
        if problems:
            raise ValueError("; ".join(problems))
        return pools


def pool_problems(pools: dict[str, float]) -> list[str]:
    """Every unknown resource and every pool outside its range, in words."""
    problems = [
        f"unknown resource {name!r} (use {', '.join(RESOURCES)})"
        for name in pools
        if name not in RESOURCES
    ]
    problems += [
        f"pool {name} must be {OPTIONS[f'pool_{name}'].range_text()} FTE (found {value})"
        for name, value in pools.items()
        if name in RESOURCES
        and not (
            (OPTIONS[f"pool_{name}"].minimum or 0.0)
            <= value
            <= (OPTIONS[f"pool_{name}"].maximum or 0.0)
        )
    ]
    return problems


class DistrictPlansCreate(PlanCreate):
    """One plan per district, started at once by an admin (as ``bemanning plan`` does by
    default): every plan option as for one plan; ``pools`` is what each district gets unless
    ``district_pools`` gives it its own."""

    districts: list[str] | None = Field(
        default=None, description="Districts to plan; default: every district of the data."
    )
    district_pools: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="A district's own pools, e.g. "
        '{"Bydel Alna": {"staff": 3}}; a district not named here gets pools.',
    )

    @field_validator("district_pools")
    @classmethod
    def _known_district_resources(
        cls, pools: dict[str, dict[str, float]]
    ) -> dict[str, dict[str, float]]:
        problems = [f"{name}: {p}" for name, given in pools.items() for p in pool_problems(given)]
        if problems:
            raise ValueError("; ".join(problems))
        return pools


class PinCreate(BaseModel):
    kind: PinKind = Field(
        description="About the line's extra FTE (change from today): fix: "
        "exactly value_fte (negative takes FTE away, needs max_moves); "
        "floor: at least value_fte; ban: no change."
    )
    value_fte: float = Field(default=0.0, ge=-200, le=200)
    comment: str = Field(min_length=1, max_length=2000, description="Why (kept in the audit log).")
    row_version: int = Field(ge=1, description="The line version you saw; a newer one → 409.")


class LineApprove(BaseModel):
    row_version: int = Field(ge=1)
    comment: str = Field(default="", max_length=2000)


class PlanApprove(BaseModel):
    """Approve a whole plan as you saw it."""

    revision: int = Field(
        ge=1,
        description="The plan revision you saw (GET /api/plans/{id} → revision); if a pin or a "
        "line approval came in since, the approval is refused (409) so you see it first.",
    )
    comment: str = Field(default="", max_length=2000)
    supersede: bool = Field(
        default=False,
        description="Replace the approved plan that stands for this district and period (or "
        "approve a version older than the newest); needs a reason.",
    )
    reason: str = Field(
        default="", max_length=2000, description="Why you supersede (kept in the audit log)."
    )


class PinPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kindergarten_id: str
    resource: str
    kind: PinKind
    value_fte: float
    comment: str
    created_by: str
    created_at: datetime
    sentence: str = Field(default="", description="The pin as the line's reason shows it.")


class LinePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kindergarten_id: str
    kindergarten_name: str
    period: str
    resource: str
    current_fte: float
    suggested_fte: float
    engine_fte: float
    change_fte: float
    required_fte_p50: float
    required_fte_p90: float
    shortfall_risk: float
    reason: str
    explanation: dict[str, Any]
    overridden: bool
    approved: bool
    approved_by: str | None
    row_version: int
    planned_fte: float = Field(
        description="What the plan gives the line: suggested_fte as solved, or the ruling pin "
        "applied to it (the solved figure never changes)."
    )
    planned_change_fte: float
    pin: PinPublic | None = Field(default=None, description="The pin that rules the line.")


class PlanSummaryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    district: str
    status: Literal["draft", "approved", "superseded"]
    version: int
    revision: int = Field(description="Grows with every change; send it when you approve.")
    parent_id: str | None
    family_id: str | None
    period_start: str | None
    period_end: str | None
    superseded_by: str | None
    created_by: str
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    model_version: str
    data_fingerprint: str
    simulated: bool


class PlanPublic(PlanSummaryPublic):
    header: dict[str, Any]
    summary: list[dict[str, Any]]
    lines: list[LinePublic]
    pins: list[PinPublic]


class PinResult(BaseModel):
    plan_id: str = Field(
        description="The plan changed: a new draft version when the pinned plan was approved."
    )
    new_version: bool
    line: LinePublic


class DiffRow(BaseModel):
    kindergarten_id: str
    kindergarten_name: str
    resource: str
    planned_fte_a: float | None
    planned_fte_b: float | None
    difference_fte: float
    pinned_a: str = ""
    pinned_b: str = ""


class PlanDiffPublic(BaseModel):
    """Only the lines whose planned figure differs (pins applied), b − a."""

    a: str
    b: str
    n_lines: int = Field(description="Lines compared.")
    n_changed: int = Field(description="Lines that differ (the rows).")
    rows: list[DiffRow]


class AuditEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    user_name: str
    action: str
    entity: str
    entity_id: str
    plan_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    comment: str


class KindergartenRisk(BaseModel):
    kindergarten_id: str
    name: str
    municipality: str | None = None
    district: str
    area: str | None = None
    capacity: float | None = None
    children_now: float
    children_p50_12m: float | None
    band_p10: list[float]
    band_p50: list[float]
    band_p90: list[float]
    staff_fte: float
    need_staff_fte_p50: float | None
    need_staff_fte_p90: float | None
    need_pedagogues: float | None
    pedagogue_fte: float
    breach_probability: float | None = Field(
        description="Highest monthly probability over the forecast months that today's "
        "contracted staffing falls short of the staffing norm by a hiring step of basic staff or "
        "more, or of the pedagogue norm (the legal question; share of scenarios)."
    )
    legal_ok_now: bool | None = Field(
        default=None, description="The contracted staffing meets both norms today."
    )
    staff_gap_fte_now: float | None = None
    pedagogue_gap_now: float | None = None
    effective_breach_probability: float | None = Field(
        default=None,
        description="Highest monthly probability that the cover left after sick leave falls "
        "below a norm's need (the effective question, shown apart from the legal one).",
    )
    vedtak_31: ShownCount
    vedtak_31_p50_12m: ShownCount
    sick_leave_12m: float | None
    turnover_12m: float | None
    flag_breach: bool
    flag_effective_cover: bool = False
    flag_rising_31: bool
    flag_sick_leave: bool
    flag_turnover: bool


class KeyFigurePublic(BaseModel):
    """One key figure of the district (``serving.key_figures``); a masked count is "<5"."""

    model_config = ConfigDict(from_attributes=True)

    key: str
    label: str
    unit: str
    value: float | str | None
    previous: float | str | None
    change: float | None
    trend: str = Field(description="up, down, flat, or empty when not known or masked.")
    compared_with: str
    month: str = Field(default="", description="The month measured in (MM.YYYY).")


class OverviewPublic(BaseModel):
    simulated: bool
    model_version: str
    data_fingerprint: str
    key_figures: list[KeyFigurePublic] = []
    kindergartens: list[KindergartenRisk]
    n_kindergartens: int | None = Field(
        default=None, description="Kindergartens matching the filters, on every page."
    )
    page: int = 1
    pages: int = 1


class DistrictPlansPublic(BaseModel):
    """A run of one plan per district: its id, the plans, and the city summary (each compared
    allocation's figures added up over the districts, as ``bemanning plan`` prints them)."""

    run_id: str
    plans: list[PlanSummaryPublic]
    city_summary: list[dict[str, Any]]
