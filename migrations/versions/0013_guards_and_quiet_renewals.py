"""Guarded keys, fencing tokens on versions, and renewals counted instead of logged

`guards` names the keys of a board that only a role's claim holder may write; every
version records the fencing token of the claim it was written under, and each key the
highest token a guarded write brought, so that the publish statement can refuse a lower
one. Claims and tasks count their renewals (and keep the last one's time) in the row:
renewing no longer appends an event.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "guards",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("board_id", UUID(as_uuid=True), nullable=False),
        sa.Column("key_pattern", sa.Text(), nullable=False),
        sa.Column("key_regex", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("scoped", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["board_id"], ["boards.id"], name="fk_guards_board_id_boards"),
        sa.PrimaryKeyConstraint("id", name="pk_guards"),
    )
    op.create_index("ix_guards_board_id", "guards", ["board_id"])
    op.add_column("artifacts", sa.Column("fencing_token", sa.BigInteger(), nullable=True))
    op.add_column("artifact_keys", sa.Column("fencing_token", sa.BigInteger(), nullable=True))
    for table in ("claims", "tasks"):
        op.add_column(table, sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=True))
        op.add_column(
            table, sa.Column("renewals", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )


def downgrade() -> None:
    for table in ("claims", "tasks"):
        op.drop_column(table, "renewals")
        op.drop_column(table, "renewed_at")
    op.drop_column("artifact_keys", "fencing_token")
    op.drop_column("artifacts", "fencing_token")
    op.drop_index("ix_guards_board_id", table_name="guards")
    op.drop_table("guards")
