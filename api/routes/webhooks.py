"""Webhooks: a board's events delivered as signed POSTs, for agents that hold no connection."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from api.deps import DatabaseDep, PrincipalDep
from api.errors import ERROR_RESPONSES
from api.routing import CheckedRoute
from api.schemas import Items
from blackboard.drafts import WebhookDraft
from blackboard.records import Webhook, WebhookCreated, WebhookDelivery
from blackboard.services import webhooks

router = APIRouter(tags=["webhooks"], responses=ERROR_RESPONSES, route_class=CheckedRoute)


@router.post("/v1/boards/{board_id}/webhooks", status_code=201)
async def register_webhook(
    board_id: UUID, draft: WebhookDraft, caller: PrincipalDep, db: DatabaseDep
) -> WebhookCreated:
    """Register a URL to receive the board's events (filtered by kind and artifact type),
    one signed POST per event, in order; the answer carries the signing secret, only once."""
    return await db.run(
        lambda conn: webhooks.register(conn, board_id=board_id, owner=caller.agent, draft=draft)
    )


@router.get("/v1/boards/{board_id}/webhooks")
async def list_webhooks(board_id: UUID, caller: PrincipalDep, db: DatabaseDep) -> Items[Webhook]:
    """List the board's webhooks: all of them for the operator, your own for an agent."""
    async with db.connection() as conn:
        found = await webhooks.list_webhooks(conn, board_id=board_id, caller=caller.agent)
    return Items(items=found)


@router.get("/v1/webhooks/{webhook_id}")
async def get_webhook(webhook_id: UUID, caller: PrincipalDep, db: DatabaseDep) -> Webhook:
    """Return one webhook (yours, or any for the operator) with its delivery position."""
    async with db.connection() as conn:
        return await webhooks.get_owned(conn, webhook_id=webhook_id, caller=caller.agent)


@router.delete("/v1/webhooks/{webhook_id}", status_code=204)
async def remove_webhook(webhook_id: UUID, caller: PrincipalDep, db: DatabaseDep) -> Response:
    """Stop delivering to a webhook; its delivery history stays readable."""
    await db.run(lambda conn: webhooks.remove(conn, webhook_id=webhook_id, caller=caller.agent))
    return Response(status_code=204)


@router.get("/v1/webhooks/{webhook_id}/deliveries")
async def list_deliveries(
    webhook_id: UUID,
    caller: PrincipalDep,
    db: DatabaseDep,
    after: Annotated[int, Query(ge=0, description="Attempts with an id above this.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most 1,000.")] = 100,
) -> Items[WebhookDelivery]:
    """Every delivery attempt, oldest first: the event, the outcome, the status, the error."""
    async with db.connection() as conn:
        found = await webhooks.deliveries(
            conn, webhook_id=webhook_id, caller=caller.agent, after=after, limit=limit
        )
    return Items(items=found)
