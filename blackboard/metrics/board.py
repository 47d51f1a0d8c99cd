"""A board's population metrics over a time range."""

import asyncio
import math
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from blackboard.errors import FieldError, InvalidInput, NotFound
from blackboard.metrics.entropy import entropy_window
from blackboard.metrics.models import (
    AbstentionMetrics,
    BoardMetrics,
    ClaimMetrics,
    ClaimOutcomes,
    Duplicate,
    DuplicateMetrics,
    Edge,
    EntropyMetrics,
    HoldingMetrics,
    HoldingWindow,
    InteractionGraph,
    Latency,
    Node,
    Rate,
    RoleFlips,
    RoleMetrics,
    RoleWindow,
    TaskMetrics,
)
from blackboard.services.roller import catch_up
from blackboard.store import metrics as q
from blackboard.store import rollup_reads as rollup
from blackboard.store import rollups
from blackboard.store.database import Conn, Database

MAX_WINDOWS = 1000
TARGET_WINDOWS = 20
# Window sizes a person reads easily, in seconds.
NICE_WINDOWS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200]
DAY = 86400
EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""Where windows start and end at the farthest, whatever `since` and `until` say."""
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
    """What a board metric is computed over: a board, a time range, and its windows.

    The range is read from the roll-ups in whole seconds since the board's creation
    (`origin`): `since` is rounded down and `until` up to the second, and `lo`/`hi` are
    those bounds as seconds since the origin (None: unbounded)."""

    board_id: UUID
    since: datetime | None
    until: datetime | None
    lo: int | None
    hi: int | None
    events: int
    window_s: int
    origin: datetime  # windows are aligned to the board's creation
    starts: list[datetime]

    @property
    def range(self) -> dict[str, Any]:
        """The board and range, as the roll-up reads take them."""
        return {"board_id": self.board_id, "lo": self.lo, "hi": self.hi}

    @property
    def time_range(self) -> dict[str, Any]:
        """The board and range as times, for the tables read directly (turns)."""
        return {"board_id": self.board_id, "since": self.since, "until": self.until}

    def offset(self, at: datetime) -> int:
        """Whole seconds from the origin to `at`, a window start."""
        return round((at - self.origin).total_seconds())


def _seconds(at: datetime | None, origin: datetime, rounding: Callable[[float], int]) -> int | None:
    return None if at is None else rounding((at - origin).total_seconds())


async def scope_of(
    db: Database,
    board_id: UUID,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    window_s: int | None = None,
) -> Scope:
    """Bring the board's roll-ups up to date and return the scope of its metrics between
    `since` and `until`.

    `window_s` sizes the time windows of the role and entropy series (default: the range
    cut into about 20 windows)."""
    if since and until and since > until:
        raise InvalidInput(
            "since must not be after until", [FieldError("/since", "must not be after until")]
        )
    async with db.connection() as conn:
        board = await rollups.state(conn, board_id=board_id)
    if board is None:
        raise NotFound("no board with this id", board_id=str(board_id))
    if board["behind"]:
        await catch_up(db, board_id)
    origin: datetime = board["origin"]
    # Windows stay within EARLIEST and LATEST: aligning them at the far ends of the
    # calendar (year 1, year 9999) would overflow a datetime.
    since = since and min(max(since, EARLIEST), LATEST)
    until = until and min(max(until, EARLIEST), LATEST)
    lo, hi = _seconds(since, origin, math.floor), _seconds(until, origin, math.ceil)
    since = None if lo is None else origin + timedelta(seconds=lo)
    until = None if hi is None else origin + timedelta(seconds=hi)
    async with db.connection() as conn:
        if since is None and until is None:
            span = await q.span(conn, board_id=board_id, since=None, until=None)
        else:
            span = await rollup.span(conn, board_id=board_id, lo=lo, hi=hi)
            for end in ("first", "last"):
                if span[end] is not None:
                    span[end] = origin + timedelta(seconds=span[end])
    first: datetime = min(max(since or span["first"] or origin, EARLIEST), LATEST)
    last: datetime = max(min(until or span["last"] or first, LATEST), first)
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
        lo=lo,
        hi=hi,
        events=int(span["events"]),
        window_s=window_s,
        origin=origin,
        starts=window_starts(first, last, window_s, origin),
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
    scope = await scope_of(db, board_id, since=since, until=until, window_s=window_s)

    # Independent reads: each on its own pooled connection, at once. Sums of roll-up rows:
    # no transaction or memory settings needed (see `reading`, for scans of runs).
    async def read(work: Callable[[Conn, Scope], Awaitable[T]]) -> T:
        async with db.connection() as conn:
            return await work(conn, scope)

    (roles_, holdings_), ledger, tasks_, graph, duplicates_, entropy_ = await asyncio.gather(
        read(_roles_and_holdings),
        read(ledger_counts),
        read(_task_state),
        read(interactions),
        read(duplicates),
        read(entropy),
    )
    return BoardMetrics(
        board_id=board_id,
        since=scope.since,
        until=scope.until,
        events=scope.events,
        roles=roles_,
        holdings=holdings_,
        abstentions=ledger.abstentions(),
        claims=ledger.claims(),
        tasks=ledger.tasks(*tasks_),
        interactions=graph,
        entropy=entropy_,
        duplicates=duplicates_,
    )


async def roles(conn: Conn, scope: Scope) -> RoleMetrics:
    """Role claims per window and per role, and each agent's role flips."""
    per_window: dict[int, dict[str, int]] = defaultdict(dict)
    totals: Counter[str] = Counter()
    for row in await rollup.role_claims_per_window(conn, **scope.range, window_s=scope.window_s):
        per_window[row["win"]][row["role"]] = row["n"]
        totals[row["role"]] += row["n"]
    step = timedelta(seconds=scope.window_s)
    flips = await rollup.role_flips(conn, **scope.range)
    return RoleMetrics(
        window_s=scope.window_s,
        windows=[
            RoleWindow(start=s, end=s + step, claims=c, distinct_roles=len(c))
            for s in scope.starts
            for c in [per_window.get(scope.offset(s) // scope.window_s, {})]
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


async def _roles_and_holdings(conn: Conn, scope: Scope) -> tuple[RoleMetrics, HoldingMetrics]:
    return await roles(conn, scope), await holdings(conn, scope)


async def holdings(conn: Conn, scope: Scope) -> HoldingMetrics:
    """Per window (cut to the range), each role with the agents that held it."""
    step = timedelta(seconds=scope.window_s)
    held: dict[int, dict[str, list[UUID]]] = defaultdict(dict)
    if scope.starts:
        rows = await rollup.holdings(
            conn,
            **scope.range,
            window_s=scope.window_s,
            first=scope.offset(scope.starts[0]) // scope.window_s,
            last=scope.offset(scope.starts[-1]) // scope.window_s,
        )
        for row in rows:
            held[row["win"]][row["role"]] = row["agents"]
    return HoldingMetrics(
        window_s=scope.window_s,
        windows=[
            HoldingWindow(start=s, end=s + step, roles=roles, distinct_roles=len(roles))
            for s in scope.starts
            for roles in [held[scope.offset(s) // scope.window_s]]
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
    return LedgerCounts(await rollup.ledger_counts(conn, **scope.range))


async def abstentions(conn: Conn, scope: Scope) -> AbstentionMetrics:
    """Abstention rates per agent and per role."""
    return (await ledger_counts(conn, scope)).abstentions()


async def claims(conn: Conn, scope: Scope) -> ClaimMetrics:
    """Role-claim outcomes and task-lease expiries."""
    return (await ledger_counts(conn, scope)).claims()


async def _task_state(conn: Conn, scope: Scope) -> tuple[dict[str, int], dict[str, Any]]:
    by_status = await q.tasks_by_status(conn, board_id=scope.board_id)
    return by_status, await rollup.task_latency(conn, **scope.range)


async def tasks(conn: Conn, scope: Scope) -> TaskMetrics:
    """Tasks posted, completed, failed, pending; completion latency."""
    return (await ledger_counts(conn, scope)).tasks(*await _task_state(conn, scope))


async def interactions(conn: Conn, scope: Scope) -> InteractionGraph:
    """The producer → consumer graph: built-on edges and authors from the roll-ups, shown
    edges from the turns in range."""
    built_on = await rollup.built_on(conn, **scope.range)
    shown = await q.shown(conn, **scope.time_range)
    published = await rollup.publishers(conn, **scope.range)
    readers = {r["consumer"] for r in shown} - {r["agent_id"] for r in published}
    return _graph(built_on, shown, published, await q.agent_names(conn, agent_ids=sorted(readers)))


async def duplicates(conn: Conn, scope: Scope) -> DuplicateMetrics:
    """Content published by more than one agent."""
    return _duplicates(await rollup.duplicates(conn, **scope.range))


async def interaction_graph(conn: Conn, **where: Any) -> InteractionGraph:
    """Return the producer → consumer graph of the artifacts and turns `where` selects
    (a board and run: see store.metrics)."""
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
    selects (a board and run: see store.metrics)."""
    return _duplicates(await q.duplicates(conn, **where))


def _duplicates(rows: list[dict[str, Any]]) -> DuplicateMetrics:
    return DuplicateMetrics(
        groups=[
            Duplicate(
                content_hash=r["content_hash"],
                agents=sorted(r["agents"]),
                versions=r["count"],
                artifacts=r["ids"],
            )
            for r in rows
        ],
        artifacts=rows[0]["total"] if rows else 0,
    )


async def entropy(conn: Conn, scope: Scope) -> EntropyMetrics:
    """Token entropy of the content published per window. A window only partly inside the
    range counts all of its artifacts."""
    step = timedelta(seconds=scope.window_s)
    per_window: dict[int, dict[str, Any]] = {}
    if scope.starts:
        rows = await rollup.entropy_per_window(
            conn,
            board_id=scope.board_id,
            lo=scope.offset(scope.starts[0]),
            hi=scope.offset(scope.starts[-1]) + scope.window_s,
            window_s=scope.window_s,
        )
        per_window = {r["win"]: r for r in rows}
    return EntropyMetrics(
        window_s=scope.window_s,
        windows=[
            entropy_window(s, s + step, **_entropy_sums(per_window.get(k)))
            for s in scope.starts
            for k in [scope.offset(s) // scope.window_s]
        ],
    )


def _entropy_sums(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        return {"artifacts": 0, "tokens": 0, "distinct": 0, "nlogn": 0.0}
    return {
        "artifacts": row["artifacts"],
        "tokens": row["tokens"],
        "distinct": row["distinct_tokens"],
        "nlogn": row["nlogn"],
    }
