"""The store's tables (SQLAlchemy 2 declarative). The migrations in ``migrations/versions`` create
exactly these; a test checks that the two agree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("viewer", "planner", "admin")
#: a draft may change; an approved plan never does; a superseded one was approved and replaced
PLAN_STATUSES = ("draft", "approved", "superseded")
PIN_KINDS = ("fix", "floor", "ban")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    #: The district (bydel) a viewer or planner may see; empty for an admin, who sees all.
    district: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class Plan(Base):
    """One version of a plan. Its solved lines are never rewritten: a planner's pin is a record
    of its own (:class:`Pin`) shown beside the solved figure, and a change to an approved plan
    makes a new draft version whose ``parent_id`` points at it."""

    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    district: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("plans.id"), nullable=True)
    header: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[list[Any]] = mapped_column(JSON, default=list)
    data_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    model_version: Mapped[str] = mapped_column(String(200), default="")
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    approved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: Grows by one on every change (pin, line approval, approval); an approval names the revision
    #: the planner saw, so nobody approves a change they have not seen.
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: The first version's id: all versions of one plan share it.
    family_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    #: First and last planned month (YYYY-MM): at most one approved plan per district and period.
    period_start: Mapped[str | None] = mapped_column(String(7), nullable=True)
    period_end: Mapped[str | None] = mapped_column(String(7), nullable=True)
    #: The plan whose approval replaced this one (status "superseded").
    superseded_by: Mapped[str | None] = mapped_column(String(64), nullable=True)

    lines: Mapped[list[PlanLine]] = relationship(
        back_populates="plan", order_by="PlanLine.id", cascade="all, delete-orphan"
    )
    pins: Mapped[list[Pin]] = relationship(order_by="Pin.id", cascade="all, delete-orphan")


class PlanLine(Base):
    """One kindergarten × resource line of a plan as solved. ``row_version`` grows by one on every
    pin or approval of the line; a change that names an older version is refused (optimistic
    concurrency). The solved figures never change after the plan is stored."""

    __tablename__ = "plan_lines"
    __table_args__ = (UniqueConstraint("plan_id", "kindergarten_id", "resource"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    kindergarten_id: Mapped[str] = mapped_column(String(100))
    kindergarten_name: Mapped[str] = mapped_column(String(200), default="")
    period: Mapped[str] = mapped_column(String(40))
    resource: Mapped[str] = mapped_column(String(40))
    current_fte: Mapped[float] = mapped_column(Float)
    suggested_fte: Mapped[float] = mapped_column(Float)
    #: What the engine suggested before any planner override (kept to show the difference).
    engine_fte: Mapped[float] = mapped_column(Float)
    change_fte: Mapped[float] = mapped_column(Float)
    required_fte_p50: Mapped[float] = mapped_column(Float)
    required_fte_p90: Mapped[float] = mapped_column(Float)
    shortfall_risk: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    approved: Mapped[bool] = mapped_column(Boolean, default=False)
    approved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    plan: Mapped[Plan] = relationship(back_populates="lines")


class Pin(Base):
    """A planner's decision the optimiser must respect when the plan is solved again. Every pin
    is kept; the newest on a line rules."""

    __tablename__ = "pins"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    kindergarten_id: Mapped[str] = mapped_column(String(100))
    resource: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    value_fte: Mapped[float] = mapped_column(Float, default=0.0)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class Approval(Base):
    """Who approved what: a whole plan (``line_id`` empty) or one line."""

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    line_id: Mapped[int | None] = mapped_column(ForeignKey("plan_lines.id"), nullable=True)
    approved_by: Mapped[str] = mapped_column(String(100))
    approved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    comment: Mapped[str] = mapped_column(Text, default="")


class AuditEvent(Base):
    """Append-only: the migration adds a trigger refusing UPDATE and DELETE on this table."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now, index=True)
    user_name: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str] = mapped_column(String(100))
    plan_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")


class CachedFrame(Base):
    """Engine output (forecasts, contributions) as Parquet bytes, keyed by data fingerprint and
    model version so pages never recompute what the engine already produced."""

    __tablename__ = "cached_frames"
    __table_args__ = (UniqueConstraint("data_fingerprint", "model_version", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    data_fingerprint: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class LoginSession(Base):
    """A login, kept server-side so it can end at once: logout, an admin ending a user's sessions
    and a password change revoke it. ``id`` is a hash of the random token in the cookie, so a
    copy of this table cannot be replayed as cookies."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LoginThrottle(Base):
    """Failed logins per account name or client address, for back-off (``key`` is
    ``account:NAME`` or ``address:IP``)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
