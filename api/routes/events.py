"""The board event log: pages, long-polls, and Server-Sent Events."""

import time
from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse
from fastapi.sse import KEEPALIVE_COMMENT, format_sse_event

from api.deps import DatabaseDep, ExistingBoard, FeedsDep, PrincipalDep, SettingsDep
from api.errors import ERROR_RESPONSES
from api.routing import CheckedRoute
from api.schemas import EventPage
from blackboard import telemetry
from blackboard.errors import InvalidInput
from blackboard.records import Event
from blackboard.services import events
from blackboard.services.feed import EventFilter, Feeds


class EventStream(StreamingResponse):
    """A `text/event-stream` body written by `_frames` (not FastAPI's `EventSourceResponse`:
    that class makes FastAPI drive the endpoint as a generator of single events)."""

    media_type = "text/event-stream"


router = APIRouter(
    route_class=CheckedRoute,
    prefix="/v1/boards/{board_id}",
    tags=["events"],
    responses=ERROR_RESPONSES,
)

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


def sse_frame(event: Event) -> bytes:
    """An event as one Server-Sent Events frame: `id` its seq, `event` its kind, `data` the
    event as JSON (what every stream subscriber gets; the board feeds keep it, see app.py)."""
    return format_sse_event(id=str(event.seq), event=event.kind, data_str=event.model_dump_json())


async def _frames(
    feeds: Feeds, board_id: UUID, start: int, only: EventFilter, keepalive_s: float
) -> AsyncIterator[bytes]:
    """The stream's body: each batch of ready events as one write of SSE frames.

    Why not one yielded `ServerSentEvent` per event: FastAPI's SSE generator path makes
    every event its own write, passed through two tasks and every middleware's `send`.
    At 50 subscribers x 200 events/s that alone saturated a 2-core machine and delivery
    fell seconds behind (bench/bench_live.py). Batched, a subscriber that falls behind
    catches up in fewer, larger writes, so the cost per event falls as the load rises.
    A comment line every `keepalive_s` on a quiet board keeps proxies from closing it."""
    with telemetry.SSE_SUBSCRIBERS.track_inprogress():
        quiet_since = time.monotonic()
        async for frames in events.stream_frames(
            feeds, board_id=board_id, after=start, only=only, idle_s=keepalive_s
        ):
            if frames:
                yield frames
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= keepalive_s:
                yield KEEPALIVE_COMMENT
                quiet_since = time.monotonic()


@router.get(
    "/events/stream",
    response_class=EventStream,
    responses={
        200: {
            "description": "Server-Sent Events: `id` is the seq, `event` the kind, `data` "
            "the event as JSON; a `: ping` comment while the board is quiet "
            "(every `BLACKBOARD_STREAM_KEEPALIVE_S`, 15 s by default).",
            "content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/Event"}}},
        }
    },
)
async def stream_events(
    board_id: ExistingBoard,
    start: Annotated[int, Depends(resume_point)],
    _: PrincipalDep,
    feeds: FeedsDep,
    settings: SettingsDep,
    kind: KindQuery = None,
    type: TypeQuery = None,
) -> EventStream:
    """Stream the board's events as Server-Sent Events: `id` is the seq, `event` the kind,
    `data` the event as JSON. Reconnect with `Last-Event-ID` (or `?after=`) to resume.

    Problems with the request (an unknown board, a bad Last-Event-ID) are answered with an
    error before the stream starts: the checks run as dependencies."""
    return EventStream(
        _frames(feeds, board_id, start, event_filter(kind, type), settings.stream_keepalive_s),
        # as FastAPI's own SSE responses: no caching, and no buffering in nginx
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
