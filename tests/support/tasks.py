"""Posting, claiming and completing tasks through the API."""

from typing import Any

import httpx

from tests.support.api import ADMIN

RESULT = {"type": "result", "body": {"summary": "done"}}


async def post_task(
    client: httpx.AsyncClient, board: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    r = await client.post(
        f"/v1/boards/{board['id']}/tasks", json={"title": "t", **fields}, headers=ADMIN
    )
    assert r.status_code == 201, r.text
    task: dict[str, Any] = r.json()
    return task


async def claim(
    client: httpx.AsyncClient, board: dict[str, Any], agent: dict[str, Any], lease_s: float = 60
) -> httpx.Response:
    return await client.post(
        f"/v1/boards/{board['id']}/tasks/claim", json={"lease_s": lease_s}, headers=agent["headers"]
    )


async def complete(
    client: httpx.AsyncClient, task_id: str, agent: dict[str, Any], **artifact: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/tasks/{task_id}/complete",
        json={"artifact": {**RESULT, **artifact}},
        headers=agent["headers"],
    )
