"""Concurrency over the real API: many requests in flight, each on its own database connection."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

import httpx
from fastapi import FastAPI

from api import create_app
from tests.support.api import ADMIN, Actors


@asynccontextmanager
async def small_pool(
    settings: Any,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, str, dict[str, str]]]:
    """The app with a pool of 4, fewer than the requests sent at once; an agent's headers
    and the artifacts URL of a fresh board."""
    app = create_app(settings.model_copy(update={"pool_size": 4}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bb.test") as c:
            agent = (await c.post("/v1/agents", json={"name": "crowd"}, headers=ADMIN)).json()
            board = (await c.post("/v1/boards", json={"name": "crowd"}, headers=ADMIN)).json()
            headers = {"Authorization": f"Bearer {agent['token']}"}
            yield app, c, f"/v1/boards/{board['id']}/artifacts", headers


async def test_16_publishers_to_one_key_win_each_version_exactly_once(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    agents = [await actors.agent() for _ in range(16)]
    wins_each = 5
    url = f"/v1/boards/{board['id']}/artifacts"
    conflicts = 0

    async def publisher(agent: dict[str, Any]) -> list[int]:
        nonlocal conflicts
        won: list[int] = []
        while len(won) < wins_each:
            hist = await client.get(f"/v1/boards/{board['id']}/keys/shared/history", headers=ADMIN)
            current = len(hist.json()["items"]) if hist.status_code == 200 else 0
            r = await client.post(
                url,
                json={
                    "type": "finding",
                    "key": "shared",
                    "expected_version": current,
                    "body": {"claim": f"{agent['name']} says {current + 1}"},
                },
                headers=agent["headers"],
            )
            if r.status_code == 201:
                assert r.json()["version"] == current + 1
                won.append(r.json()["version"])
            else:
                assert r.status_code == 409, r.text
                assert r.json()["error"] == "VersionConflict"
                conflicts += 1
        return won

    results = await asyncio.gather(*(publisher(a) for a in agents))
    won_versions = sorted(v for won in results for v in won)
    total = 16 * wins_each
    assert won_versions == list(range(1, total + 1))
    history = (
        await client.get(f"/v1/boards/{board['id']}/keys/shared/history", headers=ADMIN)
    ).json()["items"]
    assert [a["version"] for a in history] == list(range(1, total + 1))
    assert Counter(a["author_id"] for a in history) == Counter({a["id"]: wins_each for a in agents})
    assert conflicts > 0, "the publishers never actually raced"


async def test_publishers_without_expectations_never_lose_or_duplicate_a_version(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    agents = [await actors.agent() for _ in range(16)]
    url = f"/v1/boards/{board['id']}/artifacts"

    async def publisher(agent: dict[str, Any]) -> None:
        for i in range(10):
            r = await client.post(
                url,
                json={"type": "finding", "key": "k", "body": {"claim": f"{agent['name']}-{i}"}},
                headers=agent["headers"],
            )
            assert r.status_code == 201, r.text

    await asyncio.gather(*(publisher(a) for a in agents))
    history = (await client.get(f"/v1/boards/{board['id']}/keys/k/history", headers=ADMIN)).json()
    assert [a["version"] for a in history["items"]] == list(range(1, 161))
    assert len({a["body"]["claim"] for a in history["items"]}) == 160


async def test_a_reader_paging_events_during_8_concurrent_publishers_sees_each_once_in_order(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    agents = [await actors.agent() for _ in range(8)]
    per_agent = 40
    done = asyncio.Event()
    url = f"/v1/boards/{board['id']}/artifacts"

    async def publisher(agent: dict[str, Any]) -> None:
        for i in range(per_agent):
            r = await client.post(
                url,
                json={"type": "finding", "body": {"claim": f"{agent['name']}-{i}"}},
                headers=agent["headers"],
            )
            assert r.status_code == 201, r.text

    seen: list[int] = []

    async def reader() -> None:
        after = 0
        while True:
            finished = done.is_set()
            r = await client.get(
                f"/v1/boards/{board['id']}/events",
                params={"after": after, "limit": 7},
                headers=ADMIN,
            )
            page = r.json()
            seen.extend(e["seq"] for e in page["items"])
            after = page["next_after"]
            if finished and not page["items"]:
                return
            await asyncio.sleep(0)

    async def publish_all() -> None:
        await asyncio.gather(*(publisher(a) for a in agents))
        done.set()

    await asyncio.gather(publish_all(), reader())
    # seq 1 is board.created; then one artifact.published per publish
    total = 1 + 8 * per_agent
    assert seen == list(range(1, total + 1))


async def test_many_more_concurrent_publishers_than_pool_connections_all_succeed(
    settings: Any, actors: Actors
) -> None:
    # Publishes to one board are group-committed; a group is written on the connection of
    # one of the waiting requests, so a pool smaller than the crowd cannot stall them.
    async with small_pool(settings) as (app, c, url, headers):

        async def one(i: int) -> int:
            r = await c.post(
                url, json={"type": "finding", "body": {"claim": f"crowd {i}"}}, headers=headers
            )
            assert r.status_code == 201, r.text
            return int(r.json()["seq"])

        seqs = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(48))), 60)
    assert sorted(seqs) == list(range(2, 50))
    assert app.state.services.board_writes.groups > 0, "the publishes never shared a statement"


async def test_a_bad_parent_in_a_group_commit_fails_only_its_own_publish(
    settings: Any, actors: Actors
) -> None:
    # Parents are checked inside the (possibly shared) publish statement: a group with one
    # unknown parent must fall back so that only that request fails.
    async with small_pool(settings) as (app, c, url, headers):
        root = await c.post(
            url, json={"type": "finding", "body": {"claim": "root"}}, headers=headers
        )
        parent = root.json()["id"]

        async def one(i: int) -> httpx.Response:
            named = str(uuid4()) if i % 6 == 0 else parent
            body = {"type": "finding", "body": {"claim": f"child {i}"}, "parents": [named]}
            return await c.post(url, json=body, headers=headers)

        answers = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(24))), 60)
        listed = await c.get(url, params={"latest": "false", "limit": 100}, headers=ADMIN)
    for i, r in enumerate(answers):
        if i % 6 == 0:
            assert r.status_code == 422 and r.json()["error"] == "UnknownParent", r.text
            assert [e["path"] for e in r.json()["errors"]] == ["/parents/0"]
        else:
            assert r.status_code == 201, r.text
    good = sorted(int(r.json()["seq"]) for r in answers if r.status_code == 201)
    assert good == list(range(good[0], good[0] + 20))
    assert len(listed.json()["items"]) == 21  # the root and the 20 children, no more
    assert app.state.services.board_writes.groups > 0, "the publishes never shared a statement"
