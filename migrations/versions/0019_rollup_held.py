"""role holdings per 1 min and 1 h bucket, so that reading them never joins every claim

`rollup_held` keeps, per bucket, the agents that held a role by a claim that has ended
(store/rollups.py, HELD); open claims stay in rollup_holdings, found by its new index on
held_until, which also finds the claims ended after a recent range starts. The upgrade
back-fills rollup_held from the ended claims of rollup_holdings, in batches, logging its
progress, with the statement the service uses; it reads no board's log, so writers are
never locked out (roll-up passes of a previous version wait for it: see `backfill`).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from blackboard.store import rollups

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

_INDEX = "ix_rollup_holdings_board_id_held_until"

# The next `limit` ended claims after (board_id, claim_id) (None: from the first), in key
# order, into rollup_held; returns the last one's key and how many there were (no row:
# none left).
_BATCH = f"""
WITH ended AS (
    SELECT * FROM rollup_holdings
    WHERE held_until IS NOT NULL
      AND (%(board_id)s::uuid IS NULL OR (board_id, claim_id) > (%(board_id)s, %(claim_id)s))
    ORDER BY board_id, claim_id LIMIT %(limit)s
), written AS (
    {rollups.HOLD_BUCKETS}
)
SELECT board_id, claim_id, (SELECT count(*) FROM ended) AS n
FROM ended ORDER BY board_id DESC, claim_id DESC LIMIT 1
"""


def upgrade() -> None:
    op.create_table(
        "rollup_held",
        sa.Column("board_id", sa.UUID(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint(
            "board_id", "size", "bucket", "role", "agent_id", name=op.f("pk_rollup_held")
        ),
    )
    op.create_index(_INDEX, "rollup_holdings", ["board_id", "held_until"])
    backfill()


def backfill() -> None:
    """Put every claim ended so far into rollup_held, batch by batch."""
    conn = op.get_bind()
    # A roll-up pass of a process still on the previous version would end claims after
    # their batch was read here, and they would never reach rollup_held: its writes to
    # rollup_holdings wait for this transaction instead (board writes never touch it).
    conn.exec_driver_sql("LOCK TABLE rollup_holdings IN SHARE MODE")
    total = conn.exec_driver_sql(
        "SELECT count(*) FROM rollup_holdings WHERE held_until IS NOT NULL"
    ).scalar_one()
    args: dict[str, object] = {"board_id": None, "claim_id": None, "limit": rollups.BATCH}
    done = 0
    while row := conn.exec_driver_sql(_BATCH, args).one_or_none():
        args |= {"board_id": row.board_id, "claim_id": row.claim_id}
        done += row.n
        if total >= rollups.BATCH * 4:
            log.info("held back-fill: %d of %d ended claims", done, total)
    log.info("held back-fill: %d ended claims", done)


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="rollup_holdings")
    op.drop_table("rollup_held")
