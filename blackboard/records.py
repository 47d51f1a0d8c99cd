"""What the domain hands back: immutable records of agents, boards, types, artifacts, events.

These are the shapes the REST API returns, so field names here are part of the contract.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Record(BaseModel):
    """Base of all records: frozen, built from trusted database rows."""

    model_config = ConfigDict(frozen=True)


class Agent(Record):
    """A registered agent (never its token)."""

    id: UUID
    name: str
    capabilities: list[str]
    description: str | None = None
    model: str | None = None  # model-backed agents: the model spec the controller calls
    created_at: datetime
    last_seen_at: datetime | None = None


class Board(Record):
    """A board: the shared space agents publish to."""

    id: UUID
    name: str
    mission: str | None = None
    created_at: datetime
    last_seq: int = 0


class TypeVersion(Record):
    """One version of an artifact type's JSON Schema."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)

    name: str
    version: int
    # `schema` would shadow a BaseModel attribute; the alias keeps the contract's name
    schema_: dict[str, Any] = Field(alias="schema")
    schema_hash: str
    description: str | None = None
    created_at: datetime
    compatibility: str = "backward"  # the mode it was checked under; "none": not checked
    registered_by: str | None = None  # "operator", or "standard types" at start-up
    overrode: str | None = None  # the type's mode it breaks (registered with "none")


class CompatibilityReason(Record):
    """One way a new schema breaks a type's compatibility mode: where in it, and what."""

    path: str  # a JSON pointer into the new schema
    message: str


class BoardTally(Record):
    """How many current artifact versions of a type one board holds, and how many fail."""

    board_id: UUID
    checked: int
    failing: int


class FailingArtifact(Record):
    """A current artifact version that a candidate schema refuses, and why (first error)."""

    board_id: UUID
    key: str
    version: int
    error: CompatibilityReason  # path into the body, message


class TypeCheck(Record):
    """A candidate schema for a type, judged against its newest version and the data."""

    name: str
    previous_version: int
    compatibility: str
    compatible: bool
    reasons: list[CompatibilityReason]
    checked: int
    failing: int
    boards: list[BoardTally]
    examples: list[FailingArtifact]


class Retraction(Record):
    """That an artifact version was withdrawn, by whom, why and when."""

    seq: int
    by: UUID | None = None  # None: retracted by the operator, not an agent
    reason: str
    at: datetime


class Artifact(Record):
    """One immutable version of a logical artifact."""

    id: UUID
    board_id: UUID
    type: str
    type_version: int
    key: str
    version: int
    body: dict[str, Any]
    author_id: UUID
    role: str | None = None
    parents: list[UUID]
    tags: list[str]
    seq: int
    content_hash: str
    created_at: datetime
    claim_id: UUID | None = None
    fencing_token: int | None = None  # the claim's, when written under one
    retracted: Retraction | None = None


class Event(Record):
    """One entry of a board's append-only event log."""

    seq: int
    kind: str
    at: datetime
    actor_id: UUID | None = None
    subject_id: UUID | None = None
    data: dict[str, Any]


class LineageEdge(Record):
    """`child` was published with `parent` among its parents."""

    parent: UUID
    child: UUID


class Lineage(Record):
    """The artifacts reachable from one artifact along parent links, and the links."""

    root: UUID
    direction: str
    nodes: list[Artifact]
    edges: list[LineageEdge]


class Claim(Record):
    """A role claimed on a board: who, which role and scope, until when, with which token."""

    id: UUID
    board_id: UUID
    agent_id: UUID
    role: str
    scope: str | None = None
    exclusive: bool
    fencing_token: int
    status: str  # active | released | expired
    rationale: str | None = None
    confidence: float | None = None
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None
    renewed_at: datetime | None = None  # the last renewal, if any
    renewals: int = 0


class Guard(Record):
    """Keys of a board that only the holder of a live exclusive claim of `role` may write
    (for the scope the key's `{scope}` segment names, if the pattern has one)."""

    id: UUID
    board_id: UUID
    key_pattern: str
    role: str
    created_at: datetime


class Abstention(Record):
    """An agent declining a scope, role or task, and why."""

    id: UUID
    board_id: UUID
    agent_id: UUID
    scope: str | None = None
    role: str | None = None
    task_id: UUID | None = None
    reason: str
    confidence: float | None = None
    seq: int
    created_at: datetime


class TaskAttempt(Record):
    """One lease of a task and how it ended (outcome None while it runs)."""

    attempt: int
    agent_id: UUID
    lease_token: int
    started_at: datetime
    ended_at: datetime | None = None
    outcome: str | None = None
    reason: str | None = None


class Task(Record):
    """A request on a board that agents volunteer for."""

    id: UUID
    board_id: UUID
    title: str
    spec: dict[str, Any]
    wants_type: str | None = None
    required_capabilities: list[str]
    inputs: list[UUID]
    max_attempts: int
    attempt: int
    failures: int
    status: str  # open | leased | completed | failed | cancelled
    available_at: datetime
    holder_id: UUID | None = None
    lease_token: int
    lease_expires_at: datetime | None = None
    result_id: UUID | None = None
    last_error: str | None = None
    posted_by: UUID | None = None
    created_at: datetime
    updated_at: datetime
    renewed_at: datetime | None = None  # the last heartbeat, if any
    renewals: int = 0
    attempts: list[TaskAttempt] | None = None


class Run(Record):
    """A run of a coordination protocol on a board."""

    id: UUID
    board_id: UUID
    protocol: str
    roster: list[UUID]
    goal: str | None = None
    params: dict[str, Any]
    status: str  # pending | running | completed | stopped
    stop_reason: str | None = None
    turns_used: int
    tokens_used: int
    controller: str | None = None
    lease_token: int = 0
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None


class Turn(Record):
    """One step of a run offered to one agent, with what it saw (the bundle) and did."""

    id: UUID
    run_id: UUID
    board_id: UUID
    agent_id: UUID
    step: int
    round: int
    phase: str
    status: str  # offered | completed | abstained | timed_out | invalid
    deadline: datetime
    bundle: dict[str, Any]
    manifest: dict[str, Any]
    role: str | None = None
    rationale: str | None = None
    reason: str | None = None
    artifact_ids: list[UUID]
    claim_id: UUID | None = None
    call: dict[str, Any]
    created_at: datetime
    completed_at: datetime | None = None


class Webhook(Record):
    """A URL that receives a board's events as signed POSTs (never its secret)."""

    id: UUID
    board_id: UUID
    url: str
    kinds: list[str]
    types: list[str]
    owner_id: UUID | None = None
    active: bool
    cursor: int = Field(description="The seq up to which events were delivered or skipped.")
    attempts: int = Field(description="Failed attempts at the next event so far.")
    next_attempt_at: datetime
    created_at: datetime


class WebhookCreated(Webhook):
    """A webhook as registered: with its signing secret, shown only this once."""

    secret: str


class WebhookDelivery(Record):
    """One attempt to deliver one event to a webhook."""

    id: int
    webhook_id: UUID
    seq: int
    kind: str
    attempt: int
    outcome: str = Field(description="delivered, retrying, or failed (given up, skipped).")
    status_code: int | None = None
    error: str | None = None
    duration_ms: float
    created_at: datetime
