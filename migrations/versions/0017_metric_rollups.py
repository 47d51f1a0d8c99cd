"""metric roll-ups: every board's event log summed per time bucket, kept by a watermark

Metrics read these sums instead of the history behind them (store/rollup_tables.py).
Existing boards are back-filled by 0018, with the statements of the tables' final shape.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = [
    "rollup_duplicates",
    "rollup_contents",
    "rollup_tokens",
    "rollup_built_on",
    "rollup_publishes",
    "rollup_tasks",
    "rollup_holdings",
    "rollup_role_runs",
    "rollup_ledger",
    "rollup_activity",
    "rollup_marks",
]


def _c(name: str, kind: sa.types.TypeEngine, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, kind, nullable=nullable)


def _board() -> sa.Column:  # type: ignore[type-arg]
    return _c("board_id", sa.UUID())


def _sized() -> list[sa.Column]:  # type: ignore[type-arg]
    return [_board(), _c("size", sa.Integer()), _c("bucket", sa.BigInteger())]


def _pk(table: str, *cols: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(*cols, name=op.f(f"pk_{table}"))


def upgrade() -> None:
    op.create_table(
        "rollup_marks",
        _board(),
        _c("origin", sa.DateTime(timezone=True)),
        sa.Column("last_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("duplicate_versions", sa.BigInteger(), server_default="0", nullable=False),
        _pk("rollup_marks", "board_id"),
    )
    op.create_table(
        "rollup_activity",
        *_sized(),
        _c("events", sa.BigInteger()),
        _pk("rollup_activity", "board_id", "size", "bucket"),
    )
    op.create_table(
        "rollup_ledger",
        _board(),
        _c("bucket", sa.BigInteger()),
        _c("kind", sa.Text()),
        _c("actor_id", sa.UUID()),
        _c("role", sa.Text()),
        _c("n", sa.BigInteger()),
        _pk("rollup_ledger", "board_id", "bucket", "kind", "actor_id", "role"),
    )
    op.create_table(
        "rollup_role_runs",
        _board(),
        _c("agent_id", sa.UUID()),
        _c("bucket", sa.BigInteger()),
        _c("claims", sa.BigInteger()),
        _c("first_role", sa.Text()),
        _c("last_role", sa.Text()),
        _c("flips", sa.BigInteger()),
        _pk("rollup_role_runs", "board_id", "agent_id", "bucket"),
    )
    op.create_table(
        "rollup_holdings",
        _board(),
        _c("claim_id", sa.UUID()),
        _c("role", sa.Text()),
        _c("agent_id", sa.UUID()),
        _c("held_from", sa.BigInteger()),
        _c("held_until", sa.BigInteger(), nullable=True),
        _pk("rollup_holdings", "board_id", "claim_id"),
    )
    op.create_index(
        "ix_rollup_holdings_board_id_held_from", "rollup_holdings", ["board_id", "held_from"]
    )
    op.create_table(
        "rollup_tasks",
        _board(),
        _c("task_id", sa.UUID()),
        _c("posted_at", sa.DateTime(timezone=True)),
        _c("completed", sa.BigInteger(), nullable=True),
        _c("latency_s", sa.Float(), nullable=True),
        _pk("rollup_tasks", "board_id", "task_id"),
    )
    op.create_index(
        "ix_rollup_tasks_board_id_completed",
        "rollup_tasks",
        ["board_id", "completed"],
        postgresql_where=sa.text("completed IS NOT NULL"),
    )
    op.create_table(
        "rollup_publishes",
        *_sized(),
        _c("agent_id", sa.UUID()),
        _c("n", sa.BigInteger()),
        _pk("rollup_publishes", "board_id", "size", "bucket", "agent_id"),
    )
    op.create_table(
        "rollup_built_on",
        *_sized(),
        _c("producer", sa.UUID()),
        _c("consumer", sa.UUID()),
        _c("n", sa.BigInteger()),
        _pk("rollup_built_on", "board_id", "size", "bucket", "producer", "consumer"),
    )
    op.create_table(
        "rollup_tokens",
        *_sized(),
        _c("token", sa.Text()),
        _c("n", sa.BigInteger()),
        _pk("rollup_tokens", "board_id", "size", "bucket", "token"),
    )
    op.create_table(
        "rollup_contents",
        _board(),
        _c("content_hash", sa.Text()),
        _c("first_seq", sa.BigInteger()),
        _c("authors", postgresql.ARRAY(sa.UUID())),
        _c("versions", sa.BigInteger()),
        _c("seqs", postgresql.ARRAY(sa.BigInteger())),
        _c("duplicated", sa.Boolean()),
        _pk("rollup_contents", "board_id", "content_hash"),
    )
    op.create_index(
        "ix_rollup_contents_board_id_first_seq",
        "rollup_contents",
        ["board_id", "first_seq"],
        postgresql_where=sa.text("duplicated"),
    )
    op.create_table(
        "rollup_duplicates",
        _board(),
        _c("content_hash", sa.Text()),
        _c("seq", sa.BigInteger()),
        _c("bucket", sa.BigInteger()),
        _c("author_id", sa.UUID()),
        _c("artifact_id", sa.UUID()),
        _pk("rollup_duplicates", "board_id", "content_hash", "seq"),
    )
    op.create_index(
        "ix_rollup_duplicates_board_id_bucket", "rollup_duplicates", ["board_id", "bucket"]
    )


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
