"""message_tasks: the task each A2A message posted, by its sender's messageId

A client that retries SendMessage (after a timeout, say) sends the same messageId again;
the second attempt now answers with the task the first one posted.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_tasks",
        sa.Column("poster_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("task_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["poster_id"], ["agents.id"], name="fk_message_tasks_poster_id_agents"
        ),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name="fk_message_tasks_task_id_tasks"),
        sa.PrimaryKeyConstraint("poster_id", "message_id", name="pk_message_tasks"),
    )


def downgrade() -> None:
    op.drop_table("message_tasks")
