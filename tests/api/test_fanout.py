"""Caught-up stream subscribers are written to by their board's feed, without being woken
(services/parking.py): each gets every event its filter passes, once and in order; one
whose connection cannot take a write, or that is further behind than a write holds,
reads the rest itself."""

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import httpx

from blackboard.config import Settings
from blackboard.services.event_filter import EventFilter
from blackboard.services.feed import BATCH, WINDOW, Feeds
from tests.support.api import ADMIN
from tests.support.feeds import append_events, board_feeds, until
from tests.support.servers import SSE, serve_app

EVERYTHING = EventFilter()
FINDINGS = EventFilter(kinds=frozenset({"test.finding"}))


class Connection:
    """What the feed writes a parked subscriber's frames to: it takes `capacity` writes,
    then refuses (a client that stopped reading)."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        self.capacity = capacity
        self.chunks: list[bytes] = []

    def __call__(self, chunk: bytes) -> bool:
        if len(self.chunks) == self.capacity:
            return False
        self.chunks.append(chunk)
        return True

    @property
    def seqs(self) -> list[int]:
        return [seq for chunk in self.chunks for seq in seqs_in(chunk)]


@asynccontextmanager
async def at_head(
    database_url: str, name: str, fallback_s: float = 30.0
) -> AsyncIterator[tuple[Feeds, UUID, int]]:
    """Listening feeds and a new board, read up to its head as a stream does before it
    parks; yields the feeds, the board and its head."""
    async with board_feeds(database_url, name, fallback_s) as (feeds, listener, board):
        with feeds.following():
            await until(lambda: listener.listening)
            _, head = await feeds.read(board, after=0, limit=1000, only=EVERYTHING)
            assert feeds.nothing_after(board, head)
            yield feeds, board, head


async def park(
    feeds: Feeds,
    board: UUID,
    head: int,
    write: Connection,
    only: EventFilter = EVERYTHING,
    timeout_s: float | None = None,
) -> "asyncio.Task[int]":
    """Park a subscriber at `head`; return once it is parked."""
    waiting = feeds.board(board).waiting
    parked = asyncio.create_task(
        feeds.park(board, cursor=head, only=only, write=write, timeout_s=timeout_s)
    )
    await until(lambda: feeds.board(board).waiting == waiting + 1)
    return parked


def seqs_in(frames: bytes) -> list[int]:
    # the frames are the events as JSON (the feeds' default encoding)
    return [int(s) for s in re.findall(rb'"seq":(\d+)', frames)]


async def test_parked_subscribers_get_each_event_their_filter_passes_without_waking(
    database_url: str,
) -> None:
    async with at_head(database_url, "parked") as (feeds, board, head):
        everything = [Connection() for _ in range(3)]
        findings = [Connection() for _ in range(3)]
        parks = [await park(feeds, board, head, c) for c in everything]
        parks += [await park(feeds, board, head, c, FINDINGS) for c in findings]
        sent: list[tuple[int, str]] = []
        for i in range(6):
            kind = "test.finding" if i % 2 else "test.other"
            [seq] = append_events(database_url, board, kind, notify=True)
            sent.append((seq, kind))
            await until(lambda: all(c.seqs[-1:] == [seq] for c in everything))  # noqa: B023
        assert not any(p.done() for p in parks), "a parked subscriber was woken"
        for p in parks:
            p.cancel()
        await asyncio.gather(*parks, return_exceptions=True)
        assert feeds.board(board).waiting == 0 and not feeds.board(board).parked
    assert all(c.seqs == [s for s, _ in sent] for c in everything)
    assert all(len(c.chunks) == 6 for c in everything), "one write per event"
    assert all(c.seqs == [s for s, k in sent if k == "test.finding"] for c in findings)


async def test_a_subscriber_whose_connection_is_full_is_left_to_read_the_rest(
    database_url: str,
) -> None:
    async with at_head(database_url, "full") as (feeds, board, head):
        full_after_one = Connection(capacity=1)
        parked = await park(feeds, board, head, full_after_one)
        [first] = append_events(database_url, board, "test.first", notify=True)
        await until(lambda: full_after_one.seqs == [first])
        assert not parked.done()
        [second] = append_events(database_url, board, "test.second", notify=True)
        cursor = await asyncio.wait_for(parked, 5)
        frames, _ = await feeds.frames(board, after=cursor, limit=BATCH, only=EVERYTHING)
    assert full_after_one.seqs == [first]
    assert cursor == first, "released where its connection stopped taking writes"
    assert seqs_in(frames) == [second]


async def burst_while_parked(
    database_url: str, count: int
) -> tuple[Connection, int, list[int], int, bytes]:
    """Park a subscriber, commit `count` events at once, and wait for its release; return
    its connection, where it parked, the burst's seqs, where it was released, and the
    frames it reads next."""
    async with at_head(database_url, f"burst of {count}") as (feeds, board, head):
        connection = Connection()
        parked = await park(feeds, board, head, connection)
        burst = append_events(database_url, board, "test.burst", count, notify=True)
        cursor = await asyncio.wait_for(parked, 5)
        frames, _ = await feeds.frames(board, after=cursor, limit=BATCH, only=EVERYTHING)
    return connection, head, burst, cursor, frames


async def test_more_than_a_write_holds_is_written_in_part_and_the_rest_read(
    database_url: str,
) -> None:
    connection, _, burst, cursor, frames = await burst_while_parked(database_url, BATCH + 100)
    assert connection.seqs == burst[:BATCH] and len(connection.chunks) == 1
    assert cursor == burst[BATCH - 1]
    assert seqs_in(frames) == burst[BATCH:]


async def test_a_subscriber_further_behind_than_the_window_is_left_to_the_database(
    database_url: str,
) -> None:
    connection, head, flood, cursor, frames = await burst_while_parked(database_url, WINDOW + 1)
    assert connection.chunks == [] and cursor == head
    assert seqs_in(frames) == flood[:BATCH], "it reads on from where it was, from the database"


async def test_without_a_notification_the_feed_reads_for_the_parked_at_its_fallback_poll(
    database_url: str,
) -> None:
    async with at_head(database_url, "unnotified", fallback_s=0.2) as (feeds, board, head):
        connection = Connection()
        parked = await park(feeds, board, head, connection)
        [seq] = append_events(database_url, board, "test.unnotified")
        await until(lambda: connection.seqs == [seq], timeout_s=5)
        assert not parked.done(), "the parked subscriber was woken to read for itself"
        parked.cancel()


async def test_a_subscriber_written_to_stays_parked_and_returns_once_quiet_for_its_timeout(
    database_url: str,
) -> None:
    # A parked stream returns by its timeout for a keep-alive; one that is being written to
    # needs none, and is not woken for it.
    async with at_head(database_url, "busy") as (feeds, board, head):
        connection = Connection()
        parked = await park(feeds, board, head, connection, timeout_s=1.0)
        sent: list[int] = []
        for _ in range(25):  # 2.5 s of writes, 0.1 s apart
            sent += append_events(database_url, board, "test.busy", notify=True)
            await asyncio.sleep(0.1)
        assert not parked.done(), "woken while being written to"
        cursor = await asyncio.wait_for(parked, 5)
    assert connection.seqs == sent and cursor == sent[-1]


async def setup_board(c: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    agent = (await c.post("/v1/agents", json={"name": "fanout"}, headers=ADMIN)).json()
    board = (await c.post("/v1/boards", json={"name": "fanout"}, headers=ADMIN)).json()
    return {"Authorization": f"Bearer {agent['token']}"}, board["id"]


async def publish(c: httpx.AsyncClient, headers: dict[str, str], board: str, key: str) -> int:
    r = await c.post(
        f"/v1/boards/{board}/artifacts",
        json={"type": "finding", "key": key, "body": {"claim": key}},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    seq: int = r.json()["seq"]
    return seq


async def test_streams_over_http_are_written_directly_and_a_closed_one_is_let_go(
    settings: Settings,
) -> None:
    async with (
        serve_app(settings.model_copy(update={"fallback_poll_s": 30.0})) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as c,
    ):
        feeds: Feeds = server.app.state.services.feeds
        headers, board = await setup_board(c)
        path = f"/v1/boards/{board}/events/stream"
        async with (
            c.stream("GET", path, headers=ADMIN) as a,
            c.stream("GET", path, params={"key_prefix": "b-"}, headers=ADMIN) as b,
        ):
            streams = SSE(a), SSE(b)
            await asyncio.wait_for(streams[0].read(1), 10)  # board.created
            feed = feeds.board(UUID(board))
            await until(lambda: feed.waiting == 2 and bool(feed.parked))
            sent = [await publish(c, headers, board, key) for key in ("a-1", "b-1", "a-2", "b-2")]
            got_a = await asyncio.wait_for(streams[0].read(4), 10)
            got_b = await asyncio.wait_for(streams[1].read(2), 10)
            async with c.stream("GET", path, params={"after": sent[-1]}, headers=ADMIN):
                await until(lambda: feed.waiting == 3)
            await until(lambda: feed.waiting == 2)  # the closed stream is no longer written
            after_close = await publish(c, headers, board, "b-3")
            [more_b] = await asyncio.wait_for(streams[1].read(1), 10)
        await until(lambda: feed.waiting == 0 and not feed.parked)
    assert [int(e["id"]) for e in got_a] == sent
    assert [int(e["id"]) for e in got_b] == [sent[1], sent[3]]
    assert int(more_b["id"]) == after_close


async def test_a_stream_whose_filter_passes_nothing_on_a_busy_board_gets_keep_alives(
    settings: Settings,
) -> None:
    keepalive = settings.model_copy(update={"stream_keepalive_s": 0.3})
    async with (
        serve_app(keepalive) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as c,
    ):
        headers, board = await setup_board(c)
        path = f"/v1/boards/{board}/events/stream"
        params: dict[str, str | int] = {"key": "never-published", "after": 1}
        async with c.stream("GET", path, params=params, headers=ADMIN) as r:
            lines: list[str] = []

            async def read() -> None:
                async for line in r.aiter_lines():
                    lines.append(line)

            reading = asyncio.create_task(read())
            busy_until = asyncio.get_running_loop().time() + 1.5
            published = 0
            while asyncio.get_running_loop().time() < busy_until:
                await publish(c, headers, board, f"other-{published}")
                published += 1
                await asyncio.sleep(0.02)
            reading.cancel()
    assert published > 20
    assert sum(line.startswith(":") for line in lines) >= 2
    assert not any(line.startswith("id:") for line in lines)
