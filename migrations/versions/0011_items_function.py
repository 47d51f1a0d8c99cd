"""blackboard_items(): the elements of a jsonb list, estimated as a few rows

Statements take their lists (a group's tasks, a publish's parents) as one jsonb parameter.
PostgreSQL plans a prepared statement once for any values only if that plan looks no
dearer than planning for the values at hand; `unnest` over an array is estimated by the
array's length in the one case and as 10 rows in the other, so a statement completing
tasks was planned anew on every execution (0.7 ms each). `jsonb_array_elements` is
estimated alike either way but as 100 rows, and a plan made for 100 tasks joins them by
scanning the tasks table. This function says 4 (it is STRICT so that it is not inlined
into its caller, which would lose its estimate): lists here are short, and looked up row
by row through their primary keys.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION blackboard_items(list jsonb) RETURNS SETOF jsonb
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE ROWS 4
        AS 'SELECT jsonb_array_elements(list)'
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION blackboard_items(jsonb)")
