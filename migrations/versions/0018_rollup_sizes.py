"""ledger and role-run roll-ups at 1 s, 1 min and 1 h, as the other series are

A metrics request then reads a bounded number of rows of them for any range (the coarsest
bucket size the range is aligned to), not one per claim. The upgrade adds the `size`
column, empties the roll-ups and sums every board's log again (store/rollups.py), in
batches, logging its progress, as 0017 did; it only reads the log, so writers are never
locked out.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from blackboard.store import rollups

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

_PKS = {
    "rollup_ledger": ("board_id", "bucket", "kind", "actor_id", "role"),
    "rollup_role_runs": ("board_id", "agent_id", "bucket"),
}
_SIZED = {
    "rollup_ledger": ("board_id", "size", "bucket", "kind", "actor_id", "role"),
    "rollup_role_runs": ("board_id", "size", "agent_id", "bucket"),
}


# The service's roll-up as of this revision: rollup_held comes with 0019, which back-fills
# it from rollup_holdings.
_TABLES = [t for t in rollups.TABLES if t not in ("rollup_marks", "rollup_held")]
_STATEMENTS = [s for s in rollups.STATEMENTS if s is not rollups.HELD]


def _empty() -> None:
    """Empty every roll-up and set every watermark back to the start of its log."""
    op.execute(f"TRUNCATE {', '.join(_TABLES)}")
    op.execute("UPDATE rollup_marks SET last_seq = 0, duplicate_versions = 0")


def _rekey(table: str, cols: Sequence[str]) -> None:
    op.drop_constraint(op.f(f"pk_{table}"), table, type_="primary")
    op.create_primary_key(op.f(f"pk_{table}"), table, list(cols))


def upgrade() -> None:
    _empty()
    for table, cols in _SIZED.items():
        op.add_column(table, sa.Column("size", sa.Integer(), nullable=False))
        _rekey(table, cols)
    op.execute("DELETE FROM rollup_marks")
    backfill()


def backfill() -> None:
    """Sum every board's log so far, batch by batch, with the statements the service uses."""
    conn = op.get_bind()
    conn.exec_driver_sql(
        "INSERT INTO rollup_marks (board_id, origin) SELECT id, created_at FROM boards"
    )
    boards = conn.exec_driver_sql(
        "SELECT m.board_id, m.origin, s.last_seq FROM rollup_marks m"
        " JOIN board_seqs s USING (board_id) WHERE s.last_seq > 0 ORDER BY s.last_seq"
    ).all()
    total = sum(last for _, _, last in boards)
    done = 0
    for n, (board_id, origin, last) in enumerate(boards, 1):
        for lo in range(0, last, rollups.BATCH):
            hi = min(lo + rollups.BATCH, last)
            args = rollups.batch_args(board_id, origin, lo, hi)
            for statement in _STATEMENTS:
                conn.exec_driver_sql(statement, args)
            conn.exec_driver_sql(
                "UPDATE rollup_marks SET last_seq = %(hi)s WHERE board_id = %(board_id)s", args
            )
            done += hi - lo
            if total >= rollups.BATCH * 4:
                log.info(
                    "roll-up back-fill: board %d of %d, %d of %d events",
                    n,
                    len(boards),
                    done,
                    total,
                )
    log.info("roll-up back-fill: %d boards, %d events", len(boards), total)


def downgrade() -> None:
    _empty()
    for table, cols in _PKS.items():
        _rekey(table, cols)
        op.drop_column(table, "size")
