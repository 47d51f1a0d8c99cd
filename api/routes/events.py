"""The board event log: pages, long-polls, and Server-Sent Events."""

import re
import time
from collections.abc import AsyncIterator
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from fastapi.sse import KEEPALIVE_COMMENT, format_sse_event
from starlette.types import Receive, Scope, Send

from api.deps import DatabaseDep, ExistingBoard, FeedsDep, PrincipalDep, SettingsDep
from api.direct_writes import direct_writer
from api.errors import ERROR_RESPONSES
from api.routing import CheckedRoute
from api.schemas import EventPage
from api.stream_guard import BODY_SEND
from blackboard import telemetry
from blackboard.errors import FieldError, InvalidInput
from blackboard.records import Event
from blackboard.services import events
from blackboard.services.event_filter import EventFilter
from blackboard.services.feed import Feeds
from blackboard.services.parking import Write
from blackboard.store.outages import until_unavailable


class EventStream(StreamingResponse):
    """A `text/event-stream` body written by `_frames` (not FastAPI's `EventSourceResponse`:
    that class makes FastAPI drive the endpoint as a generator of single events).

    The body's chunks go through the stall guard's sender (api/stream_guard.py), not
    through every middleware's `send`; the response's start and end still do."""

    media_type = "text/event-stream"
    _body_send: Send | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._body_send = scope.get(BODY_SEND)
        await super().__call__(scope, receive, send)

    async def stream_response(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        body_send = self._body_send or send
        async for chunk in self.body_iterator:
            assert isinstance(chunk, bytes)
            await body_send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


SEQ = re.compile(r"[0-9]{1,19}")
MAX_SEQ = 2**63 - 1
"""The largest seq PostgreSQL's bigint holds."""

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


KeyQuery = Annotated[
    list[str] | None,
    Query(max_length=100, description="Only events about these artifact keys (repeat, up to 100)."),
]
KeyPrefixQuery = Annotated[
    str | None, Query(max_length=256, description="Only events about keys starting with this.")
]
IncludeQuery = Annotated[
    Literal["body"] | None,
    Query(description="`body`: each `artifact.published` event carries its version's body."),
]


def _split(values: list[str] | None) -> frozenset[str] | None:
    if not values:
        return None
    return frozenset(v for item in values for v in item.split(",") if v)


def event_filter(
    kind: list[str] | None,
    type: list[str] | None,
    key: list[str] | None = None,
    key_prefix: str | None = None,
) -> EventFilter:
    """Accept `kind=a&kind=b` and `kind=a,b` alike (and the same for `type`); keys only
    repeated, as a key may hold a comma."""
    return EventFilter(
        kinds=_split(kind),
        types=_split(type),
        keys=frozenset(key) if key else None,
        key_prefix=key_prefix or None,
    )


@router.get("/events")
async def read_events(
    board_id: UUID,
    _: PrincipalDep,
    db: DatabaseDep,
    feeds: FeedsDep,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most 1,000.")] = 100,
    kind: KindQuery = None,
    type: TypeQuery = None,
    key: KeyQuery = None,
    key_prefix: KeyPrefixQuery = None,
    include: IncludeQuery = None,
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
        only=event_filter(kind, type, key, key_prefix),
        wait_s=wait,
        with_body=include == "body",
    )
    return EventPage(items=items, next_after=cursor)


async def resume_point(
    after: Annotated[
        int | None, Query(ge=0, le=MAX_SEQ, description="Start after this seq.")
    ] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> int:
    """Where a stream starts: after `Last-Event-ID` or `?after=`, whichever is later."""
    start = after if after is not None else 0
    if last_event_id:
        # ASCII digits only: str.isdigit() also passes "²", which int() then refuses
        if not SEQ.fullmatch(last_event_id) or int(last_event_id) > MAX_SEQ:
            raise InvalidInput(
                "Last-Event-ID must be a seq (a whole number)",
                [FieldError("/header/Last-Event-ID", f"digits 0-9, at most {MAX_SEQ}")],
            )
        start = max(start, int(last_event_id))
    return start


def sse_frame(event: Event) -> bytes:
    """An event as one Server-Sent Events frame: `id` its seq, `event` its kind, `data` the
    event as JSON (what every stream subscriber gets; the board feeds keep it, see app.py)."""
    return format_sse_event(id=str(event.seq), event=event.kind, data_str=event.model_dump_json())


async def _with_bodies(batches: AsyncIterator[list[Event]]) -> AsyncIterator[bytes]:
    async for batch in batches:
        yield b"".join(sse_frame(event) for event in batch)


async def _frames(
    feeds: Feeds,
    board_id: UUID,
    start: int,
    only: EventFilter,
    keepalive_s: float,
    with_body: bool = False,
    write: Write | None = None,
) -> AsyncIterator[bytes]:
    """The stream's body: each batch of ready events as one write of SSE frames.

    Why not one yielded `ServerSentEvent` per event: FastAPI's SSE generator path makes
    every event its own write, passed through two tasks and every middleware's `send`.
    At 50 subscribers x 200 events/s that alone saturated a 2-core machine and delivery
    fell seconds behind (bench/bench_live.py). Batched, a subscriber that falls behind
    catches up in fewer, larger writes, so the cost per event falls as the load rises.
    A comment line every `keepalive_s` on a quiet board keeps proxies from closing it.

    With `write` (unused for streams with bodies, which carry more than the shared frames),
    the board's feed writes new events to a caught-up subscriber directly (see
    Feeds.park); this yields what the subscriber reads on its own, and an empty
    batch only once nothing has been written to it for `keepalive_s`."""
    with telemetry.SSE_SUBSCRIBERS.track_inprogress():
        quiet_since = time.monotonic()
        chunks = (
            _with_bodies(events.stream_batches(
                feeds, board_id=board_id, after=start, only=only, idle_s=keepalive_s,
                with_body=True,
            ))
            if with_body  # not the shared frames: these events carry more
            else events.stream_frames(
                feeds, board_id=board_id, after=start, only=only, idle_s=keepalive_s,
                write=write,
            )
        )  # fmt: skip
        async for frames in until_unavailable(chunks):
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
    request: Request,
    board_id: ExistingBoard,
    start: Annotated[int, Depends(resume_point)],
    _: PrincipalDep,
    feeds: FeedsDep,
    settings: SettingsDep,
    kind: KindQuery = None,
    type: TypeQuery = None,
    key: KeyQuery = None,
    key_prefix: KeyPrefixQuery = None,
    include: IncludeQuery = None,
) -> EventStream:
    """Stream the board's events as Server-Sent Events: `id` is the seq, `event` the kind,
    `data` the event as JSON. Reconnect with `Last-Event-ID` (or `?after=`) to resume.

    Problems with the request (an unknown board, a bad Last-Event-ID) are answered with an
    error before the stream starts: the checks run as dependencies."""
    return EventStream(
        _frames(
            feeds,
            board_id,
            start,
            event_filter(kind, type, key, key_prefix),
            settings.stream_keepalive_s,
            include == "body",
            direct_writer(request.scope),
        ),
        # as FastAPI's own SSE responses: no caching, and no buffering in nginx
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
