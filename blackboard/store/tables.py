"""The schema, as SQLModel tables. Alembic revisions must match this file exactly
(a test runs autogenerate against a migrated database and expects no difference).

Append-only by design: artifact versions, retractions and events are only ever
inserted. The mutable rows are `boards.last_seq` (the per-board event counter) and
`artifact_keys` (the per-key version counter and pointer to the current version).
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

# Stable constraint names: the store translates violations by name (e.g.
# uq_artifacts_idempotency → the same artifact again), so names must not drift.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata: MetaData = SQLModel.metadata


def _now() -> Column[Any]:
    return Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))


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
    created_at: datetime = Field(sa_column=_now())
    last_seen_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class Board(SQLModel, table=True):
    """A board. `last_seq` is the board's event counter (see store/events.py)."""

    __tablename__ = "boards"

    id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    mission: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=_now())
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
    created_at: datetime = Field(sa_column=_now())


class ArtifactKey(SQLModel, table=True):
    """A logical artifact: its version counter (locked while publishing) and current version.

    `latest_id`/`latest_seq` point at the newest version that is not retracted, so
    "the board as it stands" is an index range scan here, however many versions exist.
    """

    __tablename__ = "artifact_keys"
    __table_args__ = (
        PrimaryKeyConstraint("board_id", "key"),
        Index("ix_artifact_keys_board_latest_seq", "board_id", "latest_seq"),
        Index("ix_artifact_keys_board_type_latest_seq", "board_id", "type", "latest_seq"),
    )

    board_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("boards.id"), nullable=False)
    )
    key: str = Field(sa_column=Column(Text, nullable=False))
    type: str = Field(sa_column=Column(Text, nullable=False))
    last_version: int = Field(sa_column=Column(Integer, nullable=False))
    latest_id: UUID | None = Field(default=None, sa_column=Column(PG_UUID(as_uuid=True)))
    latest_seq: int | None = Field(default=None, sa_column=Column(BigInteger))


class Artifact(SQLModel, table=True):
    """One immutable version of a logical artifact."""

    __tablename__ = "artifacts"
    __table_args__ = (
        UniqueConstraint("board_id", "key", "version"),
        UniqueConstraint("board_id", "seq"),
        ForeignKeyConstraint(
            ["type", "type_version"],
            ["artifact_types.name", "artifact_types.version"],
            name="fk_artifacts_type_artifact_types",
        ),
        Index("ix_artifacts_board_type_seq", "board_id", "type", "seq"),
        Index("ix_artifacts_board_author_seq", "board_id", "author_id", "seq"),
        Index("ix_artifacts_parents", "parents", postgresql_using="gin"),
        Index("ix_artifacts_tags", "tags", postgresql_using="gin"),
        Index(
            "uq_artifacts_idempotency",
            "author_id",
            "board_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
    )

    id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    board_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("boards.id"), nullable=False)
    )
    type: str = Field(sa_column=Column(Text, nullable=False))
    type_version: int = Field(sa_column=Column(Integer, nullable=False))
    key: str = Field(sa_column=Column(Text, nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    body: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    author_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("agents.id"), nullable=False)
    )
    role: str | None = Field(default=None, sa_column=Column(Text))
    parents: list[UUID] = Field(
        sa_column=Column(ARRAY(PG_UUID(as_uuid=True)), nullable=False, server_default=text("'{}'"))
    )
    tags: list[str] = Field(
        sa_column=Column(ARRAY(Text), nullable=False, server_default=text("'{}'"))
    )
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    content_hash: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_now())
    idempotency_key: str | None = Field(default=None, sa_column=Column(Text))
    request_hash: str | None = Field(default=None, sa_column=Column(Text))


class ArtifactRetraction(SQLModel, table=True):
    """That an artifact version was retracted, by whom, why, and at which board seq."""

    __tablename__ = "artifact_retractions"

    artifact_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("artifacts.id"), primary_key=True)
    )
    board_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("boards.id"), nullable=False)
    )
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    # NULL when the operator (admin token) retracted it rather than an agent
    actor_id: UUID | None = Field(
        default=None, sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("agents.id"))
    )
    reason: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_now())


class Event(SQLModel, table=True):
    """One entry of a board's append-only log. `seq` is gap-free in commit order per board."""

    __tablename__ = "events"
    __table_args__ = (
        PrimaryKeyConstraint("board_id", "seq"),
        Index("ix_events_board_kind_seq", "board_id", "kind", "seq"),
    )

    board_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("boards.id"), nullable=False)
    )
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = Field(sa_column=_now())
    actor_id: UUID | None = Field(default=None, sa_column=Column(PG_UUID(as_uuid=True)))
    subject_id: UUID | None = Field(default=None, sa_column=Column(PG_UUID(as_uuid=True)))
    data: dict[str, Any] = Field(
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'"))
    )
