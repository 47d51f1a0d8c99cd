"""The board event log."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import DatabaseDep, PrincipalDep
from api.errors import ERROR_RESPONSES
from api.schemas import EventPage
from blackboard.services import events

router = APIRouter(prefix="/v1/boards/{board_id}", tags=["events"], responses=ERROR_RESPONSES)


def parse_kinds(kind: list[str] | None) -> list[str] | None:
    """Accept `kind=a&kind=b` and `kind=a,b` alike."""
    if not kind:
        return None
    return [k for item in kind for k in item.split(",") if k]


@router.get("/events")
async def read_events(
    board_id: UUID,
    _: PrincipalDep,
    db: DatabaseDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    kind: Annotated[
        list[str] | None, Query(description="Event kinds (repeat or comma-separate).")
    ] = None,
    wait: Annotated[
        float, Query(ge=0, le=60, description="Seconds to wait for a newer event.")
    ] = 0,
) -> EventPage:
    """Return events after a seq, oldest first; with `wait`, long-poll until one exists."""
    items = await events.read(
        db, board_id=board_id, after=after, limit=limit, kinds=parse_kinds(kind), wait_s=wait
    )
    return EventPage(items=items, next_after=items[-1].seq if items else after)
