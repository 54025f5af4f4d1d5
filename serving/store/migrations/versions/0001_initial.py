"""Initial store: users, plans, plan lines, pins, approvals, append-only audit log, cached frames.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("district", sa.String(200), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "plans",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("district", sa.String(200), nullable=False, index=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("parent_id", sa.String(64), sa.ForeignKey("plans.id"), nullable=True),
        sa.Column("header", sa.JSON, nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("data_fingerprint", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(200), nullable=False),
        sa.Column("simulated", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("approved_by", sa.String(100), nullable=True),
        sa.Column("approved_at", TZ, nullable=True),
    )
    op.create_table(
        "plan_lines",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("plan_id", sa.String(64), sa.ForeignKey("plans.id"), nullable=False, index=True),
        sa.Column("kindergarten_id", sa.String(100), nullable=False),
        sa.Column("kindergarten_name", sa.String(200), nullable=False),
        sa.Column("period", sa.String(40), nullable=False),
        sa.Column("resource", sa.String(40), nullable=False),
        sa.Column("current_fte", sa.Float, nullable=False),
        sa.Column("suggested_fte", sa.Float, nullable=False),
        sa.Column("engine_fte", sa.Float, nullable=False),
        sa.Column("change_fte", sa.Float, nullable=False),
        sa.Column("required_fte_p50", sa.Float, nullable=False),
        sa.Column("required_fte_p90", sa.Float, nullable=False),
        sa.Column("shortfall_risk", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("explanation", sa.JSON, nullable=False),
        sa.Column("overridden", sa.Boolean, nullable=False),
        sa.Column("approved", sa.Boolean, nullable=False),
        sa.Column("approved_by", sa.String(100), nullable=True),
        sa.Column("row_version", sa.Integer, nullable=False),
        sa.UniqueConstraint("plan_id", "kindergarten_id", "resource"),
    )
    op.create_table(
        "pins",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("plan_id", sa.String(64), sa.ForeignKey("plans.id"), nullable=False, index=True),
        sa.Column("kindergarten_id", sa.String(100), nullable=False),
        sa.Column("resource", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("value_fte", sa.Float, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("plan_id", sa.String(64), sa.ForeignKey("plans.id"), nullable=False, index=True),
        sa.Column("line_id", sa.Integer, sa.ForeignKey("plan_lines.id"), nullable=True),
        sa.Column("approved_by", sa.String(100), nullable=False),
        sa.Column("approved_at", TZ, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", TZ, nullable=False, index=True),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("entity", sa.String(60), nullable=False),
        sa.Column("entity_id", sa.String(100), nullable=False),
        sa.Column("plan_id", sa.String(64), nullable=True, index=True),
        sa.Column("before", sa.JSON, nullable=True),
        sa.Column("after", sa.JSON, nullable=True),
        sa.Column("comment", sa.Text, nullable=False),
    )
    op.create_table(
        "cached_frames",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("data_fingerprint", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("data_fingerprint", "model_version", "kind"),
    )
    _make_audit_log_append_only()


def _make_audit_log_append_only() -> None:
    """The database itself refuses to change or delete audit rows, whoever connects."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    for table in (
        "cached_frames",
        "audit_log",
        "approvals",
        "pins",
        "plan_lines",
        "plans",
        "users",
    ):
        op.drop_table(table)
