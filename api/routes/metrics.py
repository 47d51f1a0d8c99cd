"""Population metrics: how a board's agents (or a run's) coordinate, as JSON."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from api.deps import DatabaseDep, PrincipalDep
from api.errors import ERROR_RESPONSES
from api.routing import CheckedRoute
from blackboard.metrics import board
from blackboard.metrics.models import (
    AbstentionMetrics,
    BoardMetrics,
    ClaimMetrics,
    DuplicateMetrics,
    EntropyMetrics,
    HoldingMetrics,
    InteractionGraph,
    RoleMetrics,
    RunComparison,
    RunMetrics,
    TaskMetrics,
)
from blackboard.metrics.runs import MAX_COMPARED, compare_runs, run_metrics
from blackboard.store.database import Conn

router = APIRouter(tags=["metrics"], responses=ERROR_RESPONSES, route_class=CheckedRoute)
T = TypeVar("T")


def _utc(moment: datetime | None) -> datetime | None:
    # A time without an offset is UTC, as the database reads it (its sessions run in UTC).
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class Range:
    """The time range and window size every board metric takes."""

    def __init__(
        self,
        since: Annotated[
            datetime | None,
            Query(
                description="Count from this time on (ISO 8601), rounded down to a whole "
                "second since the board's creation (the answer says what was counted)."
            ),
        ] = None,
        until: Annotated[
            datetime | None,
            Query(
                description="Count up to, not including, this time, rounded up to a whole "
                "second since the board's creation."
            ),
        ] = None,
        window_s: Annotated[
            int | None,
            Query(
                ge=1,
                le=30 * 86400,
                description="Window length in seconds for series over time; default: the "
                "range cut into about 20 windows. At most 1000 windows per range.",
            ),
        ] = None,
    ) -> None:
        self.since, self.until, self.window_s = _utc(since), _utc(until), window_s


RangeDep = Annotated[Range, Depends()]


def _json(metrics: BaseModel) -> Response:
    # Built from trusted rows: FastAPI would otherwise validate every edge and window again
    # (a board's graph can have thousands of edges).
    return Response(metrics.model_dump_json(), media_type="application/json")


async def _measure(
    db: DatabaseDep, board_id: UUID, r: Range, metric: Callable[[Conn, board.Scope], Awaitable[T]]
) -> T:
    scope = await board.scope_of(db, board_id, since=r.since, until=r.until, window_s=r.window_s)
    async with db.connection() as conn:
        return await metric(conn, scope)


@router.get("/v1/boards/{board_id}/metrics", response_model=BoardMetrics)
async def board_metrics(board_id: UUID, _: PrincipalDep, db: DatabaseDep, r: RangeDep) -> Response:
    """Every population metric of the board at once (each is also its own endpoint)."""
    return _json(
        await board.board_metrics(db, board_id, since=r.since, until=r.until, window_s=r.window_s)
    )


@router.get("/v1/boards/{board_id}/metrics/roles", response_model=RoleMetrics)
async def role_metrics(board_id: UUID, _: PrincipalDep, db: DatabaseDep, r: RangeDep) -> Response:
    """Role distribution over time (claims per role per window, distinct roles) and role
    flipping: per agent, claims of a role other than its previous one."""
    return _json(await _measure(db, board_id, r, board.roles))


@router.get("/v1/boards/{board_id}/metrics/holdings", response_model=HoldingMetrics)
async def holding_metrics(
    board_id: UUID, _: PrincipalDep, db: DatabaseDep, r: RangeDep
) -> Response:
    """Role holdings per window: each role with the agents that held it at any moment of the
    window (a claim counts from its start until released or expired), and how many
    distinct roles were held."""
    return _json(await _measure(db, board_id, r, board.holdings))


@router.get("/v1/boards/{board_id}/metrics/abstentions", response_model=AbstentionMetrics)
async def abstention_metrics(
    board_id: UUID, _: PrincipalDep, db: DatabaseDep, r: RangeDep
) -> Response:
    """Abstention rate per agent (abstentions over abstentions + role claims + task claims)
    and per role (abstentions naming it over those + claims of it)."""
    return _json(await _measure(db, board_id, r, board.abstentions))


@router.get("/v1/boards/{board_id}/metrics/claims", response_model=ClaimMetrics)
async def claim_metrics(board_id: UUID, _: PrincipalDep, db: DatabaseDep, r: RangeDep) -> Response:
    """Role-claim success (released over released + expired) and lease-expiry rates, overall,
    per role and per agent; task leases and how many ran out."""
    return _json(await _measure(db, board_id, r, board.claims))


@router.get("/v1/boards/{board_id}/metrics/tasks", response_model=TaskMetrics)
async def task_metrics(board_id: UUID, _: PrincipalDep, db: DatabaseDep, r: RangeDep) -> Response:
    """Tasks posted, completed, finally failed, open and leased; completion rate and latency
    (seconds from posting to completion)."""
    return _json(await _measure(db, board_id, r, board.tasks))


@router.get("/v1/boards/{board_id}/metrics/interactions", response_model=InteractionGraph)
async def interaction_metrics(
    board_id: UUID, _: PrincipalDep, db: DatabaseDep, r: RangeDep
) -> Response:
    """The interaction graph: producer → consumer edges weighted by artifacts built on the
    producer's (parents) and by the producer's artifacts shown in the consumer's turns."""
    return _json(await _measure(db, board_id, r, board.interactions))


@router.get("/v1/boards/{board_id}/metrics/entropy", response_model=EntropyMetrics)
async def entropy_metrics(
    board_id: UUID, _: PrincipalDep, db: DatabaseDep, r: RangeDep
) -> Response:
    """Communication entropy per window: Shannon entropy of the tokens (lower-cased words)
    in the string values of the artifacts published; falling entropy signals convergence."""
    return _json(await _measure(db, board_id, r, board.entropy))


@router.get("/v1/boards/{board_id}/metrics/duplicates", response_model=DuplicateMetrics)
async def duplicate_metrics(
    board_id: UUID, _: PrincipalDep, db: DatabaseDep, r: RangeDep
) -> Response:
    """Duplicate work: content hashes published by more than one agent (first 100 groups)."""
    return _json(await _measure(db, board_id, r, board.duplicates))


# Before /v1/runs/{run_id} (routes match in order): "compare" is not a run id.
@router.get("/v1/runs/compare", response_model=RunComparison)
async def compare(
    _: PrincipalDep,
    db: DatabaseDep,
    run_id: Annotated[
        list[UUID],
        Query(
            min_length=1,
            max_length=MAX_COMPARED,
            description="The runs to put side by side (repeat the parameter).",
        ),
    ],
) -> Response:
    """Runs side by side — typically different protocols on the same goal: turns,
    abstentions, distinct roles, artifacts, duplicate work, tokens and wall time."""
    return _json(await compare_runs(db, run_id))


@router.get("/v1/runs/{run_id}/metrics", response_model=RunMetrics)
async def metrics_of_run(run_id: UUID, _: PrincipalDep, db: DatabaseDep) -> Response:
    """A run's population metrics: its summary, roles per round, role flips, abstention
    rates, interaction graph, entropy of its content, and duplicate work."""
    return _json(await run_metrics(db, run_id))
