"""Starting runs with scripted agents, taking turns as an external agent, and waiting for
runs to finish."""

import asyncio
from typing import Any

import httpx

from tests.support.api import ADMIN, Actors

CAPS = {
    "planner": "planner",
    "researcher": "research",
    "critic": "critique",
    "synthesiser": "synthesis",
}


async def scripted(actors: Actors, name: str, caps: list[str], **flags: str) -> dict[str, Any]:
    spec = "scripted:" + ",".join(caps)
    if flags:
        spec += "?" + "&".join(f"{k}={v}" for k, v in flags.items())
    r = await actors.client.post(
        "/v1/agents", json={"name": name, "capabilities": caps, "model": spec}, headers=ADMIN
    )
    assert r.status_code == 201, r.text
    agent: dict[str, Any] = r.json()
    agent["headers"] = {"Authorization": f"Bearer {agent['token']}"}
    return agent


async def finished(client: httpx.AsyncClient, run_id: str, within_s: float = 30) -> dict[str, Any]:
    for _ in range(int(within_s / 0.05)):
        detail: dict[str, Any] = (await client.get(f"/v1/runs/{run_id}", headers=ADMIN)).json()
        if detail["run"]["status"] in ("completed", "stopped"):
            return detail
        await asyncio.sleep(0.05)
    raise AssertionError(f"run did not finish: {detail['run']}")


async def start(client: httpx.AsyncClient, board: dict[str, Any], **fields: Any) -> dict[str, Any]:
    r = await client.post(
        f"/v1/boards/{board['id']}/runs", json={"goal": "Boil water", **fields}, headers=ADMIN
    )
    assert r.status_code == 201, r.text
    run: dict[str, Any] = r.json()
    return run


async def offered(
    client: httpx.AsyncClient, agent: dict[str, Any], wait: float = 5
) -> dict[str, Any]:
    """Long-poll for the next turn offered to `agent`, as an external agent does."""
    r = await client.get("/v1/agents/me/turns", params={"wait": wait}, headers=agent["headers"])
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 1, items
    turn: dict[str, Any] = items[0]
    return turn


async def population(actors: Actors, suffix: str = "") -> list[dict[str, Any]]:
    return [
        await scripted(actors, f"{role}-{id(actors)}{suffix}", [cap]) for role, cap in CAPS.items()
    ]
