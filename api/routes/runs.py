"""Runs and turns: start a protocol, watch it, and take turns as an external agent."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import CurrentAgent, DatabaseDep, FeedsDep, PrincipalDep, SchemasDep
from api.errors import ERROR_RESPONSES
from api.routing import CheckedRoute
from api.schemas import Items
from blackboard.drafts import RunDraft, TurnAbstention, TurnCompletion
from blackboard.errors import Forbidden, NotFound
from blackboard.records import Abstention, Artifact, Claim, Run, Turn
from blackboard.services import runs, turns
from blackboard.store import runs as run_store

router = APIRouter(tags=["runs"], responses=ERROR_RESPONSES, route_class=CheckedRoute)


class RunDetail(BaseModel):
    """A run with its turns (each with its manifest), claims and abstentions."""

    run: Run
    turns: list[Turn]
    claims: list[Claim]
    abstentions: list[Abstention]


class Call(BaseModel):
    """What one call of the run saw and did: its context manifest and outcome."""

    turn_id: UUID
    step: int
    round: int
    phase: str
    agent_id: UUID
    status: str
    role: str | None
    manifest: dict[str, Any]
    model: str | None
    latency_ms: float | None
    tokens_in: int | None
    tokens_out: int | None
    call: dict[str, Any]


class TurnDone(BaseModel):
    """A completed turn and what was published in it."""

    turn: Turn
    artifacts: list[Artifact]


@router.post("/v1/boards/{board_id}/runs", status_code=201)
async def start_run(board_id: UUID, draft: RunDraft, _: PrincipalDep, db: DatabaseDep) -> Run:
    """Start a run of a protocol; a controller picks it up at once."""
    return await db.run(lambda conn: runs.create(conn, board_id=board_id, draft=draft))


@router.get("/v1/boards/{board_id}/runs")
async def list_runs(
    board_id: UUID,
    _: PrincipalDep,
    db: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most 1,000.")] = 100,
) -> Items[Run]:
    """The board's runs, newest first."""
    async with db.connection() as conn:
        return Items(items=await runs.list_runs(conn, board_id=board_id, limit=limit))


@router.get("/v1/runs/{run_id}")
async def get_run(run_id: UUID, _: PrincipalDep, db: DatabaseDep) -> RunDetail:
    """The run's state, its turns, and the claims and abstentions made in it."""
    async with db.connection() as conn:
        run, run_turns, claims, abstentions = await runs.detail(conn, run_id=run_id)
    return RunDetail(run=run, turns=run_turns, claims=claims, abstentions=abstentions)


@router.get("/v1/runs/{run_id}/calls")
async def run_calls(run_id: UUID, _: PrincipalDep, db: DatabaseDep) -> Items[Call]:
    """Every call of the run: what was shown, what was hidden, the model, tokens, latency,
    and the outcome."""
    async with db.connection() as conn:
        await runs.get(conn, run_id=run_id)
        run_turns = await run_store.turns_of(conn, run_id=run_id)
    return Items(
        items=[
            Call(
                turn_id=t.id,
                step=t.step,
                round=t.round,
                phase=t.phase,
                agent_id=t.agent_id,
                status=t.status,
                role=t.role,
                manifest=t.manifest,
                model=t.call.get("model"),
                latency_ms=t.call.get("latency_ms"),
                tokens_in=t.call.get("tokens_in"),
                tokens_out=t.call.get("tokens_out"),
                call=t.call,
            )
            for t in run_turns
        ]
    )


@router.get("/v1/agents/me/turns")
async def my_turns(
    agent: CurrentAgent,
    db: DatabaseDep,
    feeds: FeedsDep,
    wait: Annotated[float, Query(ge=0, le=60, description="Seconds to wait for one.")] = 0,
) -> Items[Turn]:
    """Turns offered to you, each with its context bundle (all you get to see)."""
    return Items(items=await turns.offered_within(db, feeds, agent=agent, wait_s=wait))


@router.get("/v1/turns/{turn_id}")
async def get_turn(turn_id: UUID, principal: PrincipalDep, db: DatabaseDep) -> Turn:
    """One turn (your own, or any for the operator)."""
    async with db.connection() as conn:
        found = await run_store.get_turn(conn, turn_id=turn_id)
    if found is None:
        raise NotFound("no turn with this id", turn_id=str(turn_id))
    turn = found[0]
    if principal.agent is not None and principal.agent.id != turn.agent_id:
        raise Forbidden("this turn was offered to another agent")
    return turn


@router.post("/v1/turns/{turn_id}/complete")
async def complete_turn(
    turn_id: UUID, draft: TurnCompletion, agent: CurrentAgent, db: DatabaseDep, schemas: SchemasDep
) -> TurnDone:
    """Take your turn: claim a role and publish under it (409 LeaseLost once it closed)."""
    turn, published = await db.run(
        lambda conn: turns.complete(
            conn,
            turn_id=turn_id,
            agent=agent,
            role=draft.role,
            drafts=draft.artifacts,
            rationale=draft.rationale,
            confidence=draft.confidence,
            schemas=schemas,
        ),
        atomic=False,  # one statement: the claim, the artifacts, the turn and their events
    )
    return TurnDone(turn=turn, artifacts=published)


@router.post("/v1/turns/{turn_id}/abstain")
async def abstain_turn(
    turn_id: UUID, draft: TurnAbstention, agent: CurrentAgent, db: DatabaseDep
) -> Turn:
    """Decline your turn, saying why."""
    return await db.run(
        lambda conn: turns.abstain(
            conn, turn_id=turn_id, agent=agent, reason=draft.reason, confidence=draft.confidence
        ),
        atomic=False,  # one statement: the abstention, the turn and their events
    )
