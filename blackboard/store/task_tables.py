"""Tasks and their attempts.

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
    PrimaryKeyConstraint,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

from blackboard.store.table_base import now_column


class Task(SQLModel, table=True):
    """A request posted on a board that agents volunteer for, leased to one at a time."""

    __tablename__ = "tasks"
    __table_args__ = (
        # Claiming scans only open tasks, oldest first: the index stays small however many
        # completed tasks pile up.
        Index(
            "ix_tasks_claimable",
            "board_id",
            "created_at",
            postgresql_where=text("status = 'open'"),
        ),
        Index(
            "ix_tasks_lease_expiry",
            "lease_expires_at",
            postgresql_where=text("status = 'leased'"),
        ),
        Index("ix_tasks_board_status", "board_id", "status"),
        # A poster's own tasks, newest first, page by page (A2A ListTasks).
        Index("ix_tasks_posted_by", "posted_by", "created_at", "id"),
    )

    id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    board_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("boards.id"), nullable=False)
    )
    title: str = Field(sa_column=Column(Text, nullable=False))
    spec: dict[str, Any] = Field(
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'"))
    )
    wants_type: str | None = Field(default=None, sa_column=Column(Text))
    required_capabilities: list[str] = Field(
        sa_column=Column(ARRAY(Text), nullable=False, server_default=text("'{}'"))
    )
    inputs: list[UUID] = Field(
        sa_column=Column(ARRAY(PG_UUID(as_uuid=True)), nullable=False, server_default=text("'{}'"))
    )
    max_attempts: int = Field(sa_column=Column(Integer, nullable=False))
    # leases handed out so far (numbers task_attempts); `failures` counts those that failed
    # or expired — abstaining hands a task back without spending its budget
    attempt: int = Field(sa_column=Column(Integer, nullable=False, server_default=text("0")))
    failures: int = Field(sa_column=Column(Integer, nullable=False, server_default=text("0")))
    # open|leased|completed|failed|cancelled
    status: str = Field(sa_column=Column(Text, nullable=False))
    available_at: datetime = Field(sa_column=now_column())
    holder_id: UUID | None = Field(
        default=None, sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("agents.id"))
    )
    lease_token: int = Field(sa_column=Column(BigInteger, nullable=False, server_default=text("0")))
    lease_expires_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True))
    )
    result_id: UUID | None = Field(
        default=None, sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("artifacts.id"))
    )
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    posted_by: UUID | None = Field(
        default=None, sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("agents.id"))
    )
    created_at: datetime = Field(sa_column=now_column())
    updated_at: datetime = Field(sa_column=now_column())
    renewed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    renewals: int = Field(sa_column=Column(Integer, nullable=False, server_default=text("0")))


class TaskAttempt(SQLModel, table=True):
    """One lease of a task and how it ended. The task's history, kept after it is done."""

    __tablename__ = "task_attempts"
    __table_args__ = (PrimaryKeyConstraint("task_id", "attempt"),)

    task_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("tasks.id"), nullable=False)
    )
    attempt: int = Field(sa_column=Column(Integer, nullable=False))
    agent_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("agents.id"), nullable=False)
    )
    lease_token: int = Field(sa_column=Column(BigInteger, nullable=False))
    started_at: datetime = Field(sa_column=now_column())
    ended_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # NULL while running; then completed|failed|lease_expired|abstained
    outcome: str | None = Field(default=None, sa_column=Column(Text))
    reason: str | None = Field(default=None, sa_column=Column(Text))


class MessageTask(SQLModel, table=True):
    """The task an A2A message posted, by its sender's `messageId`: a sender that retries a
    message gets the task the first attempt posted, not a second one."""

    __tablename__ = "message_tasks"
    __table_args__ = (PrimaryKeyConstraint("poster_id", "message_id"),)

    poster_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("agents.id"), nullable=False)
    )
    message_id: str = Field(sa_column=Column(Text, nullable=False))
    task_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("tasks.id"), nullable=False)
    )
