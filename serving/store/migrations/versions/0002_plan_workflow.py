"""Plan workflow: a revision token per plan (every change bumps it; an approval names the one
the planner saw), the plan's family (all versions of one plan) and its period (first and last
month, for "one approved plan per district and period"), and who superseded an approved plan.

Revision ID: 0002_plan_workflow
Revises: 0001_initial
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_plan_workflow"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

PERIOD_SEPARATORS = ("–", "/", "..")


def _period_bounds(text: str | None) -> tuple[str | None, str | None]:
    """ "2026-11–2027-10" → ("2026-11", "2027-10"); one month → (it, it); else (None, None)."""
    text = (text or "").strip()
    for separator in PERIOD_SEPARATORS:
        if separator in text:
            first, _, last = text.partition(separator)
            return first.strip() or None, last.strip() or None
    return (text, text) if len(text) == 7 else (None, None)


def upgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("revision", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("family_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("period_start", sa.String(7), nullable=True))
        batch.add_column(sa.Column("period_end", sa.String(7), nullable=True))
        batch.add_column(sa.Column("superseded_by", sa.String(64), nullable=True))
        batch.create_index("ix_plans_family_id", ["family_id"])
    _backfill()


def _backfill() -> None:
    """Existing plans: family = the root of the parent chain, period from the header."""
    bind = op.get_bind()
    plans = sa.table(
        "plans",
        sa.column("id", sa.String),
        sa.column("parent_id", sa.String),
        sa.column("header", sa.JSON),
        sa.column("family_id", sa.String),
        sa.column("period_start", sa.String),
        sa.column("period_end", sa.String),
    )
    rows = bind.execute(sa.select(plans.c.id, plans.c.parent_id, plans.c.header)).all()
    parent = {row.id: row.parent_id for row in rows}
    for row in rows:
        root, seen = row.id, {row.id}
        while parent.get(root) and parent[root] not in seen:
            root = parent[root]
            seen.add(root)
        header = row.header if isinstance(row.header, dict) else {}
        start, end = _period_bounds(str(header.get("period") or ""))
        bind.execute(
            plans.update()
            .where(plans.c.id == row.id)
            .values(family_id=root, period_start=start, period_end=end)
        )


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_index("ix_plans_family_id")
        for column in ("superseded_by", "period_end", "period_start", "family_id", "revision"):
            batch.drop_column(column)
