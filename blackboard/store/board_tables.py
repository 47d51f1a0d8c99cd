"""Agents, boards and their event counters, and the artifact types a board can hold.

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
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

from blackboard.store.table_base import now_column


class Agent(SQLModel, table=True):
    """A registered agent. The token is never stored, only its SHA-256."""

    __tablename__ = "agents"

    id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    capabilities: list[str] = Field(
        sa_column=Column(ARRAY(Text), nullable=False, server_default=text("'{}'"))
    )
    description: str | None = Field(default=None, sa_column=Column(Text))
    token_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # set for model-backed agents: the controller calls this model for their turns
    model_spec: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=now_column())
    last_seen_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class Board(SQLModel, table=True):
    """A board. Its event counter is in `board_seqs`."""

    __tablename__ = "boards"

    id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    mission: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=now_column())


class BoardSeq(SQLModel, table=True):
    """A board's event counter: the seq of its newest event (see store/events.py).

    Not a column of `boards`: every write to the board updates it, while the rows that name
    the board lock the board row (KEY SHARE) through their foreign keys; on one row the two
    turn its versions into multixacts that every lookup pays for (migration 0010). Nothing
    references this table.
    """

    __tablename__ = "board_seqs"

    board_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("boards.id"), primary_key=True)
    )
    last_seq: int = Field(sa_column=Column(BigInteger, nullable=False, server_default=text("0")))


class ArtifactType(SQLModel, table=True):
    """One version of a registered artifact type's JSON Schema."""

    __tablename__ = "artifact_types"
    __table_args__ = (PrimaryKeyConstraint("name", "version"),)

    name: str = Field(sa_column=Column(Text, nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    schema_: dict[str, Any] = Field(sa_column=Column("schema", JSONB, nullable=False))
    schema_hash: str = Field(sa_column=Column(Text, nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=now_column())
    # the compatibility mode this version was checked under ('none': not checked)
    compatibility: str = Field(
        sa_column=Column(Text, nullable=False, server_default=text("'backward'"))
    )
    # who registered it: 'operator' (the admin token) or 'standard types' (start-up)
    registered_by: str | None = Field(default=None, sa_column=Column(Text))
    # the type's mode this version breaks, when registered with 'none' over it
    overrode: str | None = Field(default=None, sa_column=Column(Text))


class ArtifactTypeMode(SQLModel, table=True):
    """The compatibility mode a type's next versions are checked under."""

    __tablename__ = "artifact_type_modes"

    name: str = Field(sa_column=Column(Text, primary_key=True))
    compatibility: str = Field(sa_column=Column(Text, nullable=False))
