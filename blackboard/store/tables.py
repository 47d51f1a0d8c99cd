"""The schema, as SQLModel tables. Alembic revisions must match this file exactly
(a test runs autogenerate against a migrated database and expects no difference).

Append-only by design: artifact versions, retractions and events are only ever
inserted. The mutable rows are `board_seqs` (the per-board event counter) and
`artifact_keys` (the per-key version counter and pointer to the current version).
"""

from datetime import datetime
from typing import Any
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
    # set for model-backed agents: the controller calls this model for their turns
    model_spec: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=_now())
    last_seen_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class Board(SQLModel, table=True):
    """A board. Its event counter is in `board_seqs`."""

    __tablename__ = "boards"

    id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    mission: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=_now())


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
    created_at: datetime = Field(sa_column=_now())
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
    created_at: datetime = Field(sa_column=_now())
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
    created_at: datetime = Field(sa_column=_now())


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
    at: datetime = Field(sa_column=_now())
    actor_id: UUID | None = Field(default=None, sa_column=Column(PG_UUID(as_uuid=True)))
    subject_id: UUID | None = Field(default=None, sa_column=Column(PG_UUID(as_uuid=True)))
    data: dict[str, Any] = Field(
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'"))
    )


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
    created_at: datetime = Field(sa_column=_now())
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
    created_at: datetime = Field(sa_column=_now())


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
    created_at: datetime = Field(sa_column=_now())


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
    available_at: datetime = Field(sa_column=_now())
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
    created_at: datetime = Field(sa_column=_now())
    updated_at: datetime = Field(sa_column=_now())
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
    started_at: datetime = Field(sa_column=_now())
    ended_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # NULL while running; then completed|failed|lease_expired|abstained
    outcome: str | None = Field(default=None, sa_column=Column(Text))
    reason: str | None = Field(default=None, sa_column=Column(Text))


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
    created_at: datetime = Field(sa_column=_now())
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
    created_at: datetime = Field(sa_column=_now())
    completed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class Webhook(SQLModel, table=True):
    """A URL that receives a board's events (those passing its filter) as signed POSTs.

    Delivered in seq order from `cursor`; one process at a time delivers a webhook, under
    a lease whose token fences every write of its progress."""

    __tablename__ = "webhooks"
    __table_args__ = (
        Index("ix_webhooks_board", "board_id"),
        # Delivery scans only active webhooks, in the order they are due.
        Index("ix_webhooks_due", "next_attempt_at", postgresql_where=text("active")),
    )

    id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    board_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("boards.id"), nullable=False)
    )
    url: str = Field(sa_column=Column(Text, nullable=False))
    # the HMAC key: kept as it is, since signing needs it (shown to the registrant once)
    secret: str = Field(sa_column=Column(Text, nullable=False))
    kinds: list[str] = Field(
        sa_column=Column(ARRAY(Text), nullable=False, server_default=text("'{}'"))
    )
    types: list[str] = Field(
        sa_column=Column(ARRAY(Text), nullable=False, server_default=text("'{}'"))
    )
    # NULL when the operator registered it
    owner_id: UUID | None = Field(
        default=None, sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("agents.id"))
    )
    active: bool = Field(sa_column=Column(Boolean, nullable=False, server_default=text("true")))
    cursor: int = Field(sa_column=Column(BigInteger, nullable=False))
    attempts: int = Field(sa_column=Column(Integer, nullable=False, server_default=text("0")))
    next_attempt_at: datetime = Field(sa_column=_now())
    lease_token: int = Field(sa_column=Column(BigInteger, nullable=False, server_default=text("0")))
    lease_expires_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True))
    )
    created_at: datetime = Field(sa_column=_now())


class WebhookDelivery(SQLModel, table=True):
    """One attempt to deliver one event to a webhook, and how it went. Append-only."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_webhook_id", "webhook_id", "id"),)

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    webhook_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("webhooks.id"), nullable=False)
    )
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    attempt: int = Field(sa_column=Column(Integer, nullable=False))
    # 'delivered', 'retrying' (will be tried again) or 'failed' (given up: skipped)
    outcome: str = Field(sa_column=Column(Text, nullable=False))
    status_code: int | None = Field(default=None, sa_column=Column(Integer))
    error: str | None = Field(default=None, sa_column=Column(Text))
    duration_ms: float = Field(sa_column=Column(Float, nullable=False))
    created_at: datetime = Field(sa_column=_now())


# The metric roll-ups live in a module of their own, on the same metadata.
import blackboard.store.rollup_tables  # noqa: E402, F401

# Tables defined next to their queries, registered in `metadata` for Alembic.
from blackboard.store import inspector_sessions as _inspector_sessions  # noqa: E402, F401
