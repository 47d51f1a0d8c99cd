"""Role claims: who does what on a board, with leases and fencing tokens."""

from uuid import UUID, uuid4

from blackboard import telemetry
from blackboard.drafts import ClaimDraft
from blackboard.errors import Forbidden, LeaseLost, NotFound, RoleTaken
from blackboard.records import Agent, Claim
from blackboard.services import boards
from blackboard.store import claims as claim_store
from blackboard.store import events as event_store
from blackboard.store.database import Conn
from blackboard.store.events import EventDraft


def claimed_event(kind: str, claim: Claim) -> EventDraft:
    """Return the ledger event for something that happened to `claim`."""
    return EventDraft(
        kind,
        actor_id=claim.agent_id,
        subject_id=claim.id,
        data={
            "role": claim.role,
            "scope": claim.scope,
            "exclusive": claim.exclusive,
            "fencing_token": claim.fencing_token,
            "expires_at": claim.expires_at.isoformat(),
        },
    )


async def claim_role(conn: Conn, *, board_id: UUID, agent: Agent, draft: ClaimDraft) -> Claim:
    """Take a role (for a scope) on the board; RoleTaken if an active claim excludes it.

    An exclusive claim needs the slot to itself; shared claims coexist with each other but
    not with an exclusive one. Claiming again what the caller already holds renews it.
    """
    await boards.require(conn, board_id=board_id)
    scope = draft.scope or ""
    token = await claim_store.next_fencing_token(
        conn, board_id=board_id, role=draft.role, scope=scope
    )
    holders = await claim_store.active_in_slot(
        conn, board_id=board_id, role=draft.role, scope=scope
    )
    mine = [c for c in holders if c.agent_id == agent.id]
    if mine:
        # a renewal: counted on the claim's row, never logged (it would flood the log)
        renewed = await claim_store.extend(conn, claim_id=mine[0].id, ttl_s=draft.ttl_s)
        telemetry.ROLE_CLAIMS.labels("renewed").inc()
        return renewed
    blocking = [c for c in holders if c.exclusive or draft.exclusive]
    if blocking:
        holder = blocking[0]
        telemetry.ROLE_CLAIMS.labels("conflict").inc()
        raise RoleTaken(
            f"role {draft.role!r} is held by agent {holder.agent_id}",
            holder_id=str(holder.agent_id),
            claim_id=str(holder.id),
            expires_at=holder.expires_at.isoformat(),
        )
    claim = await claim_store.insert(
        conn,
        claim_id=uuid4(),
        board_id=board_id,
        agent_id=agent.id,
        role=draft.role,
        scope=scope,
        exclusive=draft.exclusive,
        fencing_token=token,
        ttl_s=draft.ttl_s,
        rationale=draft.rationale,
        confidence=draft.confidence,
    )
    data_event = claimed_event("role.claimed", claim)
    data_event.data.update(rationale=draft.rationale, confidence=draft.confidence)
    await event_store.append(conn, board_id=board_id, events=[data_event])
    telemetry.ROLE_CLAIMS.labels("claimed").inc()
    return claim


async def _held(conn: Conn, *, claim_id: UUID, agent: Agent) -> Claim:
    """Return the caller's claim, locked; 404 unknown, 403 someone else's, 409 not active."""
    claim = await claim_store.get(conn, claim_id=claim_id, lock="FOR UPDATE")
    if claim is None:
        raise NotFound("no claim with this id", claim_id=str(claim_id))
    if claim.agent_id != agent.id:
        raise Forbidden("this claim belongs to another agent")
    if claim.status != "active":
        raise LeaseLost(f"the claim is {claim.status}", claim_id=str(claim.id), status=claim.status)
    return claim


async def renew(conn: Conn, *, claim_id: UUID, agent: Agent, ttl_s: float) -> Claim:
    """Extend the caller's active claim; LeaseLost if its lease already ran out. The claim
    counts the renewal (`renewals`, `renewed_at`); the log gets no event for it."""
    claim = await _held(conn, claim_id=claim_id, agent=agent)
    return await claim_store.extend(conn, claim_id=claim.id, ttl_s=ttl_s)


async def release(conn: Conn, *, claim_id: UUID, agent: Agent) -> Claim:
    """Give up the caller's active claim; LeaseLost if it is no longer active."""
    claim = await _held(conn, claim_id=claim_id, agent=agent)
    released = await claim_store.end(conn, claim_id=claim.id, status="released")
    await event_store.append(
        conn, board_id=claim.board_id, events=[claimed_event("role.released", released)]
    )
    return released


async def get(conn: Conn, *, claim_id: UUID) -> Claim:
    """Return a claim or raise NotFound."""
    claim = await claim_store.get(conn, claim_id=claim_id)
    if claim is None:
        raise NotFound("no claim with this id", claim_id=str(claim_id))
    return claim


async def list_claims(
    conn: Conn,
    *,
    board_id: UUID,
    active: bool | None,
    role: str | None,
    agent_id: UUID | None,
    limit: int,
) -> list[Claim]:
    """Return the board's claims, newest first."""
    await boards.require(conn, board_id=board_id)
    return await claim_store.list_claims(
        conn, board_id=board_id, active=active, role=role, agent_id=agent_id, limit=limit
    )
