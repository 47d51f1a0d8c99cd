"""Role claims and their fencing counters, key guards, and the abstentions ledger.

Part of the schema; store/tables.py registers every table in one `metadata`.
"""

from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

from blackboard.store.table_base import now_column


class RoleSlot(SQLModel, table=True):
    """One (board, role, scope): its fencing-token counter, and the row claimers lock.

    Claimers of the same slot queue on this row, so "is anyone else holding it?" and
    "take it" happen as one step, and fencing tokens only ever go up.
    """

    __tablename__ = "role_slots"
    __table_args__ = (PrimaryKeyConstraint("board_id", "role", "scope"),)

    board_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("boards.id"), nullable=False)
    )
    role: str = Field(sa_column=Column(Text, nullable=False))
    scope: str = Field(sa_column=Column(Text, nullable=False))
    last_fencing_token: int = Field(sa_column=Column(BigInteger, nullable=False))


class Claim(SQLModel, table=True):
    """A role claimed by an agent on a board, with a lease. Never deleted: the ledger."""

    __tablename__ = "claims"
    __table_args__ = (
        Index("ix_claims_board_role_scope", "board_id", "role", "scope"),
        Index("ix_claims_board_agent", "board_id", "agent_id"),
        Index(
            "ix_claims_active_expiry",
            "expires_at",
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    board_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("boards.id"), nullable=False)
    )
    agent_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("agents.id"), nullable=False)
    )
    role: str = Field(sa_column=Column(Text, nullable=False))
    scope: str = Field(sa_column=Column(Text, nullable=False))
    exclusive: bool = Field(sa_column=Column(Boolean, nullable=False))
    fencing_token: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))  # active|released|expired
    rationale: str | None = Field(default=None, sa_column=Column(Text))
    confidence: float | None = Field(default=None, sa_column=Column(Float))
    created_at: datetime = Field(sa_column=now_column())
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    renewed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    renewals: int = Field(sa_column=Column(Integer, nullable=False, server_default=text("0")))


class Guard(SQLModel, table=True):
    """Keys of a board that only the holder of a role's claim may write (see store/guards)."""

    __tablename__ = "guards"
    __table_args__ = (Index("ix_guards_board_id", "board_id"),)

    id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    board_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("boards.id"), nullable=False)
    )
    key_pattern: str = Field(sa_column=Column(Text, nullable=False))
    key_regex: str = Field(sa_column=Column(Text, nullable=False))  # captures the scope
    role: str = Field(sa_column=Column(Text, nullable=False))
    scoped: bool = Field(sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(sa_column=now_column())


class Abstention(SQLModel, table=True):
    """An agent declining a scope, role or task, with its reason. Append-only."""

    __tablename__ = "abstentions"
    __table_args__ = (
        Index("ix_abstentions_board_created", "board_id", "created_at"),
        Index("ix_abstentions_task_agent", "task_id", "agent_id"),
    )

    id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    board_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("boards.id"), nullable=False)
    )
    agent_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("agents.id"), nullable=False)
    )
    scope: str | None = Field(default=None, sa_column=Column(Text))
    role: str | None = Field(default=None, sa_column=Column(Text))
    task_id: UUID | None = Field(
        default=None, sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("tasks.id"))
    )
    reason: str = Field(sa_column=Column(Text, nullable=False))
    confidence: float | None = Field(default=None, sa_column=Column(Float))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(sa_column=now_column())
