"""blackboard_take_seqs(): take a board's next event seqs in a statement of its own

Every write numbers its events by raising its board's counter (`board_seqs`), and a
write that finds the row locked waits for the holder to commit. PostgreSQL then
re-checks the row's newer version by starting the waiting statement's plan a second
time (EvalPlanQual), and writes are single statements of a dozen CTEs: under contention
that second start took 8% of the database's CPU. Raised inside a function, the counter's
UPDATE is a statement of its own, and only its one-line plan is started again.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Returns the board's last seq before the `n` taken (NULL if there is no such board):
    # the new events are base + 1 .. base + n. VOLATILE, so that it is never inlined.
    op.execute(
        """
        CREATE FUNCTION blackboard_take_seqs(board uuid, n bigint) RETURNS bigint
        LANGUAGE sql VOLATILE STRICT
        AS 'UPDATE board_seqs SET last_seq = last_seq + n WHERE board_id = board
            RETURNING last_seq - n'
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION blackboard_take_seqs(uuid, bigint)")
