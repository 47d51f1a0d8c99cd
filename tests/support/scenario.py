"""A board worth inspecting, built through the API: two versions of a finding, a critique
built on it, a role claim, an abstention (with agent-written markup in its reason), and a
finished sequential run of scripted model-backed agents whose view hides some types."""

from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.api import ADMIN, Actors
from tests.support.runs import finished, population, start

CLAIM_V1 = "water boils at 100 C"
CLAIM_V2 = "water boils at 100 C at sea level"
HOSTILE = "<script>alert('pwned')</script> chemistry is outside my competence"


@dataclass(frozen=True)
class Scenario:
    """What was created, as the API returned it."""

    board: dict[str, Any]
    researcher: dict[str, Any]
    v1: dict[str, Any]
    v2: dict[str, Any]
    critique: dict[str, Any]
    run: dict[str, Any]
    detail: dict[str, Any]  # GET /v1/runs/{id} once the run finished


async def publish(
    client: httpx.AsyncClient, board_id: str, author: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """Publish as `author` (claiming the role it names first, as a version may name only a
    role its author holds); return the artifact."""
    if "role" in fields:
        claimed = await client.post(
            f"/v1/boards/{board_id}/claims",
            json={"role": fields["role"], "exclusive": False},
            headers=author["headers"],
        )
        assert claimed.status_code == 201, claimed.text
    r = await client.post(
        f"/v1/boards/{board_id}/artifacts", json=fields, headers=author["headers"]
    )
    assert r.status_code == 201, r.text
    published: dict[str, Any] = r.json()
    return published


async def build(client: httpx.AsyncClient) -> Scenario:
    """Create the scenario through `client` (in-process or over a real socket)."""
    actors = Actors(client)
    r = await client.post(
        "/v1/boards",
        json={"name": "boiling-points", "mission": "Check the handbook"},
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    board = r.json()
    researcher = await actors.agent("researcher-ana", ["research"])
    critic = await actors.agent("critic-bo", ["critique"])
    v1 = await publish(
        client,
        board["id"],
        researcher,
        type="finding",
        key="finding/water",
        role="researcher",
        body={"claim": CLAIM_V1, "confidence": 0.7},
    )
    v2 = await publish(
        client,
        board["id"],
        researcher,
        type="finding",
        key="finding/water",
        expected_version=1,
        role="researcher",
        body={"claim": CLAIM_V2, "confidence": 0.9},
    )
    critique = await publish(
        client,
        board["id"],
        critic,
        type="critique",
        key="critique/water",
        parents=[v2["id"]],
        body={"target": "finding/water", "verdict": "accept"},
    )
    r = await client.post(
        f"/v1/boards/{board['id']}/claims",
        json={"role": "researcher", "scope": "water"},
        headers=researcher["headers"],
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/v1/boards/{board['id']}/abstentions",
        json={"role": "chemist", "reason": HOSTILE, "confidence": 0.8},
        headers=critic["headers"],
    )
    assert r.status_code == 201, r.text
    agents = await population(actors)
    run = await start(
        client,
        board,
        protocol="sequential",
        roster=[a["id"] for a in agents],
        view={"scope": "run", "types": ["plan"]},  # everything but plans is hidden
    )
    detail = await finished(client, run["id"])
    return Scenario(board, researcher, v1, v2, critique, run, detail)
