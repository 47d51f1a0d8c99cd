"""Compatibility modes per artifact type, and how each version was checked and by whom

A type's next version is checked against its newest under the type's mode (backward by
default) and refused if it breaks it, unless registered with 'none': such an override is
recorded on the version, with the mode it broke and who registered it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "artifact_types",
        sa.Column("compatibility", sa.Text(), nullable=False, server_default="backward"),
    )
    op.add_column("artifact_types", sa.Column("registered_by", sa.Text(), nullable=True))
    op.add_column("artifact_types", sa.Column("overrode", sa.Text(), nullable=True))
    op.create_table(
        "artifact_type_modes",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("compatibility", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_artifact_type_modes")),
    )


def downgrade() -> None:
    op.drop_table("artifact_type_modes")
    op.drop_column("artifact_types", "overrode")
    op.drop_column("artifact_types", "registered_by")
    op.drop_column("artifact_types", "compatibility")
