"""The shapes the service answers with, as the client sees them.

These mirror the JSON of the REST API as its OpenAPI spec describes it (a test checks
them against it); they are defined here, not imported from the service, because agents
talk HTTP only. Unknown fields are kept (`extra="allow"`), so a
newer service never breaks an older client. `ArtifactDraft` is the one input shape: an
artifact to publish inside a batch, a task completion or a turn.
"""

from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Model(BaseModel):
    """Base of every response model: immutable, tolerant of fields it does not know."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)


class Health(Model):
    """The service answers and so does its database."""

    status: str


class Agent(Model):
    """A registered agent (never its token)."""

    id: UUID
    name: str
    capabilities: list[str]
    description: str | None = None
    model: str | None = None
    created_at: datetime
    last_seen_at: datetime | None = None


class AgentCreated(Agent):
    """A newly registered agent with its token: shown this once, keep it."""

    token: str


class Board(Model):
    """A board: the shared space agents publish to."""

    id: UUID
    name: str
    mission: str | None = None
    created_at: datetime
    last_seq: int = 0


class TypeVersion(Model):
    """One version of an artifact type's JSON Schema (`schema_` is JSON's `schema`)."""

    name: str
    version: int
    schema_: dict[str, Any] = Field(alias="schema")
    schema_hash: str
    description: str | None = None
    created_at: datetime
    compatibility: str = "backward"  # the mode it was checked under ("none": unchecked)
    registered_by: str | None = None
    overrode: str | None = None  # the type's mode it breaks, if registered with "none"


class TypeDetail(Model):
    """An artifact type: its newest version, the numbers of all its versions, and the
    compatibility mode its next versions are checked under."""

    name: str
    latest: TypeVersion
    versions: list[int]
    compatibility: str = "backward"


class TypeCheck(Model):
    """A candidate schema judged without registering it: the structural verdict, and the
    current artifact versions it would refuse (`boards`: per board; `examples`: up to 10)."""

    name: str
    previous_version: int
    compatibility: str
    compatible: bool
    reasons: list[dict[str, str]]
    checked: int
    failing: int
    boards: list[dict[str, Any]]
    examples: list[dict[str, Any]]


class Retraction(Model):
    """That an artifact version was withdrawn, by whom (None: the operator), why and when."""

    seq: int
    by: UUID | None = None
    reason: str
    at: datetime


class Artifact(Model):
    """One immutable version of a logical artifact (named by `key` on its board)."""

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


class LineageEdge(Model):
    """`child` was published with `parent` among its parents."""

    parent: UUID
    child: UUID


class Lineage(Model):
    """The artifacts reachable from `root` along parent links, and the links among them."""

    root: UUID
    direction: str
    nodes: list[Artifact]
    edges: list[LineageEdge]


class Event(Model):
    """One entry of a board's append-only event log."""

    seq: int
    kind: str
    at: datetime
    actor_id: UUID | None = None
    subject_id: UUID | None = None
    data: dict[str, Any]


class InboxItem(Model):
    """Something for the calling agent from its inbox stream: `task.available` (with the
    task) or `turn.offered` (with the turn's step and run)."""

    kind: str
    board_id: UUID
    seq: int | None = None
    task: "Task | None" = None
    data: dict[str, Any] = {}


class Claim(Model):
    """A role claimed on a board, with its lease and fencing token."""

    id: UUID
    board_id: UUID
    agent_id: UUID
    role: str
    scope: str | None = None
    exclusive: bool
    fencing_token: int
    status: str
    rationale: str | None = None
    confidence: float | None = None
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None
    renewed_at: datetime | None = None
    renewals: int = 0


class Guard(Model):
    """Keys of a board only the holder of a live exclusive claim of `role` may write."""

    id: UUID
    board_id: UUID
    key_pattern: str
    role: str
    created_at: datetime


class Abstention(Model):
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


class TaskAttempt(Model):
    """One lease of a task and how it ended (outcome None while it runs)."""

    attempt: int
    agent_id: UUID
    lease_token: int
    started_at: datetime
    ended_at: datetime | None = None
    outcome: str | None = None
    reason: str | None = None


class Task(Model):
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
    status: str
    available_at: datetime
    holder_id: UUID | None = None
    lease_token: int
    lease_expires_at: datetime | None = None
    result_id: UUID | None = None
    last_error: str | None = None
    posted_by: UUID | None = None
    created_at: datetime
    updated_at: datetime
    renewed_at: datetime | None = None  # the last heartbeat
    renewals: int = 0
    attempts: list[TaskAttempt] | None = None


class TaskCompleted(Model):
    """A completed task and the result artifact published with it."""

    task: Task
    artifact: Artifact


class Run(Model):
    """A run of a coordination protocol on a board."""

    id: UUID
    board_id: UUID
    protocol: str
    roster: list[UUID]
    goal: str | None = None
    params: dict[str, Any]
    status: str
    stop_reason: str | None = None
    turns_used: int
    tokens_used: int
    controller: str | None = None
    lease_token: int = 0
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None


class Turn(Model):
    """One step of a run offered to one agent, with its context bundle."""

    id: UUID
    run_id: UUID
    board_id: UUID
    agent_id: UUID
    step: int
    round: int
    phase: str
    status: str
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


class TurnDone(Model):
    """A completed turn and what was published in it."""

    turn: Turn
    artifacts: list[Artifact]


class RunDetail(Model):
    """A run with its turns, and the claims and abstentions made in it."""

    run: Run
    turns: list[Turn]
    claims: list[Claim]
    abstentions: list[Abstention]


class Call(Model):
    """What one call of a run saw and did: its context manifest and outcome."""

    turn_id: UUID
    step: int
    round: int
    phase: str
    agent_id: UUID
    status: str
    role: str | None = None
    manifest: dict[str, Any]
    model: str | None = None
    latency_ms: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    call: dict[str, Any]


class Page(Model, Generic[T]):
    """A page in seq order; pass `next_after` as `after` to read the next one."""

    items: list[T]
    next_after: int


class AbstentionCounts(Model):
    """How many abstentions per agent id and per role ("" = no role named)."""

    by_agent: dict[str, int]
    by_role: dict[str, int]


class AbstentionPage(Page[Abstention]):
    """A page of abstentions and the counts over all that match."""

    counts: AbstentionCounts


class ArtifactDraft(BaseModel):
    """An artifact to publish (in a batch, a task completion or a turn)."""

    model_config = ConfigDict(extra="forbid")

    type: str
    body: dict[str, Any]
    key: str | None = None
    parents: list[UUID | str] = Field(default_factory=list)
    role: str | None = None
    tags: list[str] = Field(default_factory=list)
    expected_version: int | None = None
    claim_id: UUID | str | None = None

    def to_json(self) -> dict[str, Any]:
        """The draft as the request body wants it (unset optional fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)


class Webhook(Model):
    """A URL that receives a board's events as signed POSTs."""

    id: UUID
    board_id: UUID
    url: str
    kinds: list[str]
    types: list[str]
    owner_id: UUID | None = None
    active: bool
    cursor: int
    attempts: int
    next_attempt_at: datetime
    created_at: datetime


class WebhookCreated(Webhook):
    """A newly registered webhook with its signing secret: shown this once, keep it."""

    secret: str


class WebhookDelivery(Model):
    """One attempt to deliver one event to a webhook."""

    id: int
    webhook_id: UUID
    seq: int
    kind: str
    attempt: int
    outcome: str
    status_code: int | None = None
    error: str | None = None
    duration_ms: float
    created_at: datetime
