"""The metric roll-ups: a board's event log summed per time bucket, kept current from the
log by a watermark (see store/rollups.py), so that a metrics request reads sums, never
the history behind them.

A bucket is a whole number of seconds since the board's creation (`origin`): bucket `b`
at size `s` covers [origin + b*s, origin + (b+1)*s). Tables whose series are read over
long ranges keep three sizes (1 s, 1 min, 1 h) and a read takes the coarsest one that
its range and windows are aligned to. Imported by store/tables.py: one metadata.
"""

from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel


def _uuid(*, primary_key: bool = False) -> Column[UUID]:
    return Column(PG_UUID(as_uuid=True), nullable=False, primary_key=primary_key)


def _bigint() -> Column[int]:
    return Column(BigInteger, nullable=False)


class RollupMark(SQLModel, table=True):
    """A board's watermark: every event up to `last_seq` is in the roll-ups. Whoever rolls
    the board up holds this row's lock for the batch (the lease)."""

    __tablename__ = "rollup_marks"

    board_id: UUID = Field(sa_column=_uuid(primary_key=True))
    origin: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_seq: int = Field(sa_column=Column(BigInteger, nullable=False, server_default="0"))
    # versions beyond the first of every hash more than one agent published (a running
    # total: the board-wide duplicate count without summing rollup_contents)
    duplicate_versions: int = Field(
        sa_column=Column(BigInteger, nullable=False, server_default="0")
    )


class RollupActivity(SQLModel, table=True):
    """Events per bucket."""

    __tablename__ = "rollup_activity"
    __table_args__ = (PrimaryKeyConstraint("board_id", "size", "bucket"),)

    board_id: UUID = Field(sa_column=_uuid())
    size: int = Field(sa_column=Column(Integer, nullable=False))
    bucket: int = Field(sa_column=_bigint())
    events: int = Field(sa_column=_bigint())


class RollupLedger(SQLModel, table=True):
    """Ledger events (claims, abstentions, tasks) per bucket, kind, actor and role. No actor
    is the nil UUID and no role '' (key columns cannot be NULL)."""

    __tablename__ = "rollup_ledger"
    __table_args__ = (
        PrimaryKeyConstraint("board_id", "size", "bucket", "kind", "actor_id", "role"),
    )

    board_id: UUID = Field(sa_column=_uuid())
    size: int = Field(sa_column=Column(Integer, nullable=False))
    bucket: int = Field(sa_column=_bigint())
    kind: str = Field(sa_column=Column(Text, nullable=False))
    actor_id: UUID = Field(sa_column=_uuid())
    role: str = Field(sa_column=Column(Text, nullable=False))
    n: int = Field(sa_column=_bigint())


class RollupRoleRun(SQLModel, table=True):
    """One agent's role claims in one bucket: how many, the first and last role claimed,
    and the flips between them; flips across buckets are read from first/last."""

    __tablename__ = "rollup_role_runs"
    __table_args__ = (PrimaryKeyConstraint("board_id", "size", "agent_id", "bucket"),)

    board_id: UUID = Field(sa_column=_uuid())
    size: int = Field(sa_column=Column(Integer, nullable=False))
    agent_id: UUID = Field(sa_column=_uuid())
    bucket: int = Field(sa_column=_bigint())
    claims: int = Field(sa_column=_bigint())
    first_role: str = Field(sa_column=Column(Text, nullable=False))
    last_role: str = Field(sa_column=Column(Text, nullable=False))
    flips: int = Field(sa_column=_bigint())


class RollupHolding(SQLModel, table=True):
    """One role claim as a holding: held from bucket `held_from` (floor of its start) until
    `held_until` (ceiling of its release or expiry; NULL while it lasts)."""

    __tablename__ = "rollup_holdings"
    __table_args__ = (
        PrimaryKeyConstraint("board_id", "claim_id"),
        Index("ix_rollup_holdings_board_id_held_from", "board_id", "held_from"),
        # Reads take the claims still open (NULLs sort last in it) or ended after a range
        # starts: few, for the recent ranges asked most (rollup_reads.holdings).
        Index("ix_rollup_holdings_board_id_held_until", "board_id", "held_until"),
    )

    board_id: UUID = Field(sa_column=_uuid())
    claim_id: UUID = Field(sa_column=_uuid())
    role: str = Field(sa_column=Column(Text, nullable=False))
    agent_id: UUID = Field(sa_column=_uuid())
    held_from: int = Field(sa_column=_bigint())
    held_until: int | None = Field(default=None, sa_column=Column(BigInteger))


class RollupHeld(SQLModel, table=True):
    """An agent held a role at some moment of a bucket, by a claim that has ended (open
    claims are read from rollup_holdings). Kept at 1 min and 1 h only: at 1 s, a claim held
    for a day would be 86,400 rows."""

    __tablename__ = "rollup_held"
    __table_args__ = (PrimaryKeyConstraint("board_id", "size", "bucket", "role", "agent_id"),)

    board_id: UUID = Field(sa_column=_uuid())
    size: int = Field(sa_column=Column(Integer, nullable=False))
    bucket: int = Field(sa_column=_bigint())
    role: str = Field(sa_column=Column(Text, nullable=False))
    agent_id: UUID = Field(sa_column=_uuid())


class RollupTask(SQLModel, table=True):
    """A posted task: when, and once completed, in which bucket and after how long."""

    __tablename__ = "rollup_tasks"
    __table_args__ = (
        PrimaryKeyConstraint("board_id", "task_id"),
        Index(
            "ix_rollup_tasks_board_id_completed",
            "board_id",
            "completed",
            postgresql_where=text("completed IS NOT NULL"),
        ),
    )

    board_id: UUID = Field(sa_column=_uuid())
    task_id: UUID = Field(sa_column=_uuid())
    posted_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    completed: int | None = Field(default=None, sa_column=Column(BigInteger))
    latency_s: float | None = Field(default=None, sa_column=Column(Float))


class RollupPublish(SQLModel, table=True):
    """Artifact versions per bucket and author."""

    __tablename__ = "rollup_publishes"
    __table_args__ = (PrimaryKeyConstraint("board_id", "size", "bucket", "agent_id"),)

    board_id: UUID = Field(sa_column=_uuid())
    size: int = Field(sa_column=Column(Integer, nullable=False))
    bucket: int = Field(sa_column=_bigint())
    agent_id: UUID = Field(sa_column=_uuid())
    n: int = Field(sa_column=_bigint())


class RollupBuiltOn(SQLModel, table=True):
    """Versions by `consumer` with a parent by `producer` (another agent), per bucket."""

    __tablename__ = "rollup_built_on"
    __table_args__ = (PrimaryKeyConstraint("board_id", "size", "bucket", "producer", "consumer"),)

    board_id: UUID = Field(sa_column=_uuid())
    size: int = Field(sa_column=Column(Integer, nullable=False))
    bucket: int = Field(sa_column=_bigint())
    producer: UUID = Field(sa_column=_uuid())
    consumer: UUID = Field(sa_column=_uuid())
    n: int = Field(sa_column=_bigint())


class RollupToken(SQLModel, table=True):
    """Word counts of published content per bucket: a window's entropy is a sum of these."""

    __tablename__ = "rollup_tokens"
    __table_args__ = (PrimaryKeyConstraint("board_id", "size", "bucket", "token"),)

    board_id: UUID = Field(sa_column=_uuid())
    size: int = Field(sa_column=Column(Integer, nullable=False))
    bucket: int = Field(sa_column=_bigint())
    token: str = Field(sa_column=Column(Text, nullable=False))
    n: int = Field(sa_column=_bigint())


class RollupContent(SQLModel, table=True):
    """One content hash of a board: its first version, its authors, its versions. While a
    single author has published it, `seqs` holds them; once a second does, it is
    `duplicated` and its versions are in rollup_duplicates instead."""

    __tablename__ = "rollup_contents"
    __table_args__ = (
        PrimaryKeyConstraint("board_id", "content_hash"),
        Index(
            "ix_rollup_contents_board_id_first_seq",
            "board_id",
            "first_seq",
            postgresql_where=text("duplicated"),
        ),
    )

    board_id: UUID = Field(sa_column=_uuid())
    content_hash: str = Field(sa_column=Column(Text, nullable=False))
    first_seq: int = Field(sa_column=_bigint())
    authors: list[UUID] = Field(sa_column=Column(ARRAY(PG_UUID(as_uuid=True)), nullable=False))
    versions: int = Field(sa_column=_bigint())
    seqs: list[int] = Field(sa_column=Column(ARRAY(BigInteger), nullable=False))
    duplicated: bool = Field(sa_column=Column(Boolean, nullable=False))


class RollupDuplicate(SQLModel, table=True):
    """A version whose content more than one agent has published."""

    __tablename__ = "rollup_duplicates"
    __table_args__ = (
        PrimaryKeyConstraint("board_id", "content_hash", "seq"),
        Index("ix_rollup_duplicates_board_id_bucket", "board_id", "bucket"),
    )

    board_id: UUID = Field(sa_column=_uuid())
    content_hash: str = Field(sa_column=Column(Text, nullable=False))
    seq: int = Field(sa_column=_bigint())
    bucket: int = Field(sa_column=_bigint())
    author_id: UUID = Field(sa_column=_uuid())
    artifact_id: UUID = Field(sa_column=_uuid())
