"""core: agents, boards, types, artifacts, events

Revision ID: 0001
Revises:
Create Date: 2026-11-21 10:05:22.653704
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "capabilities",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("name", name=op.f("uq_agents_name")),
    )
    op.create_table(
        "artifact_types",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("schema", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("schema_hash", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", "version", name=op.f("pk_artifact_types")),
    )
    op.create_table(
        "boards",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("mission", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_boards")),
        sa.UniqueConstraint("name", name=op.f("uq_boards_name")),
    )
    op.create_table(
        "artifact_keys",
        sa.Column("board_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.Column("latest_id", sa.UUID(), nullable=True),
        sa.Column("latest_seq", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["board_id"], ["boards.id"], name=op.f("fk_artifact_keys_board_id_boards")
        ),
        sa.PrimaryKeyConstraint("board_id", "key", name=op.f("pk_artifact_keys")),
    )
    op.create_index(
        "ix_artifact_keys_board_latest_seq",
        "artifact_keys",
        ["board_id", "latest_seq"],
        unique=False,
    )
    op.create_index(
        "ix_artifact_keys_board_type_latest_seq",
        "artifact_keys",
        ["board_id", "type", "latest_seq"],
        unique=False,
    )
    op.create_table(
        "artifacts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("board_id", sa.UUID(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("type_version", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("author_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.Text(), nullable=True),
        sa.Column(
            "parents", postgresql.ARRAY(sa.UUID()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column(
            "tags", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("request_hash", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["agents.id"], name=op.f("fk_artifacts_author_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["board_id"], ["boards.id"], name=op.f("fk_artifacts_board_id_boards")
        ),
        sa.ForeignKeyConstraint(
            ["type", "type_version"],
            ["artifact_types.name", "artifact_types.version"],
            name="fk_artifacts_type_artifact_types",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifacts")),
        sa.UniqueConstraint(
            "board_id", "key", "version", name=op.f("uq_artifacts_board_id_key_version")
        ),
        sa.UniqueConstraint("board_id", "seq", name=op.f("uq_artifacts_board_id_seq")),
    )
    op.create_index(
        "ix_artifacts_board_author_seq", "artifacts", ["board_id", "author_id", "seq"], unique=False
    )
    op.create_index(
        "ix_artifacts_board_type_seq", "artifacts", ["board_id", "type", "seq"], unique=False
    )
    op.create_index(
        "ix_artifacts_parents", "artifacts", ["parents"], unique=False, postgresql_using="gin"
    )
    op.create_index(
        "ix_artifacts_tags", "artifacts", ["tags"], unique=False, postgresql_using="gin"
    )
    op.create_index(
        "uq_artifacts_idempotency",
        "artifacts",
        ["author_id", "board_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_table(
        "events",
        sa.Column("board_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column("subject_id", sa.UUID(), nullable=True),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["board_id"], ["boards.id"], name=op.f("fk_events_board_id_boards")
        ),
        sa.PrimaryKeyConstraint("board_id", "seq", name=op.f("pk_events")),
    )
    op.create_index("ix_events_board_kind_seq", "events", ["board_id", "kind", "seq"], unique=False)
    op.create_table(
        "artifact_retractions",
        sa.Column("artifact_id", sa.UUID(), nullable=False),
        sa.Column("board_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["agents.id"], name=op.f("fk_artifact_retractions_actor_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.id"],
            name=op.f("fk_artifact_retractions_artifact_id_artifacts"),
        ),
        sa.ForeignKeyConstraint(
            ["board_id"], ["boards.id"], name=op.f("fk_artifact_retractions_board_id_boards")
        ),
        sa.PrimaryKeyConstraint("artifact_id", name=op.f("pk_artifact_retractions")),
    )


def downgrade() -> None:
    op.drop_table("artifact_retractions")
    op.drop_index("ix_events_board_kind_seq", table_name="events")
    op.drop_table("events")
    op.drop_index(
        "uq_artifacts_idempotency",
        table_name="artifacts",
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.drop_index("ix_artifacts_tags", table_name="artifacts", postgresql_using="gin")
    op.drop_index("ix_artifacts_parents", table_name="artifacts", postgresql_using="gin")
    op.drop_index("ix_artifacts_board_type_seq", table_name="artifacts")
    op.drop_index("ix_artifacts_board_author_seq", table_name="artifacts")
    op.drop_table("artifacts")
    op.drop_index("ix_artifact_keys_board_type_latest_seq", table_name="artifact_keys")
    op.drop_index("ix_artifact_keys_board_latest_seq", table_name="artifact_keys")
    op.drop_table("artifact_keys")
    op.drop_table("boards")
    op.drop_table("artifact_types")
    op.drop_table("agents")
