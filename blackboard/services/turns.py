"""Turns from the agent's side: completing one (claim the role, publish with fencing) or
abstaining — the same path for external agents over REST and for model-backed agents."""

from typing import Any
from uuid import UUID, uuid4

from blackboard import telemetry
from blackboard.drafts import ArtifactDraft
from blackboard.errors import Forbidden, LeaseLost, NotFound
from blackboard.records import Agent, Artifact, Turn
from blackboard.services import artifacts
from blackboard.services.schemas import SchemaCache
from blackboard.store import claims as claim_store
from blackboard.store import events as event_store
from blackboard.store import runs as run_store
from blackboard.store.database import Conn
from blackboard.store.events import EventDraft


def turn_event(kind: str, turn: Turn, **data: Any) -> EventDraft:
    """Return the board event for something that happened to a turn."""
    return EventDraft(
        kind,
        actor_id=turn.agent_id,
        subject_id=turn.id,
        data={
            "run_id": str(turn.run_id),
            "agent_id": str(turn.agent_id),
            "step": turn.step,
            "round": turn.round,
            "phase": turn.phase,
            **data,
        },
    )


async def _open_turn(conn: Conn, *, turn_id: UUID, agent: Agent, offered: Turn | None) -> Turn:
    """Lock the turn and check that `agent` may still answer it; return it.

    A caller that holds the offered turn already (the controller) passes it as `offered`,
    and only the turn's state is read; otherwise the whole turn is."""
    if offered is None:
        found = await run_store.get_turn(conn, turn_id=turn_id, lock=True)
        if found is None:
            raise NotFound("no turn with this id", turn_id=str(turn_id))
        turn, still_open = found
        state = run_store.TurnState(turn.agent_id, turn.status, still_open)
    else:
        turn = offered
        locked = await run_store.turn_state(conn, turn_id=turn_id, lock=True)
        if locked is None:
            raise NotFound("no turn with this id", turn_id=str(turn_id))
        state = locked
    if state.agent_id != agent.id:
        raise Forbidden("this turn was offered to another agent")
    if state.status != "offered" or not state.open:
        status = state.status if state.status != "offered" else "timed_out"
        raise LeaseLost(f"the turn is closed ({status})", turn_id=str(turn_id), status=status)
    return turn


async def complete(
    conn: Conn,
    *,
    turn_id: UUID,
    agent: Agent,
    role: str,
    drafts: list[ArtifactDraft],
    rationale: str | None,
    confidence: float | None,
    schemas: SchemaCache,
    call: dict[str, Any] | None = None,
    tokens: int = 0,
    offered: Turn | None = None,
) -> tuple[Turn, list[Artifact]]:
    """Claim the role for this turn and publish under that claim; close the turn.
    (`offered`: the turn as the caller has it, if it does; see `_open_turn`.)"""
    turn = await _open_turn(conn, turn_id=turn_id, agent=agent, offered=offered)
    # The scope is this turn's own step: nobody else can hold it, so one statement claims it.
    claim = await claim_store.claim_own_scope(
        conn,
        claim_id=uuid4(),
        board_id=turn.board_id,
        agent_id=agent.id,
        role=role,
        scope=f"run:{turn.run_id}:step:{turn.step}",
        ttl_s=60.0,
        rationale=rationale,
        confidence=confidence,
    )
    tag = f"run:{turn.run_id}"
    fenced = [
        d.model_copy(
            update={"claim_id": claim.id, "role": None, "tags": list(dict.fromkeys([*d.tags, tag]))}
        )
        for d in drafts
    ]
    published = await artifacts.publish(
        conn,
        board_id=turn.board_id,
        author=agent,
        drafts=fenced,
        idempotency_key=None,
        schemas=schemas,
        batch=True,
        held_claim=claim,
    )
    closed = await run_store.complete_turn(
        conn,
        turn=turn,
        role=role,
        rationale=rationale,
        artifact_ids=[a.id for a in published.artifacts],
        claim_id=claim.id,
        call=call,
        tokens=tokens,
    )
    assert closed is not None  # the turn row is locked by this transaction
    telemetry.ROLE_CLAIMS.labels("claimed").inc()
    telemetry.ARTIFACTS_PUBLISHED.inc(len(published.artifacts))  # publish leaves it to us
    telemetry.CONTROLLER_TURNS.labels(closed.status).inc()
    return closed, published.artifacts


async def abstain(
    conn: Conn,
    *,
    turn_id: UUID,
    agent: Agent,
    reason: str,
    confidence: float | None,
    call: dict[str, Any] | None = None,
    tokens: int = 0,
    offered: Turn | None = None,
) -> Turn:
    """Record the abstention in the ledger and close the turn as abstained.
    (`offered`: as for `complete`.)"""
    turn = await _open_turn(conn, turn_id=turn_id, agent=agent, offered=offered)
    closed = await run_store.abstain_turn(
        conn,
        turn=turn,
        abstention_id=uuid4(),
        reason=reason,
        confidence=confidence,
        call=call,
        tokens=tokens,
    )
    assert closed is not None  # the turn row is locked by this transaction
    telemetry.CONTROLLER_TURNS.labels(closed.status).inc()
    return closed


async def close_unanswered(
    conn: Conn,
    *,
    turn: Turn,
    status: str,
    reason: str,
    call: dict[str, Any] | None = None,
    tokens: int = 0,
) -> Turn | None:
    """Close a turn the agent did not answer validly: 'timed_out' or 'invalid'; None if it
    was closed already.

    Locks in the order `complete` and `abstain` take them — the turn, the board (its event
    log), then the run (its counters) — so that turns of one run closing at once never
    deadlock. Call it inside a transaction.
    """
    state = await run_store.turn_state(conn, turn_id=turn.id, lock=True)
    if state is None or state.status != "offered":
        return None
    await event_store.append(
        conn,
        board_id=turn.board_id,
        events=[turn_event(f"turn.{status}", turn, reason=reason)],
    )
    closed = await run_store.close_turn(
        conn, turn=turn, status=status, reason=reason, call=call, tokens=tokens
    )
    assert closed is not None  # the turn is locked and was still offered
    telemetry.CONTROLLER_TURNS.labels(closed.status).inc()
    return closed


async def offered_to(conn: Conn, *, agent: Agent, limit: int = 20) -> list[Turn]:
    """Return the turns waiting for this agent."""
    return await run_store.offered_to(conn, agent_id=agent.id, limit=limit)
