"""Targeted reads: key filters on events, streams and listings, and bodies in events."""

import asyncio
import json
from typing import Any

import httpx

from tests.support.api import ADMIN, Actors
from tests.support.servers import SSE

FOLLOWED = {"color/1", "color/2"}


async def publish(client: httpx.AsyncClient, url: str, agent: dict[str, Any], key: str, n: int):
    r = await client.post(
        url,
        json={"type": "finding", "key": key, "body": {"claim": f"{key} #{n}"}},
        headers=agent["headers"],
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_key_filters_and_bodies_on_pages_and_listings(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board, agent = await actors.board(), await actors.agent()
    base = f"/v1/boards/{board['id']}"
    written = [
        await publish(client, f"{base}/artifacts", agent, key, n)
        for n in range(3)
        for key in ("color/1", "color/2", "color/3", "shade/1")
    ]
    page = await client.get(
        f"{base}/events",
        params=[("key", "color/1"), ("key", "color/2"), ("include", "body")],
        headers=ADMIN,
    )
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    expected = [a for a in written if a["key"] in FOLLOWED]
    assert [e["subject_id"] for e in items] == [a["id"] for a in expected]
    assert [e["data"]["body"] for e in items] == [a["body"] for a in expected]
    prefixed = await client.get(f"{base}/events", params={"key_prefix": "shade/"}, headers=ADMIN)
    assert [e["data"]["key"] for e in prefixed.json()["items"]] == ["shade/1"] * 3
    assert all("body" not in e["data"] for e in prefixed.json()["items"])
    # the current version of each of several keys, in one request
    current = await client.get(
        f"{base}/artifacts", params=[("key", "color/1"), ("key", "color/3")], headers=ADMIN
    )
    assert {(a["key"], a["version"]) for a in current.json()["items"]} == {
        ("color/1", 3),
        ("color/3", 3),
    }
    by_prefix = await client.get(
        f"{base}/artifacts", params={"key_prefix": "color/"}, headers=ADMIN
    )
    assert sorted(a["key"] for a in by_prefix.json()["items"]) == ["color/1", "color/2", "color/3"]
    bad = await client.get(f"{base}/events", params={"include": "everything"}, headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["error"] == "ValidationFailed"
    many = await client.get(
        f"{base}/artifacts", params=[("key", str(i)) for i in range(101)], headers=ADMIN
    )
    assert many.status_code == 422 and many.json()["error"] == "ValidationFailed"


async def test_a_filtered_stream_with_bodies_misses_nothing_across_a_reconnect(
    live_server: Any, actors: Actors
) -> None:
    board, agent = await actors.board(), await actors.agent()
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        base = f"/v1/boards/{board['id']}"
        params = [("key", "color/1"), ("key", "color/2"), ("include", "body")]
        seen: list[dict[str, Any]] = []

        async def follow(last_id: str | None, count: int) -> None:
            headers = {**agent["headers"], **({"Last-Event-ID": last_id} if last_id else {})}
            async with http.stream(
                "GET", f"{base}/events/stream", params=params, headers=headers
            ) as r:
                assert r.status_code == 200
                for frame in await SSE(r).read(count):
                    seen.append(json.loads(frame["data"]) | {"frame_id": frame["id"]})

        async def writer(rounds: range) -> list[dict[str, Any]]:
            return [
                await publish(http, f"{base}/artifacts", agent, key, n)
                for n in rounds
                for key in ("color/1", "color/3", "color/2")
            ]

        first = asyncio.create_task(follow(None, 4))
        await asyncio.sleep(0.2)
        written = await writer(range(3))  # 6 followed, 3 not
        await first
        # meanwhile, more is written; the reconnect resumes after the last frame seen
        written += await writer(range(3, 5))
        await follow(seen[-1]["frame_id"], 6)
    expected = [a for a in written if a["key"] in FOLLOWED]
    assert [e["subject_id"] for e in seen] == [a["id"] for a in expected]
    assert [e["data"]["body"] for e in seen] == [a["body"] for a in expected]
    assert [int(e["frame_id"]) for e in seen] == [a["seq"] for a in expected]
