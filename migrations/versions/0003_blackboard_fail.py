"""blackboard_fail(): raise a domain error from inside a statement

A publish is one statement (so the board's seq lock is held for as short as possible);
checks that can only be made inside it — the key's type, expected_version — abort it
with SQLSTATE BB001, which the store turns into the matching domain error.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION blackboard_fail(code text, detail jsonb) RETURNS integer
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            RAISE EXCEPTION USING ERRCODE = 'BB001', MESSAGE = code, DETAIL = detail::text;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION blackboard_fail(text, jsonb)")
