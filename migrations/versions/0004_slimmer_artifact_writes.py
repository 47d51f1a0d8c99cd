"""slimmer artifact writes: fewer indexes and foreign keys on the hottest table

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 10:56:39.544248
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate may emit sqlmodel types)
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index(op.f("ix_artifacts_board_author_seq"), table_name="artifacts")
    op.drop_constraint(op.f("fk_artifacts_type_artifact_types"), "artifacts", type_="foreignkey")
    op.drop_constraint(op.f("fk_artifacts_author_id_agents"), "artifacts", type_="foreignkey")
    for column in ("parents", "tags"):
        op.drop_index(f"ix_artifacts_{column}", table_name="artifacts")
        op.create_index(
            f"ix_artifacts_{column}",
            "artifacts",
            [column],
            postgresql_using="gin",
            postgresql_where=sa.text(f"{column} <> '{{}}'"),
        )


def downgrade() -> None:
    for column in ("parents", "tags"):
        op.drop_index(f"ix_artifacts_{column}", table_name="artifacts")
        op.create_index(f"ix_artifacts_{column}", "artifacts", [column], postgresql_using="gin")
    op.create_foreign_key(
        op.f("fk_artifacts_author_id_agents"), "artifacts", "agents", ["author_id"], ["id"]
    )
    op.create_foreign_key(
        op.f("fk_artifacts_type_artifact_types"),
        "artifacts",
        "artifact_types",
        ["type", "type_version"],
        ["name", "version"],
    )
    op.create_index(
        op.f("ix_artifacts_board_author_seq"),
        "artifacts",
        ["board_id", "author_id", "seq"],
        unique=False,
    )
