"""The board event log: pages, long-polls, and Server-Sent Events."""

from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent

from api.deps import DatabaseDep, ExistingBoard, FeedsDep, PrincipalDep
from api.errors import ERROR_RESPONSES
from api.schemas import EventPage
from blackboard import telemetry
from blackboard.errors import InvalidInput
from blackboard.services import events
from blackboard.services.feed import EventFilter

router = APIRouter(prefix="/v1/boards/{board_id}", tags=["events"], responses=ERROR_RESPONSES)

KindQuery = Annotated[
    list[str] | None, Query(description="Event kinds (repeat or comma-separate).")
]
TypeQuery = Annotated[
    list[str] | None,
    Query(description="Artifact types the event concerns (repeat or comma-separate)."),
]


def _split(values: list[str] | None) -> frozenset[str] | None:
    if not values:
        return None
    return frozenset(v for item in values for v in item.split(",") if v)


def event_filter(kind: list[str] | None, type: list[str] | None) -> EventFilter:
    """Accept `kind=a&kind=b` and `kind=a,b` alike (and the same for `type`)."""
    return EventFilter(kinds=_split(kind), types=_split(type))


@router.get("/events")
async def read_events(
    board_id: UUID,
    _: PrincipalDep,
    db: DatabaseDep,
    feeds: FeedsDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    kind: KindQuery = None,
    type: TypeQuery = None,
    wait: Annotated[
        float, Query(ge=0, le=60, description="Seconds to wait for a newer event.")
    ] = 0,
) -> EventPage:
    """Return events after a seq, oldest first; with `wait`, long-poll until one exists.

    `next_after` may pass the last item when events in between did not match the filter."""
    items, cursor = await events.read(
        db,
        feeds,
        board_id=board_id,
        after=after,
        limit=limit,
        only=event_filter(kind, type),
        wait_s=wait,
    )
    return EventPage(items=items, next_after=cursor)


async def resume_point(
    after: Annotated[int | None, Query(ge=0, description="Start after this seq.")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> int:
    """Where a stream starts: after `Last-Event-ID` or `?after=`, whichever is later."""
    start = after if after is not None else 0
    if last_event_id:
        if not last_event_id.isdigit():
            raise InvalidInput("Last-Event-ID must be a seq (a whole number)")
        start = max(start, int(last_event_id))
    return start


@router.get("/events/stream", response_class=EventSourceResponse)
async def stream_events(
    board_id: ExistingBoard,
    start: Annotated[int, Depends(resume_point)],
    _: PrincipalDep,
    feeds: FeedsDep,
    kind: KindQuery = None,
    type: TypeQuery = None,
) -> AsyncIterator[ServerSentEvent]:
    """Stream the board's events as Server-Sent Events: `id` is the seq, `event` the kind,
    `data` the event as JSON. Reconnect with `Last-Event-ID` (or `?after=`) to resume.

    Problems with the request (an unknown board, a bad Last-Event-ID) are answered with an
    error before the stream starts: the checks run as dependencies."""
    with telemetry.SSE_SUBSCRIBERS.track_inprogress():
        async for event in events.stream(
            feeds, board_id=board_id, after=start, only=event_filter(kind, type)
        ):
            # no is_disconnected() per event: a client that hangs up ends the response, and
            # FastAPI then closes this generator
            yield ServerSentEvent(
                id=str(event.seq), event=event.kind, raw_data=feeds.encode(board_id, event)
            )
