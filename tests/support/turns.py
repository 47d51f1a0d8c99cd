"""Completing and abstaining from turns as an external agent, over HTTP."""

from typing import Any

import httpx

from tests.support.runs import offered


async def complete(
    client: httpx.AsyncClient, agent: dict[str, Any], role: str, artifact: dict[str, Any]
) -> dict[str, Any]:
    turn = await offered(client, agent)
    r = await client.post(
        f"/v1/turns/{turn['id']}/complete",
        json={"role": role, "artifacts": [artifact]},
        headers=agent["headers"],
    )
    assert r.status_code == 200, r.text
    done: dict[str, Any] = r.json()
    return done


async def abstain(client: httpx.AsyncClient, agent: dict[str, Any]) -> None:
    turn = await offered(client, agent)
    r = await client.post(
        f"/v1/turns/{turn['id']}/abstain", json={"reason": "not mine"}, headers=agent["headers"]
    )
    assert r.status_code == 200, r.text


FINDING = {"type": "finding", "body": {"claim": "alpha beta"}}
