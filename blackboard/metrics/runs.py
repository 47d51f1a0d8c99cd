"""A run's population metrics, and runs side by side.

A run's time unit is its round, so its role series is per round rather than per window;
its artifacts are those tagged `run:<id>`, its decisions its turns.
"""

import itertools
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from blackboard.errors import NotFound
from blackboard.metrics.board import (
    duplicate_metrics,
    holdings,
    interaction_graph,
    rate,
    reading,
    scope_of,
)
from blackboard.metrics.entropy import shannon_bits
from blackboard.metrics.models import (
    AbstentionMetrics,
    HoldingMetrics,
    RoleFlips,
    RoundRoles,
    RunComparison,
    RunMetrics,
    RunSummary,
    TurnOutcomes,
)
from blackboard.records import Run
from blackboard.store import metrics as q
from blackboard.store import runs as run_store
from blackboard.store.database import Conn, Database

MAX_COMPARED = 20
SECOND = timedelta(seconds=1)


async def run_metrics(db: Database, run_id: UUID) -> RunMetrics:
    """Return the population metrics of one run (NotFound if there is no such run)."""
    async with reading(db) as conn:
        run = await _run(conn, run_id)
        turns = await q.run_turns(conn, run_id=run_id)
        scope: dict[str, Any] = {"board_id": run.board_id, "run_id": run_id}
        graph = await interaction_graph(conn, **scope)
        summary = await _summary(conn, run, turns)
        tokens = await q.run_token_counts(conn, board_id=run.board_id, run_id=run_id)
        duplicates = await duplicate_metrics(conn, **scope)
    held = await _holdings(db, run)
    rounds: dict[int, Counter[str]] = {}
    for t in turns:
        taken = rounds.setdefault(t["round"], Counter())
        if t["status"] == "completed" and t["role"]:
            taken[t["role"]] += 1
    return RunMetrics(
        summary=summary,
        rounds=[
            RoundRoles(round=r, roles=dict(c), distinct_roles=len(c))
            for r, c in sorted(rounds.items())
        ],
        agents=_flips(turns),
        holdings=held,
        abstentions=_abstentions(turns),
        interactions=graph,
        entropy_bits=round(shannon_bits(tokens), 6),
        duplicates=duplicates,
    )


async def _holdings(db: Database, run: Run) -> HoldingMetrics:
    """Role holdings on the run's board from its start to its end (or now)."""
    started = run.started_at or run.created_at
    ended = run.ended_at or datetime.now(UTC)
    scope = await scope_of(db, run.board_id, since=started, until=max(ended, started + SECOND))
    async with reading(db) as conn:
        return await holdings(conn, scope)


async def compare_runs(db: Database, run_ids: list[UUID]) -> RunComparison:
    """Return the runs' summaries in the order asked (NotFound names a missing one)."""
    summaries = []
    async with db.connection() as conn:
        for run_id in run_ids:
            run = await _run(conn, run_id)
            summaries.append(await _summary(conn, run, await q.run_turns(conn, run_id=run_id)))
    return RunComparison(runs=summaries)


async def _run(conn: Conn, run_id: UUID) -> Run:
    run = await run_store.get_run(conn, run_id=run_id)
    if run is None:
        raise NotFound("no run with this id", run_id=str(run_id))
    return run


async def _summary(conn: Conn, run: Run, turns: list[dict[str, Any]]) -> RunSummary:
    status = Counter(t["status"] for t in turns)
    roles = Counter(t["role"] for t in turns if t["status"] == "completed" and t["role"])
    decided = status["completed"] + status["abstained"]
    duplicates = await duplicate_metrics(conn, board_id=run.board_id, run_id=run.id)
    wall_time_s = None
    if run.started_at:
        ended = run.ended_at or datetime.now(UTC)
        wall_time_s = round((ended - run.started_at).total_seconds(), 3)
    return RunSummary(
        run_id=run.id,
        board_id=run.board_id,
        protocol=run.protocol,
        goal=run.goal,
        status=run.status,
        stop_reason=run.stop_reason,
        turns=TurnOutcomes(
            total=len(turns),
            completed=status["completed"],
            abstained=status["abstained"],
            timed_out=status["timed_out"],
            invalid=status["invalid"],
            offered=status["offered"],
        ),
        abstention_rate=status["abstained"] / decided if decided else None,
        distinct_roles=len(roles),
        roles=dict(roles),
        artifacts=await q.run_artifact_count(conn, board_id=run.board_id, run_id=run.id),
        duplicate_artifacts=duplicates.artifacts,
        tokens=run.tokens_used,
        wall_time_s=wall_time_s,
    )


def _flips(turns: list[dict[str, Any]]) -> list[RoleFlips]:
    roles: dict[UUID, list[str]] = defaultdict(list)
    for t in turns:
        if t["status"] == "completed" and t["role"]:
            roles[t["agent_id"]].append(t["role"])
    return [
        RoleFlips(
            agent_id=agent,
            claims=len(taken),
            distinct_roles=len(set(taken)),
            flips=sum(a != b for a, b in itertools.pairwise(taken)),
        )
        for agent, taken in sorted(roles.items())
    ]


def _abstentions(turns: list[dict[str, Any]]) -> AbstentionMetrics:
    """Per agent: abstained turns over decided turns. Turn abstentions name no role, so per
    role: none over the turns that took it."""
    by_agent: dict[UUID, Counter[str]] = defaultdict(Counter)
    taken: Counter[str] = Counter()
    for t in turns:
        if t["status"] in ("completed", "abstained"):
            by_agent[t["agent_id"]][t["status"]] += 1
        if t["status"] == "completed" and t["role"]:
            taken[t["role"]] += 1
    return AbstentionMetrics(
        total=sum(c["abstained"] for c in by_agent.values()),
        by_agent={
            a: rate(c["abstained"], c["abstained"] + c["completed"]) for a, c in by_agent.items()
        },
        by_role={r: rate(0, n) for r, n in taken.items()},
    )
