"""Artifact versions, their keys, retractions and the event log: append-only but for
`artifact_keys` (the per-key version counter and pointer to the current version).

Part of the schema; store/tables.py registers every table in one `metadata`.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

from blackboard.store.table_base import now_column


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

    # no foreign key: every row is written under its board's seq lock (migration 0008)
    board_id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), nullable=False))
    key: str = Field(sa_column=Column(Text, nullable=False))
    type: str = Field(sa_column=Column(Text, nullable=False))
    last_version: int = Field(sa_column=Column(Integer, nullable=False))
    latest_id: UUID | None = Field(default=None, sa_column=Column(PG_UUID(as_uuid=True)))
    latest_seq: int | None = Field(default=None, sa_column=Column(BigInteger))
    # the highest fencing token written to the key while a guard covered it
    fencing_token: int | None = Field(default=None, sa_column=Column(BigInteger))


class Artifact(SQLModel, table=True):
    """One immutable version of a logical artifact."""

    __tablename__ = "artifacts"
    __table_args__ = (
        UniqueConstraint("board_id", "key", "version"),
        UniqueConstraint("board_id", "seq"),
        Index("ix_artifacts_board_type_seq", "board_id", "type", "seq"),
        # Partial: most versions have no parents or tags, and those cost no index work.
        # Queries repeat the predicate so that the planner can use them.
        Index(
            "ix_artifacts_parents",
            "parents",
            postgresql_using="gin",
            postgresql_where=text("parents <> '{}'"),
        ),
        Index(
            "ix_artifacts_tags",
            "tags",
            postgresql_using="gin",
            postgresql_where=text("tags <> '{}'"),
        ),
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
    # no foreign key: every row is written under its board's seq lock (migration 0008)
    board_id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), nullable=False))
    type: str = Field(sa_column=Column(Text, nullable=False))
    type_version: int = Field(sa_column=Column(Integer, nullable=False))
    key: str = Field(sa_column=Column(Text, nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    body: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    # No foreign keys to agents and artifact_types: both are only ever added to, the
    # service checks them before writing, and a KEY SHARE lock on the author's row from
    # every concurrent publish would turn it into a multixact hot spot.
    author_id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), nullable=False))
    role: str | None = Field(default=None, sa_column=Column(Text))
    parents: list[UUID] = Field(
        sa_column=Column(ARRAY(PG_UUID(as_uuid=True)), nullable=False, server_default=text("'{}'"))
    )
    tags: list[str] = Field(
        sa_column=Column(ARRAY(Text), nullable=False, server_default=text("'{}'"))
    )
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    content_hash: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=now_column())
    idempotency_key: str | None = Field(default=None, sa_column=Column(Text))
    request_hash: str | None = Field(default=None, sa_column=Column(Text))
    # the role claim this version was published under (fenced: it was active at commit)
    fencing_token: int | None = Field(default=None, sa_column=Column(BigInteger))
    claim_id: UUID | None = Field(
        default=None, sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("claims.id"))
    )


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
    created_at: datetime = Field(sa_column=now_column())


class Event(SQLModel, table=True):
    """One entry of a board's append-only log. `seq` is gap-free in commit order per board."""

    __tablename__ = "events"
    __table_args__ = (
        PrimaryKeyConstraint("board_id", "seq"),
        Index("ix_events_board_kind_seq", "board_id", "kind", "seq"),
    )

    # no foreign key: every row is written under its board's seq lock (migration 0008)
    board_id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), nullable=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = Field(sa_column=now_column())
    actor_id: UUID | None = Field(default=None, sa_column=Column(PG_UUID(as_uuid=True)))
    subject_id: UUID | None = Field(default=None, sa_column=Column(PG_UUID(as_uuid=True)))
    data: dict[str, Any] = Field(
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'"))
    )
