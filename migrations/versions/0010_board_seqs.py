"""board seqs in a table of their own: the event counter moves from `boards.last_seq` to
`board_seqs`

Every write to a board updates its counter, and rows that name the board (tasks, claims,
abstentions, runs...) take a KEY SHARE lock on the board row through their foreign key.
On one row the two made PostgreSQL record a multixact for each overlap, and every later
lookup of the counter walked past those row versions, reading each one's multixact
members, until a VACUUM: after 4,320 tasks posted over HTTP, claiming and completing
them cost 14-20% more PostgreSQL CPU than after a `VACUUM boards`. No foreign key names a
`board_seqs` row, so its versions never carry one; the board row is no longer updated.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "board_seqs",
        sa.Column("board_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["board_id"], ["boards.id"], name=op.f("fk_board_seqs_board_id_boards")
        ),
        sa.PrimaryKeyConstraint("board_id", name=op.f("pk_board_seqs")),
    )
    op.execute("INSERT INTO board_seqs (board_id, last_seq) SELECT id, last_seq FROM boards")
    op.drop_column("boards", "last_seq")


def downgrade() -> None:
    op.add_column(
        "boards",
        sa.Column("last_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.execute(
        "UPDATE boards b SET last_seq = s.last_seq FROM board_seqs s WHERE s.board_id = b.id"
    )
    op.drop_table("board_seqs")
