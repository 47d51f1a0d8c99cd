"""Event streams over real HTTP (the `live_server`): SSE parsing, and a stream whose
connection drops resumes with Last-Event-ID and delivers every event once, in order."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from agents.client import (
    AsyncClient,
    Client,
    Event,
    EventStream,
    NotFound,
    SSEParser,
    TransportError,
    Unauthenticated,
)
from tests.support.api import ADMIN_TOKEN
from tests.support.clients import FAST

TOTAL = 15  # artifacts published while following the stream


class _CutSync(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, limit: int) -> None:
        self.inner, self.limit = inner, limit

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        for chunk in self.inner:
            if sent + len(chunk) > self.limit:
                yield chunk[: self.limit - sent]  # half an event, then the line goes dead
                raise httpx.ReadError("connection cut")
            sent += len(chunk)
            yield chunk

    def close(self) -> None:
        self.inner.close()


class _CutAsync(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, limit: int) -> None:
        self.inner, self.limit = inner, limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sent = 0
        async for chunk in self.inner:
            if sent + len(chunk) > self.limit:
                yield chunk[: self.limit - sent]
                raise httpx.ReadError("connection cut")
            sent += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class CutStreams(httpx.BaseTransport):
    """Real HTTP, but each of the first `cuts` event streams breaks after `limit` bytes."""

    def __init__(self, cuts: int, limit: int = 700) -> None:
        self.inner = httpx.HTTPTransport()
        self.cuts, self.limit = cuts, limit
        self.resumed_from: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/events/stream"):
            self.resumed_from.append(request.headers.get("Last-Event-ID"))
            if self.cuts:
                self.cuts -= 1
                assert isinstance(response.stream, httpx.SyncByteStream)
                response.stream = _CutSync(response.stream, self.limit)
        return response

    def close(self) -> None:
        self.inner.close()


class AsyncCutStreams(httpx.AsyncBaseTransport):
    """`CutStreams` for the async client."""

    def __init__(self, cuts: int, limit: int = 700) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.cuts, self.limit = cuts, limit
        self.resumed_from: list[str | None] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path.endswith("/events/stream"):
            self.resumed_from.append(request.headers.get("Last-Event-ID"))
            if self.cuts:
                self.cuts -= 1
                assert isinstance(response.stream, httpx.AsyncByteStream)
                response.stream = _CutAsync(response.stream, self.limit)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_sse_parser_follows_the_spec() -> None:
    parser = SSEParser()
    lines = [": ping", "id: 7", "event: artifact.published", "data: {", "data:}", ""]
    out = [parser.feed(line) for line in lines]
    assert out[:-1] == [None] * 5
    message = out[-1]
    assert message is not None
    assert (message.id, message.event, message.data) == ("7", "artifact.published", "{\n}")
    assert parser.feed("") is None  # nothing pending: nothing dispatched
    parser.feed("data: half")
    parser.reset()  # the connection broke mid-message
    assert parser.feed("") is None


def test_event_stream_bookkeeping_resumes_and_gives_up() -> None:
    stream = EventStream("b", after=3, max_failures=2, backoff=FAST)
    with httpx.Client(base_url="http://x") as http:
        first = stream.request(http, 5)
        assert first.headers["Last-Event-ID"] == "3" and first.url.params["after"] == "3"
        data = '{"seq": 4, "kind": "k", "at": "2026-01-01T00:00:00Z", "data": {}}'
        for line in ["id: 4", f"data: {data}"]:
            assert stream.line(line) is None
        event = stream.line("")
        assert event is not None and event.seq == 4
        for line in ["id: 4", f"data: {data}"]:  # sent again after a reconnection
            stream.line(line)
        assert stream.line("") is None
        assert stream.request(http, 5).headers["Last-Event-ID"] == "4"
    assert stream.failed(None) < 1 and stream.failed(None) < 1
    with pytest.raises(TransportError):
        stream.failed(httpx.ReadError("down"))


def _follow_sync(url: str) -> tuple[list[int], list[int], list[str | None]]:
    """Publish while following the stream through three cut connections (blocking)."""
    with Client(url, ADMIN_TOKEN) as admin:
        board = admin.create_board(f"stream-{uuid.uuid4().hex[:6]}")
        agent = Client(url, admin.register_agent(f"a-{uuid.uuid4().hex[:6]}").token)
        cutter = CutStreams(cuts=3)
        reader = Client(url, ADMIN_TOKEN, transport=cutter, backoff=FAST)
        with agent, reader:
            for n in range(3):
                agent.publish(board.id, "finding", {"claim": f"before {n}"})
            published, received = 3, []
            events = reader.stream_events(board.id, after=0, kinds=["artifact.published"])
            for event in events:
                received.append(event.seq)
                if published < TOTAL:
                    agent.publish(board.id, "finding", {"claim": f"during {published}"})
                    published += 1
                elif len(received) == TOTAL:
                    break
            events.close()
            log = agent.read_events(board.id, kinds=["artifact.published"], limit=1000)
            return received, [e.seq for e in log.items], cutter.resumed_from


async def test_sync_stream_resumes_after_dropped_connections(live_server: Any) -> None:
    received, logged, resumed_from = await asyncio.to_thread(_follow_sync, live_server.url)
    assert received == logged and len(received) == TOTAL
    assert len(resumed_from) >= 4 and resumed_from[0] == "0"  # after=0
    assert all(r is not None and int(r) in received for r in resumed_from[1:])


async def test_async_stream_resumes_after_dropped_connections(live_server: Any) -> None:
    url = live_server.url
    async with AsyncClient(url, ADMIN_TOKEN) as admin:
        board = await admin.create_board("async-stream")
        token = (await admin.register_agent("publisher")).token
        cutter = AsyncCutStreams(cuts=3)
        async with (
            AsyncClient(url, token) as agent,
            AsyncClient(url, ADMIN_TOKEN, transport=cutter, backoff=FAST) as reader,
        ):
            for n in range(3):
                await agent.publish(board.id, "finding", {"claim": f"before {n}"})
            published, received = 3, []
            events = reader.stream_events(board.id, types=["finding"])
            async for event in events:
                assert isinstance(event, Event)
                if event.kind != "artifact.published":
                    continue
                received.append(event.seq)
                if published < TOTAL:
                    await agent.publish(board.id, "finding", {"claim": f"during {published}"})
                    published += 1
                elif len(received) == TOTAL:
                    break
            await events.aclose()
            log = await agent.read_events(board.id, kinds=["artifact.published"], limit=1000)
    assert received == [e.seq for e in log.items] and len(received) == TOTAL
    assert len(cutter.resumed_from) >= 4
    assert all(r is not None for r in cutter.resumed_from[1:])


async def test_stream_errors(live_server: Any) -> None:
    async with AsyncClient(live_server.url, "bbagent_wrong") as stranger:
        with pytest.raises(Unauthenticated):
            async for _ in stranger.stream_events(uuid.uuid4()):
                pass
    async with AsyncClient(
        "http://127.0.0.1:9", ADMIN_TOKEN, backoff=FAST, stream_failures=2
    ) as nowhere:
        with pytest.raises(TransportError, match="gave up after 2"):
            async for _ in nowhere.stream_events(uuid.uuid4()):
                pass


async def test_stream_of_an_unknown_board_is_not_found(live_server: Any) -> None:
    async with AsyncClient(live_server.url, ADMIN_TOKEN, backoff=FAST, stream_failures=1) as admin:
        with pytest.raises(NotFound):
            async for _ in admin.stream_events(uuid.uuid4()):
                pass


async def test_the_inbox_stream_lists_claimable_tasks_then_new_ones(live_server: Any) -> None:
    async with AsyncClient(live_server.url, ADMIN_TOKEN) as admin:
        coder = await admin.register_agent("inbox-coder", capabilities=["code"])
        board = await admin.create_board("inbox-sdk")
        waiting = await admin.post_task(board.id, "already waiting", required_capabilities=["code"])
        async with AsyncClient(live_server.url, coder.token) as agent:
            inbox = agent.stream_inbox()
            first = await asyncio.wait_for(anext(inbox), 10)
            assert first.kind == "task.available"
            assert first.task is not None and first.task.id == waiting.id
            posted = await admin.post_task(board.id, "new one", required_capabilities=["code"])
            second = await asyncio.wait_for(anext(inbox), 10)
            assert second.task is not None and second.task.id == posted.id
            assert second.board_id == board.id and second.seq is not None
            await inbox.aclose()
