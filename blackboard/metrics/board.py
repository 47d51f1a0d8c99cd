"""A board's population metrics over a time range."""

import asyncio
import math
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from blackboard.errors import FieldError, InvalidInput, NotFound
from blackboard.metrics.entropy import TokenWindows, entropy_window
from blackboard.metrics.models import (
    AbstentionMetrics,
    BoardMetrics,
    ClaimMetrics,
    ClaimOutcomes,
    Duplicate,
    DuplicateMetrics,
    Edge,
    EntropyMetrics,
    InteractionGraph,
    Latency,
    Node,
    Rate,
    RoleFlips,
    RoleMetrics,
    RoleWindow,
    TaskMetrics,
)
from blackboard.metrics.tally import BoardTally, Tallies
from blackboard.store import boards as board_store
from blackboard.store import metrics as q
from blackboard.store.database import Conn, Database

MAX_WINDOWS = 1000
TARGET_WINDOWS = 20
# Window sizes a person reads easily, in seconds.
NICE_WINDOWS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200]
DAY = 86400
T = TypeVar("T")


def rate(part: int, whole: int) -> Rate:
    """Return `part` of `whole` as a Rate."""
    return Rate(part=part, whole=whole, rate=part / whole if whole else None)


def nice_window(span_s: float) -> int:
    """Return a readable window size that cuts `span_s` into about TARGET_WINDOWS windows."""
    wanted = span_s / TARGET_WINDOWS
    for size in NICE_WINDOWS:
        if size >= wanted:
            return size
    return DAY * math.ceil(wanted / DAY)


def window_starts(
    first: datetime, last: datetime, window_s: int, origin: datetime
) -> list[datetime]:
    """Return the start of every window from the one holding `first` to the one holding
    `last`, windows being `window_s` long and aligned to `origin`."""
    step = timedelta(seconds=window_s)
    start = origin + step * ((first - origin) // step)
    starts = []
    while start <= last:
        starts.append(start)
        start += step
    return starts


@dataclass(frozen=True)
class Scope:
    """What a board metric is computed over: a board, a time range, and its windows."""

    board_id: UUID
    since: datetime | None
    until: datetime | None
    events: int
    window_s: int
    origin: datetime  # windows are aligned to the board's creation
    starts: list[datetime]

    @property
    def range(self) -> dict[str, Any]:
        """The board and range, as the store's queries take them."""
        return {"board_id": self.board_id, "since": self.since, "until": self.until}


async def scope_of(
    conn: Conn,
    board_id: UUID,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    window_s: int | None = None,
) -> Scope:
    """Return the scope of the board's metrics between `since` and `until`.

    `window_s` sizes the time windows of the role and entropy series (default: the range
    cut into about 20 windows)."""
    if since and until and since >= until:
        raise InvalidInput(
            "since must be before until", [FieldError("/since", "must be before until")]
        )
    board = await board_store.get(conn, board_id=board_id)
    if board is None:
        raise NotFound("no board with this id", board_id=str(board_id))
    span = await q.span(conn, board_id=board_id, since=since, until=until)
    first: datetime = since or span["first"] or board.created_at
    last: datetime = until or span["last"] or first
    window_s = window_s or nice_window((last - first).total_seconds())
    if (last - first).total_seconds() / window_s > MAX_WINDOWS:
        raise InvalidInput(
            f"window_s too small: the range would need more than {MAX_WINDOWS} windows",
            [FieldError("/window_s", f"at most {MAX_WINDOWS} windows per range")],
        )
    return Scope(
        board_id=board_id,
        since=since,
        until=until,
        events=span["events"],
        window_s=window_s,
        origin=board.created_at,
        starts=window_starts(first, last, window_s, board.created_at),
    )


@asynccontextmanager
async def reading(db: Database) -> AsyncIterator[Conn]:
    """A connection for aggregate reads, in a transaction whose settings give the sorts and
    hashes room in memory (at the default 4 MB, grouping a board's artifacts by content
    spills to disk) and no parallel workers (metrics already run several queries at once;
    on a few cores, workers only add overhead)."""
    async with db.transaction() as conn:
        await conn.execute(
            "SELECT set_config('work_mem', '64MB', true),"
            " set_config('max_parallel_workers_per_gather', '0', true)"
        )
        yield conn


async def board_metrics(
    db: Database,
    board_id: UUID,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    window_s: int | None = None,
) -> BoardMetrics:
    """Return every population metric of the board between `since` and `until`."""
    async with db.connection() as conn:
        scope = await scope_of(conn, board_id, since=since, until=until, window_s=window_s)

    # Independent reads: each on its own pooled connection, at once.
    async def read(work: Callable[[Conn, Scope], Awaitable[T]]) -> T:
        async with reading(db) as conn:
            return await work(conn, scope)

    roles_, ledger, tasks_, graph, duplicates_, entropy_ = await asyncio.gather(
        read(roles),
        read(ledger_counts),
        read(_task_state),
        read(interactions),
        read(duplicates),
        read(entropy),
    )
    return BoardMetrics(
        board_id=board_id,
        since=since,
        until=until,
        events=scope.events,
        roles=roles_,
        abstentions=ledger.abstentions(),
        claims=ledger.claims(),
        tasks=ledger.tasks(*tasks_),
        interactions=graph,
        entropy=entropy_,
        duplicates=duplicates_,
    )


async def roles(conn: Conn, scope: Scope) -> RoleMetrics:
    """Role claims per window and per role, and each agent's role flips."""
    per_window: dict[datetime, dict[str, int]] = defaultdict(dict)
    totals: Counter[str] = Counter()
    rows = await q.role_claims_per_window(
        conn, **scope.range, window_s=scope.window_s, origin=scope.origin
    )
    for row in rows:
        per_window[row["start"]][row["role"]] = row["n"]
        totals[row["role"]] += row["n"]
    step = timedelta(seconds=scope.window_s)
    flips = await q.role_flips(conn, **scope.range)
    return RoleMetrics(
        window_s=scope.window_s,
        windows=[
            RoleWindow(
                start=s,
                end=s + step,
                claims=per_window.get(s, {}),
                distinct_roles=len(per_window.get(s, {})),
            )
            for s in scope.starts
        ],
        totals=dict(totals),
        distinct_roles=len(totals),
        agents=[
            RoleFlips(
                agent_id=r["agent_id"],
                claims=r["claims"],
                distinct_roles=r["roles"],
                flips=r["flips"],
            )
            for r in flips
        ],
    )


class LedgerCounts:
    """The ledger's event counts by kind, actor and role, read as rates."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.by_kind: Counter[str] = Counter()
        self.by_agent: dict[UUID, Counter[str]] = defaultdict(Counter)
        self.by_role: dict[str, Counter[str]] = defaultdict(Counter)
        for row in rows:
            self.by_kind[row["kind"]] += row["n"]
            if row["actor_id"] is not None:
                self.by_agent[row["actor_id"]][row["kind"]] += row["n"]
            if row["role"] is not None:
                self.by_role[row["role"]][row["kind"]] += row["n"]

    def abstentions(self) -> AbstentionMetrics:
        def agent_rate(c: Counter[str]) -> Rate:
            decisions = c["agent.abstained"] + c["role.claimed"] + c["task.claimed"]
            return rate(c["agent.abstained"], decisions)

        def role_rate(c: Counter[str]) -> Rate:
            return rate(c["agent.abstained"], c["agent.abstained"] + c["role.claimed"])

        return AbstentionMetrics(
            total=self.by_kind["agent.abstained"],
            by_agent={a: agent_rate(c) for a, c in self.by_agent.items() if _decided(c)},
            by_role={r: role_rate(c) for r, c in self.by_role.items() if _claimed_or_declined(c)},
        )

    def claims(self) -> ClaimMetrics:
        return ClaimMetrics(
            overall=_outcomes(self.by_kind),
            by_role={r: _outcomes(c) for r, c in self.by_role.items() if c["role.claimed"]},
            by_agent={a: _outcomes(c) for a, c in self.by_agent.items() if c["role.claimed"]},
            task_leases=self.by_kind["task.claimed"],
            task_lease_expiries=rate(
                self.by_kind["task.lease_expired"], self.by_kind["task.claimed"]
            ),
        )

    def tasks(self, by_status: dict[str, int], latency: dict[str, Any]) -> TaskMetrics:
        posted = self.by_kind["task.posted"]
        return TaskMetrics(
            posted=posted,
            completed=self.by_kind["task.completed"],
            failed=self.by_kind["task.failed"],
            cancelled=self.by_kind["task.cancelled"],
            open=by_status.get("open", 0),
            leased=by_status.get("leased", 0),
            completion=rate(self.by_kind["task.completed"], posted),
            latency=Latency.model_validate(latency),
        )


def _decided(c: Counter[str]) -> bool:
    return bool(c["agent.abstained"] + c["role.claimed"] + c["task.claimed"])


def _claimed_or_declined(c: Counter[str]) -> bool:
    return bool(c["agent.abstained"] + c["role.claimed"])


def _outcomes(c: Counter[str]) -> ClaimOutcomes:
    claimed, released, expired = c["role.claimed"], c["role.released"], c["role.expired"]
    return ClaimOutcomes(
        claimed=claimed,
        released=released,
        expired=expired,
        active=max(claimed - released - expired, 0),
        success=rate(released, released + expired),
        expiry=rate(expired, claimed),
    )


async def ledger_counts(conn: Conn, scope: Scope) -> LedgerCounts:
    """The ledger's event counts in scope."""
    return LedgerCounts(await q.ledger_counts(conn, **scope.range))


async def abstentions(conn: Conn, scope: Scope) -> AbstentionMetrics:
    """Abstention rates per agent and per role."""
    return (await ledger_counts(conn, scope)).abstentions()


async def claims(conn: Conn, scope: Scope) -> ClaimMetrics:
    """Role-claim outcomes and task-lease expiries."""
    return (await ledger_counts(conn, scope)).claims()


async def _task_state(conn: Conn, scope: Scope) -> tuple[dict[str, int], dict[str, Any]]:
    by_status = await q.tasks_by_status(conn, board_id=scope.board_id)
    return by_status, await q.task_latency(conn, **scope.range)


async def tasks(conn: Conn, scope: Scope) -> TaskMetrics:
    """Tasks posted, completed, failed, pending; completion latency."""
    return (await ledger_counts(conn, scope)).tasks(*await _task_state(conn, scope))


async def interactions(conn: Conn, scope: Scope) -> InteractionGraph:
    """The producer → consumer graph."""
    if scope.since or scope.until:
        return await interaction_graph(conn, **scope.range)
    # The whole board: built-on edges and authors from the kept tally.
    tally = TALLIES.get(("artifacts", scope.board_id), BoardTally)
    await tally.catch_up(conn, board_id=scope.board_id)
    shown = await q.shown(conn, board_id=scope.board_id)
    names = await q.agent_names(conn, agent_ids=sorted(tally.published))
    return _graph(
        [{"producer": p, "consumer": c, "n": n} for (p, c), n in tally.built_on.items()],
        shown,
        [{"agent_id": a, "name": names[a], "published": n} for a, n in tally.published.items()],
        await q.agent_names(conn, agent_ids=sorted({r["consumer"] for r in shown} - names.keys())),
    )


async def duplicates(conn: Conn, scope: Scope) -> DuplicateMetrics:
    """Content published by more than one agent."""
    if scope.since or scope.until:
        return await duplicate_metrics(conn, **scope.range)
    tally = TALLIES.get(("artifacts", scope.board_id), BoardTally)
    await tally.catch_up(conn, board_id=scope.board_id)
    groups, extra = tally.duplicated(q.DUPLICATE_GROUPS)
    ids = await q.ids_at(
        conn, board_id=scope.board_id, seqs=[seq for _, c in groups for seq in c.seqs]
    )
    return DuplicateMetrics(
        groups=[
            Duplicate(
                content_hash=content_hash,
                agents=sorted(c.authors),
                versions=c.versions,
                artifacts=[ids[seq] for seq in c.seqs],
            )
            for content_hash, c in groups
        ],
        artifacts=extra,
    )


async def interaction_graph(conn: Conn, **where: Any) -> InteractionGraph:
    """Return the producer → consumer graph of the artifacts and turns `where` selects
    (a board and range, or a board and run: see store.metrics)."""
    built_on = await q.built_on(conn, **where)
    shown = await q.shown(conn, **where)
    published = await q.publishers(conn, **where)
    authors = {r["agent_id"] for r in published}
    readers = {r["consumer"] for r in shown} - authors
    return _graph(built_on, shown, published, await q.agent_names(conn, agent_ids=sorted(readers)))


def _graph(
    built_on: list[dict[str, Any]],
    shown: list[dict[str, Any]],
    published: list[dict[str, Any]],
    readers: dict[UUID, str],
) -> InteractionGraph:
    """Merge built-on and shown edges; authors and agents that only read are the nodes."""
    weights: dict[tuple[UUID, UUID], list[int]] = defaultdict(lambda: [0, 0])
    for r in built_on:
        weights[(r["producer"], r["consumer"])][0] += r["n"]
    for r in shown:
        weights[(r["producer"], r["consumer"])][1] += r["n"]
    edges = [
        Edge(producer=p, consumer=c, built_on=b, shown=s, weight=b + s)
        for (p, c), (b, s) in sorted(weights.items())
    ]
    nodes = [
        Node(agent_id=r["agent_id"], name=r["name"], published=r["published"]) for r in published
    ]
    nodes += [Node(agent_id=a, name=n, published=0) for a, n in readers.items()]
    return InteractionGraph(nodes=sorted(nodes, key=lambda n: (n.name, n.agent_id)), edges=edges)


async def duplicate_metrics(conn: Conn, **where: Any) -> DuplicateMetrics:
    """Return the content published by more than one agent among the artifacts `where`
    selects."""
    rows = await q.duplicates(conn, **where)
    return DuplicateMetrics(
        groups=[
            Duplicate(
                content_hash=r["content_hash"],
                agents=r["agents"],
                versions=r["count"],
                artifacts=r["ids"],
            )
            for r in rows
        ],
        artifacts=rows[0]["total"] if rows else 0,
    )


# Counts over whole boards, kept by this process (see metrics.tally).
TALLIES = Tallies()


async def entropy(conn: Conn, scope: Scope) -> EntropyMetrics:
    """Token entropy of the content published per window. A window only partly inside the
    range counts all of its artifacts."""
    series = TALLIES.get(("tokens", scope.board_id, scope.window_s), TokenWindows)
    await series.catch_up(
        conn, board_id=scope.board_id, window_s=scope.window_s, origin=scope.origin
    )
    step = timedelta(seconds=scope.window_s)
    return EntropyMetrics(
        window_s=scope.window_s,
        windows=[entropy_window(s, s + step, *series.window(s)) for s in scope.starts],
    )
