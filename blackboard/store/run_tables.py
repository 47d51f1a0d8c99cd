"""Runs and their turns.

Part of the schema; store/tables.py registers every table in one `metadata`.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

from blackboard.store.table_base import now_column


class Run(SQLModel, table=True):
    """One execution of a coordination protocol on a board: its parameters and progress.

    Driven by one controller at a time: `controller` holds a lease until `lease_expires_at`,
    with `lease_token` going up at every takeover so a former driver's writes are refused.
    """

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_board_created", "board_id", "created_at"),
        Index(
            "ix_runs_drivable",
            "lease_expires_at",
            postgresql_where=text("status IN ('pending', 'running')"),
        ),
    )

    id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    board_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("boards.id"), nullable=False)
    )
    protocol: str = Field(sa_column=Column(Text, nullable=False))
    roster: list[UUID] = Field(sa_column=Column(ARRAY(PG_UUID(as_uuid=True)), nullable=False))
    goal: str | None = Field(default=None, sa_column=Column(Text))
    goal_id: UUID | None = Field(default=None, sa_column=Column(PG_UUID(as_uuid=True)))
    params: dict[str, Any] = Field(
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'"))
    )
    status: str = Field(sa_column=Column(Text, nullable=False))  # pending|running|completed|stopped
    stop_reason: str | None = Field(default=None, sa_column=Column(Text))
    turns_used: int = Field(sa_column=Column(Integer, nullable=False, server_default=text("0")))
    tokens_used: int = Field(sa_column=Column(Integer, nullable=False, server_default=text("0")))
    controller: str | None = Field(default=None, sa_column=Column(Text))
    lease_token: int = Field(sa_column=Column(BigInteger, nullable=False, server_default=text("0")))
    lease_expires_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True))
    )
    created_at: datetime = Field(sa_column=now_column())
    started_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    ended_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class Turn(SQLModel, table=True):
    """One step of a run offered to one agent: what it was shown, and what it did.

    `step` numbers the turns of a run in the order the program offers them; it is unique,
    so a controller that resumes a run finds the turns already offered instead of
    offering them again.
    """

    __tablename__ = "turns"
    __table_args__ = (
        UniqueConstraint("run_id", "step"),
        Index("ix_turns_agent_status", "agent_id", "status"),
        Index(
            "ix_turns_open_deadline",
            "deadline",
            postgresql_where=text("status = 'offered'"),
        ),
    )

    id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    run_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("runs.id"), nullable=False)
    )
    board_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("boards.id"), nullable=False)
    )
    agent_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("agents.id"), nullable=False)
    )
    step: int = Field(sa_column=Column(Integer, nullable=False))
    round: int = Field(sa_column=Column(Integer, nullable=False))
    phase: str = Field(sa_column=Column(Text, nullable=False))
    # offered|completed|abstained|timed_out|invalid
    status: str = Field(sa_column=Column(Text, nullable=False))
    deadline: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    bundle: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    manifest: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    role: str | None = Field(default=None, sa_column=Column(Text))
    rationale: str | None = Field(default=None, sa_column=Column(Text))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    artifact_ids: list[UUID] = Field(
        sa_column=Column(ARRAY(PG_UUID(as_uuid=True)), nullable=False, server_default=text("'{}'"))
    )
    claim_id: UUID | None = Field(default=None, sa_column=Column(PG_UUID(as_uuid=True)))
    call: dict[str, Any] = Field(
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'"))
    )
    created_at: datetime = Field(sa_column=now_column())
    completed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
