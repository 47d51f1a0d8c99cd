"""Guards: keys of a board that only a role's claim holder may write."""

from uuid import UUID

from fastapi import APIRouter

from api.deps import AdminDep, DatabaseDep, PrincipalDep
from api.errors import ERROR_RESPONSES
from api.routing import CheckedRoute
from api.schemas import Items
from blackboard.drafts import GuardDraft
from blackboard.records import Guard
from blackboard.services import guards

router = APIRouter(tags=["guards"], responses=ERROR_RESPONSES, route_class=CheckedRoute)


@router.post("/v1/boards/{board_id}/guards", status_code=201)
async def create_guard(board_id: UUID, draft: GuardDraft, _: AdminDep, db: DatabaseDep) -> Guard:
    """Guard the keys the pattern covers: from now on a version of such a key must carry
    the `claim_id` of its author's live exclusive claim of `role` (for the scope the key's
    `{scope}` segment names). 409 GuardOverlaps, with the existing `guard`, if a key could
    match both this pattern and one already on the board; 422 InvalidPattern if the
    pattern is malformed."""
    return await db.run(lambda conn: guards.create(conn, board_id=board_id, draft=draft))


@router.get("/v1/boards/{board_id}/guards")
async def list_guards(board_id: UUID, _: PrincipalDep, db: DatabaseDep) -> Items[Guard]:
    """List the board's guards, oldest first (all of them: a board has few)."""
    async with db.connection() as conn:
        return Items(items=await guards.list_guards(conn, board_id=board_id))


@router.delete("/v1/guards/{guard_id}")
async def delete_guard(guard_id: UUID, _: AdminDep, db: DatabaseDep) -> Guard:
    """Remove a guard; its keys take anyone's writes again. Returns the removed guard."""
    return await db.run(lambda conn: guards.delete(conn, guard_id=guard_id))
