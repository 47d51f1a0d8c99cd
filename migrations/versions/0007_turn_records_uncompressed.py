"""turn records uncompressed: a turn's bundle and call are stored out of line as they are

A turn's bundle (some kilobytes of JSON) and its call (the messages sent to the model,
which carry the bundle again) are written once per turn and read rarely. Compressing them
(pglz; this PostgreSQL build has no lz4) cost a turn more server time than all of its
other writes together; the bytes it saved do not matter next to that.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("bundle", "call")


def _set_storage(storage: str) -> None:
    # affects what is written from now on; rows already stored keep their form
    changes = ", ".join(f"ALTER COLUMN {column} SET STORAGE {storage}" for column in _COLUMNS)
    op.execute(f"ALTER TABLE turns {changes}")


def upgrade() -> None:
    _set_storage("EXTERNAL")


def downgrade() -> None:
    _set_storage("EXTENDED")
