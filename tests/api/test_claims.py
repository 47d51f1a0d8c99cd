"""Role claims, fencing and abstentions over the real API."""

import asyncio
from typing import Any

import httpx
import psycopg

from tests.support.api import ADMIN, Actors, count_rows


async def claim(
    client: httpx.AsyncClient, board: dict[str, Any], agent: dict[str, Any], **fields: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/boards/{board['id']}/claims",
        json={"role": "critic", **fields},
        headers=agent["headers"],
    )


async def test_16_agents_race_for_one_exclusive_role_and_exactly_one_wins(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    agents = [await actors.agent() for _ in range(16)]
    responses = await asyncio.gather(*(claim(client, board, a, role="lead") for a in agents))
    won = [r for r in responses if r.status_code == 201]
    lost = [r for r in responses if r.status_code != 201]
    assert len(won) == 1
    winner = won[0].json()
    assert all(r.status_code == 409 and r.json()["error"] == "RoleTaken" for r in lost)
    assert all(r.json()["holder_id"] == winner["agent_id"] for r in lost)
    active = (
        await client.get(
            f"/v1/boards/{board['id']}/claims", params={"active": "true"}, headers=ADMIN
        )
    ).json()["items"]
    assert [c["id"] for c in active] == [winner["id"]]


async def test_shared_claims_coexist_but_not_with_an_exclusive_one(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    a, b, c = await actors.agent(), await actors.agent(), await actors.agent()
    assert (await claim(client, board, a, exclusive=False)).status_code == 201
    assert (await claim(client, board, b, exclusive=False)).status_code == 201
    taken = await claim(client, board, c, exclusive=True)
    assert taken.status_code == 409 and taken.json()["error"] == "RoleTaken"
    # another scope is another slot
    assert (await claim(client, board, c, scope="task-7")).status_code == 201


async def test_fencing_tokens_increase_per_slot(client: httpx.AsyncClient, actors: Actors) -> None:
    board = await actors.board()
    a, b = await actors.agent(), await actors.agent()
    first = (await claim(client, board, a)).json()
    released = await client.delete(f"/v1/claims/{first['id']}", headers=a["headers"])
    assert released.status_code == 200 and released.json()["status"] == "released"
    second = (await claim(client, board, b)).json()
    assert second["fencing_token"] > first["fencing_token"]
    other_slot = (await claim(client, board, a, role="other")).json()
    assert other_slot["fencing_token"] == 1


async def test_expired_claim_cannot_be_renewed_and_its_late_write_is_refused(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board = await actors.board()
    slow, fast = await actors.agent(), await actors.agent()
    old = (await claim(client, board, slow, ttl_s=0.2)).json()
    url = f"/v1/boards/{board['id']}/artifacts"
    ok = await client.post(
        url,
        json={
            "type": "critique",
            "body": {"target": "x", "verdict": "accept"},
            "claim_id": old["id"],
        },
        headers=slow["headers"],
    )
    assert ok.status_code == 201 and ok.json()["role"] == "critic"
    assert ok.json()["claim_id"] == old["id"]
    await asyncio.sleep(0.3)
    # the lease ran out: reads say so at once, another agent can take the role
    got = (await client.get(f"/v1/claims/{old['id']}", headers=ADMIN)).json()
    assert got["status"] == "expired"
    new = await claim(client, board, fast)
    assert new.status_code == 201
    assert new.json()["fencing_token"] > old["fencing_token"]
    renew = await client.post(f"/v1/claims/{old['id']}/renew", json={}, headers=slow["headers"])
    assert renew.status_code == 409 and renew.json()["error"] == "LeaseLost"
    artifacts_before = count_rows(db, "artifacts")
    late = await client.post(
        url,
        json={
            "type": "critique",
            "body": {"target": "x", "verdict": "reject"},
            "claim_id": old["id"],
        },
        headers=slow["headers"],
    )
    assert late.status_code == 409 and late.json()["error"] == "StaleClaim"
    assert count_rows(db, "artifacts") == artifacts_before
    # a claim that is someone else's cannot fence your write either
    foreign = await client.post(
        url,
        json={
            "type": "critique",
            "body": {"target": "x", "verdict": "reject"},
            "claim_id": new.json()["id"],
        },
        headers=slow["headers"],
    )
    assert foreign.status_code == 409 and foreign.json()["error"] == "StaleClaim"
    assert count_rows(db, "artifacts") == artifacts_before


async def test_the_reaper_records_role_expired(client: httpx.AsyncClient, actors: Actors) -> None:
    board = await actors.board()
    agent = await actors.agent()
    c = (await claim(client, board, agent, ttl_s=0.1)).json()
    events: list[dict[str, Any]] = []
    for _ in range(50):
        events = (
            await client.get(
                f"/v1/boards/{board['id']}/events", params={"kind": "role.expired"}, headers=ADMIN
            )
        ).json()["items"]
        if events:
            break
        await asyncio.sleep(0.1)
    assert [e["subject_id"] for e in events] == [c["id"]]
    kinds = [
        e["kind"]
        for e in (await client.get(f"/v1/boards/{board['id']}/events", headers=ADMIN)).json()[
            "items"
        ]
    ]
    assert kinds == ["board.created", "role.claimed", "role.expired"]


async def test_renew_and_release_are_for_the_holder_only(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    holder, other = await actors.agent(), await actors.agent()
    c = (await claim(client, board, holder, ttl_s=5)).json()
    assert (
        await client.post(
            f"/v1/claims/{c['id']}/renew", json={"ttl_s": 30}, headers=other["headers"]
        )
    ).status_code == 403
    assert (
        await client.delete(f"/v1/claims/{c['id']}", headers=other["headers"])
    ).status_code == 403
    renewed = await client.post(
        f"/v1/claims/{c['id']}/renew", json={"ttl_s": 30}, headers=holder["headers"]
    )
    assert renewed.status_code == 200
    assert renewed.json()["expires_at"] > c["expires_at"]
    assert (
        await client.delete(f"/v1/claims/{c['id']}", headers=holder["headers"])
    ).status_code == 200
    again = await client.delete(f"/v1/claims/{c['id']}", headers=holder["headers"])
    assert again.status_code == 409 and again.json()["error"] == "LeaseLost"


async def test_abstentions_are_recorded_listed_and_counted(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    a, b = await actors.agent(), await actors.agent()
    url = f"/v1/boards/{board['id']}/abstentions"
    for agent, role in [(a, "critic"), (a, "planner"), (b, "critic")]:
        r = await client.post(
            url,
            json={"role": role, "reason": "not my field", "confidence": 0.8},
            headers=agent["headers"],
        )
        assert r.status_code == 201
        assert r.json()["agent_id"] == agent["id"]
    listed = (await client.get(url, headers=ADMIN)).json()
    assert len(listed["items"]) == 3
    assert listed["counts"]["by_agent"] == {a["id"]: 2, b["id"]: 1}
    assert listed["counts"]["by_role"] == {"critic": 2, "planner": 1}
    only_a = (await client.get(url, params={"agent": a["id"]}, headers=ADMIN)).json()
    assert len(only_a["items"]) == 2
    events = (
        await client.get(
            f"/v1/boards/{board['id']}/events", params={"kind": "agent.abstained"}, headers=ADMIN
        )
    ).json()["items"]
    assert len(events) == 3 and events[0]["data"]["reason"] == "not my field"
