"""The shapes population metrics are returned in (part of the REST contract)."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Metric(BaseModel):
    """Base of all metric shapes: frozen."""

    model_config = ConfigDict(frozen=True)


class Rate(Metric):
    """`part` of `whole`, and their ratio (null when `whole` is 0)."""

    part: int
    whole: int
    rate: float | None


class RoleWindow(Metric):
    """Role claims in one time window."""

    start: datetime
    end: datetime
    claims: dict[str, int] = Field(description="role → claims made in the window")
    distinct_roles: int


class RoleFlips(Metric):
    """How often one agent changed role: a claim whose role differs from its previous one."""

    agent_id: UUID
    claims: int
    distinct_roles: int
    flips: int


class RoleMetrics(Metric):
    """Role distribution over time, and role flipping per agent."""

    window_s: int
    windows: list[RoleWindow]
    totals: dict[str, int] = Field(description="role → claims over the whole range")
    distinct_roles: int
    agents: list[RoleFlips]


class AbstentionMetrics(Metric):
    """Abstention rates. An agent's rate: its abstentions over its decisions (abstentions,
    role claims and task claims; a completed turn claims a role); a role's: abstentions
    naming the role over those plus claims of it."""

    total: int
    by_agent: dict[UUID, Rate]
    by_role: dict[str, Rate]


class ClaimOutcomes(Metric):
    """What became of role claims: claimed, released by their holder, expired, still active.
    `success` is released / (released + expired); `expiry` is expired / claimed."""

    claimed: int
    released: int
    expired: int
    active: int
    success: Rate
    expiry: Rate


class ClaimMetrics(Metric):
    """Role-claim outcomes overall, per role and per agent; and task-lease expiry."""

    overall: ClaimOutcomes
    by_role: dict[str, ClaimOutcomes]
    by_agent: dict[UUID, ClaimOutcomes]
    task_leases: int = Field(description="task leases handed out")
    task_lease_expiries: Rate = Field(description="leases that ran out, over leases")


class Latency(Metric):
    """Seconds from a task's posting to its completion."""

    count: int
    mean_s: float | None
    p50_s: float | None
    p90_s: float | None
    max_s: float | None


class TaskMetrics(Metric):
    """Task throughput: how many were posted and how they ended; completion latency."""

    posted: int
    completed: int
    failed: int
    cancelled: int = Field(description="withdrawn by their poster before anyone took them")
    open: int
    leased: int
    completion: Rate = Field(description="completed over posted")
    latency: Latency


class Edge(Metric):
    """Work of `producer` that `consumer` built on or was shown, and how often."""

    producer: UUID
    consumer: UUID
    built_on: int = Field(description="consumer's artifacts with a parent by producer")
    shown: int = Field(description="producer's artifacts shown in consumer's turn bundles")
    weight: int = Field(description="built_on + shown")


class Node(Metric):
    """An agent in the interaction graph."""

    agent_id: UUID
    name: str
    published: int


class InteractionGraph(Metric):
    """Producer → consumer edges between agents (never an agent to itself)."""

    nodes: list[Node]
    edges: list[Edge]


class EntropyWindow(Metric):
    """Token entropy of the artifact content published in one window."""

    start: datetime
    end: datetime
    artifacts: int
    tokens: int
    distinct_tokens: int
    entropy_bits: float = Field(description="Shannon entropy of the token distribution")
    normalized: float | None = Field(
        description="entropy over its maximum, log2(distinct tokens); null below 2 tokens"
    )


class EntropyMetrics(Metric):
    """Communication entropy per window: falling entropy signals converging content."""

    window_s: int
    windows: list[EntropyWindow]


class Duplicate(Metric):
    """One content hash published by more than one agent."""

    content_hash: str
    agents: list[UUID]
    versions: int = Field(description="artifact versions with this content")
    artifacts: list[UUID] = Field(description="the first 50 of them, oldest first")


class DuplicateMetrics(Metric):
    """Duplicate work: the same content from different agents. `artifacts` counts every
    version in a duplicate group beyond the first."""

    groups: list[Duplicate]
    artifacts: int


class BoardMetrics(Metric):
    """All population metrics of a board over one range."""

    board_id: UUID
    since: datetime | None
    until: datetime | None
    events: int
    roles: RoleMetrics
    abstentions: AbstentionMetrics
    claims: ClaimMetrics
    tasks: TaskMetrics
    interactions: InteractionGraph
    entropy: EntropyMetrics
    duplicates: DuplicateMetrics


class TurnOutcomes(Metric):
    """A run's turns by how they ended."""

    total: int
    completed: int
    abstained: int
    timed_out: int
    invalid: int
    offered: int


class RunSummary(Metric):
    """One run in figures: a row of a comparison."""

    run_id: UUID
    board_id: UUID
    protocol: str
    goal: str | None
    status: str
    stop_reason: str | None
    turns: TurnOutcomes
    abstention_rate: float | None
    distinct_roles: int
    roles: dict[str, int] = Field(description="role → turns that took it")
    artifacts: int
    duplicate_artifacts: int
    tokens: int
    wall_time_s: float | None


class RoundRoles(Metric):
    """Roles taken in one round of a run."""

    round: int
    roles: dict[str, int]
    distinct_roles: int


class RunMetrics(Metric):
    """A run's population metrics: its summary, roles per round, flips, graph, entropy."""

    summary: RunSummary
    rounds: list[RoundRoles]
    agents: list[RoleFlips]
    abstentions: AbstentionMetrics
    interactions: InteractionGraph
    entropy_bits: float
    duplicates: DuplicateMetrics


class RunComparison(Metric):
    """Runs side by side (in the order asked)."""

    runs: list[RunSummary]
