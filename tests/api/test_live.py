"""Live events over real HTTP: long-poll, Server-Sent Events, resume, LISTEN reconnects."""

import asyncio
import json
import time
from typing import Any

import httpx
import psycopg
import pytest

from blackboard.config import Settings
from tests.support.api import ADMIN
from tests.support.servers import SSE, read_sse, serve_app


async def setup_board(c: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
    agent = (
        await c.post("/v1/agents", json={"name": f"a{time.monotonic_ns()}"}, headers=ADMIN)
    ).json()
    agent["headers"] = {"Authorization": f"Bearer {agent['token']}"}
    board = (
        await c.post("/v1/boards", json={"name": f"b{time.monotonic_ns()}"}, headers=ADMIN)
    ).json()
    return agent, board


async def publish(
    c: httpx.AsyncClient, board: dict[str, Any], agent: dict[str, Any], n: int, label: str = "x"
) -> list[int]:
    seqs = []
    for i in range(n):
        r = await c.post(
            f"/v1/boards/{board['id']}/artifacts",
            json={"type": "finding", "body": {"claim": f"{label}-{i}"}},
            headers=agent["headers"],
        )
        assert r.status_code == 201, r.text
        seqs.append(r.json()["seq"])
    return seqs


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # A long fallback poll: anything delivered fast below was delivered by NOTIFY.
    return settings.model_copy(update={"fallback_poll_s": 30.0})


async def test_long_poll_returns_as_soon_as_an_event_is_committed(live_server: Any) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        agent, board = await setup_board(c)
        url = f"/v1/boards/{board['id']}/events"
        waiting = asyncio.create_task(c.get(url, params={"after": 1, "wait": 20}, headers=ADMIN))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        started = time.monotonic()
        [seq] = await publish(c, board, agent, 1)
        page = (await waiting).json()
        assert time.monotonic() - started < 10, "woken by the fallback poll, not by NOTIFY"
        assert [e["seq"] for e in page["items"]] == [seq]
        assert page["next_after"] == seq
        empty = (await c.get(url, params={"after": seq, "wait": 0.2}, headers=ADMIN)).json()
        assert empty == {"items": [], "next_after": seq}


async def test_sse_resumes_with_last_event_id_and_misses_nothing(live_server: Any) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        agent, board = await setup_board(c)
        stream_url = f"/v1/boards/{board['id']}/events/stream"
        publishing = asyncio.create_task(publish(c, board, agent, 60, "burst"))
        received: list[dict[str, str]] = []
        async with c.stream("GET", stream_url, headers=ADMIN) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            received += await read_sse(r, 20)
        # disconnected mid-stream while the publisher goes on
        await asyncio.sleep(0.2)
        last = received[-1]["id"]
        async with c.stream("GET", stream_url, headers={**ADMIN, "Last-Event-ID": last}) as r:
            received += await read_sse(r, 61 - 20)  # board.created + 60 publishes in all
        await publishing
    seqs = [int(e["id"]) for e in received]
    assert seqs == list(range(1, 62))
    assert received[0]["event"] == "board.created"
    assert all(e["event"] == "artifact.published" for e in received[1:])
    assert json.loads(received[5]["data"])["seq"] == 6


async def test_sse_filters_by_kind_and_artifact_type(live_server: Any) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        agent, board = await setup_board(c)
        await c.post(
            f"/v1/boards/{board['id']}/artifacts",
            json={"type": "result", "body": {"summary": "r"}},
            headers=agent["headers"],
        )
        await publish(c, board, agent, 2)
        async with c.stream(
            "GET",
            f"/v1/boards/{board['id']}/events/stream",
            params={"type": "finding", "after": 0},
            headers=ADMIN,
        ) as r:
            got = await read_sse(r, 2)
        assert [json.loads(e["data"])["data"]["type"] for e in got] == ["finding", "finding"]
        async with c.stream(
            "GET",
            f"/v1/boards/{board['id']}/events/stream",
            params={"kind": "board.created"},
            headers=ADMIN,
        ) as r:
            got = await read_sse(r, 1)
        assert got[0]["event"] == "board.created"


async def test_listen_connection_killed_by_the_database_reconnects_and_loses_nothing(
    live_server: Any, database_url: str
) -> None:
    listener = live_server.app.state.services.running.listener
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as c:
        agent, board = await setup_board(c)
        async with c.stream("GET", f"/v1/boards/{board['id']}/events/stream", headers=ADMIN) as r:
            sse = SSE(r)
            assert (await sse.read(1))[0]["event"] == "board.created"
            await asyncio.wait_for(listener.connected.wait(), 10)
            with psycopg.connect(database_url, autocommit=True) as conn:
                killed = conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = 'blackboard-listener'"
                    " AND datname = current_database()"
                ).fetchall()
            assert killed == [(True,)]
            seqs = await publish(c, board, agent, 5, "while-down")
            got = await asyncio.wait_for(sse.read(5), 20)
        assert [int(e["id"]) for e in got] == seqs
        for _ in range(100):
            if listener.reconnects >= 1 and listener.connected.is_set():
                break
            await asyncio.sleep(0.05)
        assert listener.reconnects == 1 and listener.connected.is_set()
        # and notifications flow again: a long-poll wakes long before the 30 s fallback
        after = seqs[-1]
        waiting = asyncio.create_task(
            c.get(
                f"/v1/boards/{board['id']}/events",
                params={"after": after, "wait": 20},
                headers=ADMIN,
            )
        )
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await publish(c, board, agent, 1, "after")
        assert len((await waiting).json()["items"]) == 1
        assert time.monotonic() - started < 10


async def test_100_concurrent_subscribers_all_receive_a_burst(live_server: Any) -> None:
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60, limits=limits) as c:
        agent, board = await setup_board(c)
        url = f"/v1/boards/{board['id']}/events/stream"
        ready = asyncio.Semaphore(0)
        burst = 50

        async def subscriber() -> list[int]:
            async with c.stream("GET", url, params={"after": 1}, headers=ADMIN) as r:
                assert r.status_code == 200
                ready.release()
                return [int(e["id"]) for e in await read_sse(r, burst)]

        subscribers = [asyncio.create_task(subscriber()) for _ in range(100)]
        for _ in range(100):
            await ready.acquire()
        seqs = await publish(c, board, agent, burst, "burst")
        results = await asyncio.wait_for(asyncio.gather(*subscribers), 60)
    assert all(r == seqs for r in results)
    # the server lets go of every subscriber once they hang up
    feeds = live_server.app.state.services.feeds
    for _ in range(100):
        if feeds.subscribers == 0:
            break
        await asyncio.sleep(0.05)
    assert feeds.subscribers == 0


async def test_agent_inbox_streams_claimable_tasks_across_boards(live_server: Any) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        coder = (
            await c.post(
                "/v1/agents", json={"name": "coder", "capabilities": ["code"]}, headers=ADMIN
            )
        ).json()
        other = (
            await c.post(
                "/v1/agents", json={"name": "other", "capabilities": ["code"]}, headers=ADMIN
            )
        ).json()
        boards = [
            (await c.post("/v1/boards", json={"name": f"inbox-{i}"}, headers=ADMIN)).json()
            for i in range(2)
        ]

        async def post(board: dict[str, Any], title: str, caps: list[str]) -> dict[str, Any]:
            r = await c.post(
                f"/v1/boards/{board['id']}/tasks",
                json={"title": title, "required_capabilities": caps},
                headers=ADMIN,
            )
            return dict(r.json())

        before = await post(boards[0], "waiting already", ["code"])
        await post(boards[0], "not for a coder", ["write"])
        headers = {"Authorization": f"Bearer {coder['token']}"}
        async with c.stream("GET", "/v1/agents/me/events/stream", headers=headers) as r:
            assert r.status_code == 200
            sse = SSE(r)
            [first] = await sse.read(1)
            assert first["event"] == "task.available"
            assert json.loads(first["data"])["task"]["id"] == before["id"]
            await post(boards[1], "write docs", ["write"])
            live = await post(boards[1], "fix the bug", ["code"])
            [second] = await asyncio.wait_for(sse.read(1), 10)
            assert json.loads(second["data"])["task"]["id"] == live["id"]
            assert json.loads(second["data"])["board_id"] == boards[1]["id"]
            # another agent takes a task and lets its lease run out: it is claimable again
            claimed = await c.post(
                f"/v1/boards/{boards[1]['id']}/tasks/claim",
                json={"lease_s": 0.2},
                headers={"Authorization": f"Bearer {other['token']}"},
            )
            assert claimed.json()["id"] == live["id"]
            [again] = await asyncio.wait_for(sse.read(1), 10)
            assert json.loads(again["data"])["task"]["id"] == live["id"]
            assert json.loads(again["data"])["task"]["attempt"] == 1


async def test_a_stalled_subscriber_is_dropped_and_does_not_hold_up_others(
    settings: Settings,
) -> None:
    import socket

    from tests.support.servers import serve_app

    stall_timeout = 1.0
    settings = settings.model_copy(update={"stream_stall_timeout_s": stall_timeout})
    async with (
        serve_app(settings) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as c,
    ):
        agent, board = await setup_board(c)
        path = f"/v1/boards/{board['id']}/events/stream"
        # A raw client with a tiny receive window that sends its request and never reads.
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
        stalled.setblocking(False)
        token = ADMIN["Authorization"].removeprefix("Bearer ")
        await asyncio.get_running_loop().sock_sendall(
            stalled,
            f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode(),
        )
        # Events are small (ids, not bodies): 20,000 of them are more than the kernel
        # buffers for one socket here (a 4 MiB send buffer at most).
        batches, per_batch = 20, 1000
        count = batches * per_batch
        async with c.stream("GET", path, params={"after": 1}, headers=ADMIN) as r:
            reading = asyncio.create_task(SSE(r).read(count))
            for b in range(batches):
                resp = await c.post(
                    f"/v1/boards/{board['id']}/artifacts/batch",
                    json={
                        "items": [
                            {"type": "finding", "body": {"claim": f"{b}-{i}"}}
                            for i in range(per_batch)
                        ]
                    },
                    headers=agent["headers"],
                )
                assert resp.status_code == 201
            got = await asyncio.wait_for(reading, 60)
        assert [int(e["id"]) for e in got] == list(range(2, count + 2))
        await asyncio.sleep(stall_timeout + 1.0)
        # The server gave up on the stalled client: draining its socket ends in EOF.
        # (Read without blocking: the server runs in this same event loop.)
        loop = asyncio.get_running_loop()
        stalled.setblocking(False)
        total = 0
        while chunk := await asyncio.wait_for(loop.sock_recv(stalled, 1 << 16), 10):
            total += len(chunk)
        stalled.close()
        assert total < count * 300, "the stalled client was sent everything after all"


async def test_a_reading_subscriber_on_a_quiet_board_is_not_dropped(settings: Settings) -> None:
    # Quiet for several stall timeouts, with no keep-alive due: nothing is being sent, so
    # nothing is stalled, and the next event still arrives on the same stream.
    stall_timeout = 0.3
    settings = settings.model_copy(update={"stream_stall_timeout_s": stall_timeout})
    async with serve_app(settings) as server, httpx.AsyncClient(base_url=server.url) as c:
        agent, board = await setup_board(c)
        path = f"/v1/boards/{board['id']}/events/stream"
        only = {"kind": "artifact.published"}
        async with c.stream("GET", path, params=only, headers=ADMIN, timeout=30) as r:
            sse = SSE(r)
            [first] = await publish(c, board, agent, 1, "before the quiet")
            assert [int(e["id"]) for e in await asyncio.wait_for(sse.read(1), 10)] == [first]
            await asyncio.sleep(stall_timeout * 4)
            [later] = await publish(c, board, agent, 1, "after the quiet")
            assert [int(e["id"]) for e in await asyncio.wait_for(sse.read(1), 10)] == [later]


async def test_a_quiet_stream_gets_keep_alive_comments_and_still_delivers(
    settings: Settings,
) -> None:
    quiet = settings.model_copy(update={"stream_keepalive_s": 0.3})
    async with serve_app(quiet) as server, httpx.AsyncClient(base_url=server.url) as c:
        agent, board = await setup_board(c)
        path = f"/v1/boards/{board['id']}/events/stream"
        only = {"kind": "artifact.published"}
        async with c.stream("GET", path, params=only, headers=ADMIN, timeout=30) as r:
            pings, seq, ids = 0, None, []
            async for line in r.aiter_lines():
                if line.startswith(":"):
                    pings += 1
                    if pings == 2:  # two keep-alives while the board stayed quiet
                        [seq] = await publish(c, board, agent, 1, "after the pings")
                elif line.startswith("id:"):
                    ids.append(int(line.removeprefix("id:")))
                    break
    assert pings >= 2 and ids == [seq]


async def test_subscribers_at_one_cursor_with_different_filters_each_get_their_own(
    live_server: Any,
) -> None:
    # Subscribers woken together share the frames of a read (services/feed.py): one with a
    # filter must never be sent what an unfiltered one at the same cursor is.
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60, limits=limits) as c:
        agent, board = await setup_board(c)
        url = f"/v1/boards/{board['id']}/events/stream"
        ready = asyncio.Semaphore(0)
        rounds = 10

        async def subscriber(params: dict[str, Any], n: int) -> list[tuple[int, str]]:
            async with c.stream("GET", url, params={"after": 1, **params}, headers=ADMIN) as r:
                ready.release()
                got = await read_sse(r, n)
            return [(int(e["id"]), json.loads(e["data"])["data"]["type"]) for e in got]

        everything = [asyncio.create_task(subscriber({}, 2 * rounds)) for _ in range(20)]
        results = [asyncio.create_task(subscriber({"type": "result"}, rounds)) for _ in range(20)]
        for _ in range(40):
            await ready.acquire()
        published = []
        for i in range(rounds):
            for type_, body in (("finding", {"claim": f"f{i}"}), ("result", {"summary": f"r{i}"})):
                r = await c.post(
                    f"/v1/boards/{board['id']}/artifacts",
                    json={"type": type_, "body": body},
                    headers=agent["headers"],
                )
                assert r.status_code == 201, r.text
                published.append((r.json()["seq"], type_))
        got_all = await asyncio.wait_for(asyncio.gather(*everything), 60)
        got_results = await asyncio.wait_for(asyncio.gather(*results), 60)
    assert all(g == published for g in got_all)
    assert all(g == [p for p in published if p[1] == "result"] for g in got_results)
