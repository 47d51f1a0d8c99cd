"""controller: runs and turns

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 11:08:15.803478
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate may emit sqlmodel types)
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("board_id", sa.UUID(), nullable=False),
        sa.Column("protocol", sa.Text(), nullable=False),
        sa.Column("roster", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("goal", sa.Text(), nullable=True),
        sa.Column("goal_id", sa.UUID(), nullable=True),
        sa.Column(
            "params",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("turns_used", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("tokens_used", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("controller", sa.Text(), nullable=True),
        sa.Column("lease_token", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["board_id"], ["boards.id"], name=op.f("fk_runs_board_id_boards")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_index("ix_runs_board_created", "runs", ["board_id", "created_at"], unique=False)
    op.create_index(
        "ix_runs_drivable",
        "runs",
        ["lease_expires_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending', 'running')"),
    )
    op.create_table(
        "turns",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("board_id", sa.UUID(), nullable=False),
        sa.Column("agent_id", sa.UUID(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("phase", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bundle", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("manifest", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("role", sa.Text(), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "artifact_ids",
            postgresql.ARRAY(sa.UUID()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("claim_id", sa.UUID(), nullable=True),
        sa.Column(
            "call",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_turns_agent_id_agents")),
        sa.ForeignKeyConstraint(["board_id"], ["boards.id"], name=op.f("fk_turns_board_id_boards")),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_turns_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_turns")),
        sa.UniqueConstraint("run_id", "step", name=op.f("uq_turns_run_id_step")),
    )
    op.create_index("ix_turns_agent_status", "turns", ["agent_id", "status"], unique=False)
    op.create_index(
        "ix_turns_open_deadline",
        "turns",
        ["deadline"],
        unique=False,
        postgresql_where=sa.text("status = 'offered'"),
    )
    op.add_column("agents", sa.Column("model_spec", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("agents", "model_spec")
    op.drop_index(
        "ix_turns_open_deadline", table_name="turns", postgresql_where=sa.text("status = 'offered'")
    )
    op.drop_index("ix_turns_agent_status", table_name="turns")
    op.drop_table("turns")
    op.drop_index(
        "ix_runs_drivable",
        table_name="runs",
        postgresql_where=sa.text("status IN ('pending', 'running')"),
    )
    op.drop_index("ix_runs_board_created", table_name="runs")
    op.drop_table("runs")
