"""ledger: role claims, abstentions, tasks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 10:13:40.041499
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate may emit sqlmodel types)
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "claims",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("board_id", sa.UUID(), nullable=False),
        sa.Column("agent_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("fencing_token", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_claims_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["board_id"], ["boards.id"], name=op.f("fk_claims_board_id_boards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
    )
    op.create_index(
        "ix_claims_active_expiry",
        "claims",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index("ix_claims_board_agent", "claims", ["board_id", "agent_id"], unique=False)
    op.create_index(
        "ix_claims_board_role_scope", "claims", ["board_id", "role", "scope"], unique=False
    )
    op.create_table(
        "role_slots",
        sa.Column("board_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("last_fencing_token", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["board_id"], ["boards.id"], name=op.f("fk_role_slots_board_id_boards")
        ),
        sa.PrimaryKeyConstraint("board_id", "role", "scope", name=op.f("pk_role_slots")),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("board_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column(
            "spec",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("wants_type", sa.Text(), nullable=True),
        sa.Column(
            "required_capabilities",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "inputs", postgresql.ARRAY(sa.UUID()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column(
            "available_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("holder_id", sa.UUID(), nullable=True),
        sa.Column("lease_token", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result_id", sa.UUID(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("posted_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["board_id"], ["boards.id"], name=op.f("fk_tasks_board_id_boards")),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["agents.id"], name=op.f("fk_tasks_holder_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["posted_by"], ["agents.id"], name=op.f("fk_tasks_posted_by_agents")
        ),
        sa.ForeignKeyConstraint(
            ["result_id"], ["artifacts.id"], name=op.f("fk_tasks_result_id_artifacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index("ix_tasks_board_status", "tasks", ["board_id", "status"], unique=False)
    op.create_index(
        "ix_tasks_claimable",
        "tasks",
        ["board_id", "created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index(
        "ix_tasks_lease_expiry",
        "tasks",
        ["lease_expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'leased'"),
    )
    op.create_table(
        "abstentions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("board_id", sa.UUID(), nullable=False),
        sa.Column("agent_id", sa.UUID(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=True),
        sa.Column("role", sa.Text(), nullable=True),
        sa.Column("task_id", sa.UUID(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_abstentions_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["board_id"], ["boards.id"], name=op.f("fk_abstentions_board_id_boards")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_abstentions_task_id_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_abstentions")),
    )
    op.create_index(
        "ix_abstentions_board_created", "abstentions", ["board_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_abstentions_task_agent", "abstentions", ["task_id", "agent_id"], unique=False
    )
    op.create_table(
        "task_attempts",
        sa.Column("task_id", sa.UUID(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.UUID(), nullable=False),
        sa.Column("lease_token", sa.BigInteger(), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_task_attempts_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_attempts_task_id_tasks")
        ),
        sa.PrimaryKeyConstraint("task_id", "attempt", name=op.f("pk_task_attempts")),
    )
    op.add_column("artifacts", sa.Column("claim_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_artifacts_claim_id_claims"), "artifacts", "claims", ["claim_id"], ["id"]
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_artifacts_claim_id_claims"), "artifacts", type_="foreignkey")
    op.drop_column("artifacts", "claim_id")
    op.drop_table("task_attempts")
    op.drop_index("ix_abstentions_task_agent", table_name="abstentions")
    op.drop_index("ix_abstentions_board_created", table_name="abstentions")
    op.drop_table("abstentions")
    op.drop_index(
        "ix_tasks_lease_expiry", table_name="tasks", postgresql_where=sa.text("status = 'leased'")
    )
    op.drop_index(
        "ix_tasks_claimable", table_name="tasks", postgresql_where=sa.text("status = 'open'")
    )
    op.drop_index("ix_tasks_board_status", table_name="tasks")
    op.drop_table("tasks")
    op.drop_table("role_slots")
    op.drop_index("ix_claims_board_role_scope", table_name="claims")
    op.drop_index("ix_claims_board_agent", table_name="claims")
    op.drop_index(
        "ix_claims_active_expiry",
        table_name="claims",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.drop_table("claims")
