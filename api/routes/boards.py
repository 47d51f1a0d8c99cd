"""Boards."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import AdminDep, DatabaseDep, PrincipalDep
from api.errors import ERROR_RESPONSES
from api.routing import CheckedRoute
from api.schemas import Items
from blackboard.drafts import BoardDraft
from blackboard.records import Board
from blackboard.services import boards

router = APIRouter(
    route_class=CheckedRoute, prefix="/v1/boards", tags=["boards"], responses=ERROR_RESPONSES
)


@router.post("", status_code=201)
async def create_board(draft: BoardDraft, _: AdminDep, db: DatabaseDep) -> Board:
    """Create a board."""
    return await db.run(lambda conn: boards.create(conn, draft=draft))


@router.get("")
async def list_boards(
    _: PrincipalDep,
    db: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most 1,000.")] = 100,
    after: Annotated[str | None, Query(description="Name to continue after.")] = None,
) -> Items[Board]:
    """List boards by name."""
    async with db.connection() as conn:
        return Items(items=await boards.list_boards(conn, limit=limit, after=after))


@router.get("/{board_id}")
async def get_board(board_id: UUID, _: PrincipalDep, db: DatabaseDep) -> Board:
    """Return one board, with the seq of its newest event."""
    async with db.connection() as conn:
        return await boards.get(conn, board_id=board_id)
