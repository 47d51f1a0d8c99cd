"""Role claims and abstentions: the coordination ledger."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Query

from api.deps import CurrentAgent, DatabaseDep, PrincipalDep
from api.errors import ERROR_RESPONSES
from api.routing import CheckedRoute
from api.schemas import AbstentionPage, Items
from blackboard.drafts import AbstentionDraft, ClaimDraft, RenewDraft
from blackboard.records import Abstention, Claim
from blackboard.services import abstentions, claims

router = APIRouter(tags=["claims"], responses=ERROR_RESPONSES, route_class=CheckedRoute)


@router.post("/v1/boards/{board_id}/claims", status_code=201)
async def claim_role(
    board_id: UUID, draft: ClaimDraft, agent: CurrentAgent, db: DatabaseDep
) -> Claim:
    """Claim a role (optionally for a scope) with a lease; 409 RoleTaken if someone holds it."""
    return await db.run(
        lambda conn: claims.claim_role(conn, board_id=board_id, agent=agent, draft=draft)
    )


@router.get("/v1/boards/{board_id}/claims")
async def list_claims(
    board_id: UUID,
    _: PrincipalDep,
    db: DatabaseDep,
    active: bool | None = None,
    role: Annotated[str | None, Query(max_length=128)] = None,
    agent: Annotated[UUID | None, Query(description="Holder agent id.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most 1,000.")] = 100,
) -> Items[Claim]:
    """List the board's claims, newest first."""
    async with db.connection() as conn:
        return Items(
            items=await claims.list_claims(
                conn, board_id=board_id, active=active, role=role, agent_id=agent, limit=limit
            )
        )


@router.get("/v1/claims/{claim_id}")
async def get_claim(claim_id: UUID, _: PrincipalDep, db: DatabaseDep) -> Claim:
    """Return one claim."""
    async with db.connection() as conn:
        return await claims.get(conn, claim_id=claim_id)


@router.post("/v1/claims/{claim_id}/renew")
async def renew_claim(
    claim_id: UUID,
    agent: CurrentAgent,
    db: DatabaseDep,
    draft: Annotated[RenewDraft | None, Body()] = None,
) -> Claim:
    """Extend your claim's lease; 409 LeaseLost if it already ran out or was released."""
    ttl_s = (draft or RenewDraft()).ttl_s
    return await db.run(
        lambda conn: claims.renew(conn, claim_id=claim_id, agent=agent, ttl_s=ttl_s)
    )


@router.delete("/v1/claims/{claim_id}")
async def release_claim(claim_id: UUID, agent: CurrentAgent, db: DatabaseDep) -> Claim:
    """Release your claim; 409 LeaseLost if it is no longer active."""
    return await db.run(lambda conn: claims.release(conn, claim_id=claim_id, agent=agent))


@router.post("/v1/boards/{board_id}/abstentions", status_code=201)
async def abstain(
    board_id: UUID, draft: AbstentionDraft, agent: CurrentAgent, db: DatabaseDep
) -> Abstention:
    """Record that you decline a scope or role, and why."""
    return await db.run(
        lambda conn: abstentions.abstain(
            conn,
            board_id=board_id,
            agent=agent,
            reason=draft.reason,
            scope=draft.scope,
            role=draft.role,
            confidence=draft.confidence,
        )
    )


@router.get("/v1/boards/{board_id}/abstentions")
async def list_abstentions(
    board_id: UUID,
    _: PrincipalDep,
    db: DatabaseDep,
    agent: Annotated[UUID | None, Query(description="Abstaining agent id.")] = None,
    role: Annotated[str | None, Query(max_length=128)] = None,
    task: Annotated[UUID | None, Query(description="Task id.")] = None,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most 1,000.")] = 100,
) -> AbstentionPage:
    """List abstentions in seq order, with counts per agent and per role."""
    async with db.connection() as conn:
        items, by_agent, by_role = await abstentions.list_abstentions(
            conn,
            board_id=board_id,
            agent_id=agent,
            role=role,
            task_id=task,
            after=after,
            limit=limit,
        )
    return AbstentionPage(
        items=items,
        next_after=items[-1].seq if items else after,
        counts={"by_agent": by_agent, "by_role": by_role},
    )
