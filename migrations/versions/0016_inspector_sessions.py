"""inspector_sessions: the inspector's logins, kept server-side

The inspector's cookie held the raw bearer token; it now holds a random session id whose
SHA-256 is a row here, with who logged in, a hash of the token used and an expiry.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inspector_sessions",
        sa.Column("id_hash", sa.LargeBinary(), nullable=False),
        sa.Column("agent_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name="fk_inspector_sessions_agent_id_agents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_hash", name="pk_inspector_sessions"),
    )
    op.create_index("ix_inspector_sessions_expires_at", "inspector_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_inspector_sessions_expires_at", table_name="inspector_sessions")
    op.drop_table("inspector_sessions")
