"""Turns from the agent's side: completing one (claim the role, publish with fencing) or
abstaining — the same path for external agents over REST and for model-backed agents."""

import asyncio
import contextlib
import time
from typing import Any
from uuid import UUID, uuid4

from blackboard import telemetry
from blackboard.drafts import ArtifactDraft
from blackboard.errors import Forbidden, LeaseLost, NotFound
from blackboard.records import Agent, Artifact, Turn
from blackboard.services import artifacts
from blackboard.services.feed import Feeds
from blackboard.services.schemas import SchemaCache
from blackboard.store import events as event_store
from blackboard.store import runs as run_store
from blackboard.store.artifact_writes import TurnDone
from blackboard.store.database import Conn, Database
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


async def _answerable(conn: Conn, *, turn_id: UUID, agent: Agent) -> Turn:
    """Return the turn if `agent` may still answer it: a first look, without a lock, for a
    clear answer before any work; the statement that answers checks again under the lock."""
    found = await run_store.get_turn(conn, turn_id=turn_id)
    if found is None:
        raise NotFound("no turn with this id", turn_id=str(turn_id))
    turn, still_open = found
    if turn.agent_id != agent.id:
        raise Forbidden.not_your_turn(str(turn_id))
    if turn.status != "offered" or not still_open:
        closed_as = "timed_out" if turn.status == "offered" else turn.status
        raise LeaseLost.on_turn(str(turn_id), closed_as)
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
    """Claim the role for this turn, publish under that claim and close the turn — in the
    one statement that publishes (store/artifact_writes.py), which locks the turn first
    and checks it under the lock. (`offered`: the turn as the caller has it, if it does;
    then it is not read at all.)"""
    turn = offered or await _answerable(conn, turn_id=turn_id, agent=agent)
    done = TurnDone(
        turn_id=turn.id,
        run_id=turn.run_id,
        step=turn.step,
        agent_id=agent.id,
        claim_id=uuid4(),
        role=role,
        rationale=rationale,
        confidence=confidence,
        call=call or {},
        tokens=tokens,
    )
    tag = f"run:{turn.run_id}"
    tagged = [
        d.model_copy(update={"role": None, "tags": list(dict.fromkeys([*d.tags, tag]))})
        for d in drafts
    ]
    published = await artifacts.publish(
        conn,
        board_id=turn.board_id,
        author=agent,
        drafts=tagged,
        idempotency_key=None,
        schemas=schemas,
        batch=True,
        items_at="/artifacts",
        completing=done,
    )
    assert published.closed_turn is not None
    closed = run_store.completed(
        turn,
        published.closed_turn,
        role=role,
        rationale=rationale,
        artifact_ids=[a.id for a in published.artifacts],
        claim_id=done.claim_id,
        call=done.call,
    )
    telemetry.ROLE_CLAIMS.labels("claimed").inc()  # the artifacts: publish counts them
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
    """Record the abstention in the ledger and close the turn as abstained — one statement,
    which locks the turn and checks it, as for `complete`. (`offered`: as for `complete`.)"""
    turn = offered or await _answerable(conn, turn_id=turn_id, agent=agent)
    closed = await run_store.abstain_turn(
        conn,
        turn=turn,
        agent_id=agent.id,
        abstention_id=uuid4(),
        reason=reason,
        confidence=confidence,
        call=call,
        tokens=tokens,
    )
    if closed is None:
        raise NotFound("no turn with this id", turn_id=str(turn_id))
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


async def offered_within(db: Database, feeds: Feeds, *, agent: Agent, wait_s: float) -> list[Turn]:
    """Return the turns waiting for this agent; with `wait_s`, wait up to that long for one."""
    deadline = time.monotonic() + wait_s
    with feeds.following():
        while True:
            async with db.connection() as conn:
                offered = await offered_to(conn, agent=agent)
            remaining = deadline - time.monotonic()
            if offered or remaining <= 0:
                return offered
            changed = feeds.any_changed  # any board moved: a turn may have been offered
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=min(remaining, feeds.fallback_s))
