"""ix_tasks_posted_by: a poster's own tasks, page by page

A2A callers list the tasks they posted (`ListTasks`), newest first, paged by a cursor on
(created_at, id). Without this index every page scanned all of the board service's tasks.
Tasks may now also be `cancelled` by their poster: `status` is free text, so that needs
no change here.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_tasks_posted_by", "tasks", ["posted_by", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_tasks_posted_by", table_name="tasks")
