"""A process listens for notifications only while someone in it waits for news: writes
and plain reads alone do not wake it (nor its LISTEN backend) for every event; a stream
or long-poll that arrives makes it listen again and misses nothing."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import httpx

from blackboard.config import Settings
from blackboard.services.event_filter import EventFilter
from blackboard.services.feed import Feeds
from blackboard.store.listener import Listener
from tests.support.api import ADMIN
from tests.support.feeds import append_event, board_feeds, until
from tests.support.servers import SSE, serve_app

SLOW_FALLBACK = {"fallback_poll_s": 30.0}  # events must come by notification, not by polling


async def setup(c: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    agent = (await c.post("/v1/agents", json={"name": "writer"}, headers=ADMIN)).json()
    board = (await c.post("/v1/boards", json={"name": "quiet"}, headers=ADMIN)).json()
    return {"Authorization": f"Bearer {agent['token']}"}, board["id"]


async def publish(c: httpx.AsyncClient, headers: dict[str, str], board: str, n: int) -> list[int]:
    seqs = []
    for i in range(n):
        r = await c.post(
            f"/v1/boards/{board}/artifacts",
            json={"type": "finding", "body": {"claim": f"c{i}"}},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        seqs.append(r.json()["seq"])
    return seqs


@asynccontextmanager
async def quiet_server(
    settings: Settings,
) -> AsyncIterator[tuple[Feeds, Listener, httpx.AsyncClient, dict[str, str], str]]:
    """The app on a loopback port that stops listening 0.2 s after its last follower left,
    once it has; a client, an agent's headers and a board."""
    async with serve_app(settings.model_copy(update=SLOW_FALLBACK)) as server:
        feeds, listener = (
            server.app.state.services.feeds,
            server.app.state.services.running.listener,
        )
        feeds.keep_listening_s = 0.2
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
            headers, board = await setup(c)
            await until(lambda: listener.connected.is_set() and not listener.listening)
            yield feeds, listener, c, headers, board


async def test_nobody_waiting_means_no_listening_and_a_new_stream_misses_nothing(
    settings: Settings,
) -> None:
    async with quiet_server(settings) as (feeds, listener, c, headers, board):
        before = await publish(c, headers, board, 5)
        await asyncio.sleep(0.3)
        # no notification reached this process: its feeds never heard of these events
        assert feeds.board(UUID(board)).hint < before[0]
        listed = await c.get(f"/v1/boards/{board}/events", headers=ADMIN)
        assert [e["seq"] for e in listed.json()["items"]][-5:] == before  # read from the log
        async with c.stream(
            "GET",
            f"/v1/boards/{board}/events/stream",
            params={"after": before[-1]},
            headers=ADMIN,
        ) as r:
            sse = SSE(r)
            await until(lambda: listener.listening)
            after = await publish(c, headers, board, 3)
            got = await asyncio.wait_for(sse.read(3), 5)  # far sooner than the fallback
        assert [int(e["id"]) for e in got] == after
        await until(lambda: not listener.listening)  # the stream is gone: it stops again


async def test_a_long_poll_that_starts_the_listening_gets_an_event_published_meanwhile(
    settings: Settings,
) -> None:
    async with quiet_server(settings) as (_, _listener, c, headers, board):
        head = (await c.get(f"/v1/boards/{board}", headers=ADMIN)).json()["last_seq"]
        waiting = asyncio.create_task(
            c.get(
                f"/v1/boards/{board}/events",
                params={"after": head, "wait": 20},
                headers=ADMIN,
            )
        )
        # published at once: possibly before the LISTEN is in effect, which then makes
        # the waiter look at the log again
        seqs = await publish(c, headers, board, 1)
        answer = await asyncio.wait_for(waiting, 5)
        assert [e["seq"] for e in answer.json()["items"]] == seqs


async def test_an_event_committed_just_before_the_listening_starts_still_wakes_the_waiter(
    database_url: str,
) -> None:
    """The gap: a waiter has read the log (from the database, the process not listening),
    an event commits, and only then does the LISTEN take effect. Its notification is never
    sent to this process; starting to listen makes every waiter look again."""
    async with board_feeds(database_url, "gap") as (feeds, listener, board):
        feeds.keep_listening_s = 0.0
        await until(lambda: listener.connected.is_set() and not listener.listening)
        events, cursor = await feeds.read(board, after=1, limit=10, only=EventFilter())
        assert events == []
        with feeds.following():  # the listener LISTENs at its next turn of the event loop...
            append_event(database_url, board, "test.gap")  # ...not before this
            await asyncio.wait_for(feeds.wait(board, cursor, 20.0), 5)
            events, _ = await feeds.read(board, after=cursor, limit=10, only=EventFilter())
        assert [e.kind for e in events] == ["test.gap"]


async def test_a_notification_between_a_waiters_read_and_its_wait_wakes_it(
    database_url: str,
) -> None:
    """A waiter reads the log and finds nothing new; an event commits and its notification
    arrives while the waiter is between that read and its next wait (nobody is waiting, so
    it wakes nobody). The wait must return at once rather than sleep until the fallback."""
    async with board_feeds(database_url, "between") as (feeds, listener, board):
        with feeds.following():
            await until(lambda: listener.listening)
            events, cursor = await feeds.read(board, after=1, limit=10, only=EventFilter())
            assert events == []
            seq = append_event(database_url, board, "test.news")
            feeds.on_notify(f"{board}:{seq}")  # as the listener hands it over
            await asyncio.wait_for(feeds.wait(board, cursor, 20.0), 5)
            events, _ = await feeds.read(board, after=cursor, limit=10, only=EventFilter())
        assert [e.kind for e in events] == ["test.news"]
