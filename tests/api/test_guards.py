"""Guarded keys: the publish statement checks the claim, its role and scope, and the fencing
token, on every write path; bad guards are refused with the documented error shape."""

import asyncio
from typing import Any

import httpx
import psycopg
import pytest

from tests.support.api import ADMIN, Actors, count_rows

COLOR = {"type": "finding", "body": {"claim": "red"}}


async def guard(
    client: httpx.AsyncClient, board: dict[str, Any], pattern: str, role: str
) -> httpx.Response:
    return await client.post(
        f"/v1/boards/{board['id']}/guards",
        json={"key_pattern": pattern, "role": role},
        headers=ADMIN,
    )


async def claim(
    client: httpx.AsyncClient,
    board: dict[str, Any],
    agent: dict[str, Any],
    role: str,
    scope: str | None = None,
    ttl_s: float = 30,
) -> dict[str, Any]:
    r = await client.post(
        f"/v1/boards/{board['id']}/claims",
        json={"role": role, "scope": scope, "ttl_s": ttl_s},
        headers=agent["headers"],
    )
    assert r.status_code == 201, r.text
    found: dict[str, Any] = r.json()
    return found


async def write(
    client: httpx.AsyncClient,
    board: dict[str, Any],
    agent: dict[str, Any],
    key: str,
    claim_id: str | None = None,
    **fields: Any,
) -> httpx.Response:
    body = {**COLOR, "key": key, **fields}
    if claim_id is not None:
        body["claim_id"] = claim_id
    return await client.post(
        f"/v1/boards/{board['id']}/artifacts", json=body, headers=agent["headers"]
    )


def versions_of(db: psycopg.Connection[Any], key: str) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT version, fencing_token, author_id::text FROM artifacts WHERE key = %s"
        " ORDER BY version",
        (key,),
    ).fetchall()


async def test_a_guard_is_created_listed_and_deleted_by_the_admin_only(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board, agent = await actors.board(), await actors.agent()
    r = await guard(client, board, "color/{scope}", "node")
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["key_pattern"] == "color/{scope}" and made["role"] == "node"
    assert made["board_id"] == board["id"] and made["id"] and made["created_at"]
    listed = await client.get(f"/v1/boards/{board['id']}/guards", headers=agent["headers"])
    assert listed.json()["items"] == [made]
    denied = await client.post(
        f"/v1/boards/{board['id']}/guards",
        json={"key_pattern": "plan", "role": "planner"},
        headers=agent["headers"],
    )
    assert denied.status_code == 403 and denied.json()["error"] == "Forbidden"
    assert (await client.delete(f"/v1/guards/{made['id']}", headers=agent["headers"])).status_code
    gone = await client.delete(f"/v1/guards/{made['id']}", headers=ADMIN)
    assert gone.status_code == 200 and gone.json() == made
    # the key takes anyone's writes again
    assert (await write(client, board, agent, "color/1")).status_code == 201
    again = await client.delete(f"/v1/guards/{made['id']}", headers=ADMIN)
    assert again.status_code == 404 and again.json()["error"] == "NotFound"


@pytest.mark.parametrize(
    "pattern",
    ["", "a/{scope}/{scope}", "a*/b", "a/{node}", "a/{scope", "**", "a\nb", "x" * 257],
)
async def test_a_malformed_pattern_is_422_and_writes_nothing(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any], pattern: str
) -> None:
    board = await actors.board()
    r = await guard(client, board, pattern, "node")
    assert r.status_code == 422, r.text
    assert r.json()["error"] in ("InvalidPattern", "ValidationFailed") and r.json()["detail"]
    assert count_rows(db, "guards") == 0


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("color/{scope}", "color/7"),
        ("color/{scope}", "color/*"),
        ("color/*", "color/7/shade"),
        ("a/{scope}/b", "a/x/{scope}"),
        ("plan", "plan"),
    ],
)
async def test_a_guard_overlapping_another_is_409_naming_it(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any], first: str, second: str
) -> None:
    board = await actors.board()
    existing = (await guard(client, board, first, "node")).json()
    r = await guard(client, board, second, "other")
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "GuardOverlaps" and r.json()["guard"] == existing
    assert count_rows(db, "guards") == 1
    # patterns that share no key coexist, and guards on other boards do not count
    assert (await guard(client, board, "elsewhere/" + first, "node")).status_code == 201
    assert (await guard(client, await actors.board(), second, "node")).status_code == 201


async def test_guarded_writes_need_the_right_live_claim_and_record_its_token(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board, me, other = await actors.board(), await actors.agent(), await actors.agent()
    assert (await guard(client, board, "color/{scope}", "node")).status_code == 201
    node7 = await claim(client, board, me, "node", "7")
    node9 = await claim(client, board, me, "node", "9")
    critic = await claim(client, board, me, "critic", "7")
    theirs = await claim(client, board, other, "node", "8")
    cases = [
        (None, 409, "ClaimRequired"),
        (node9["id"], 409, "WrongClaim"),
        (critic["id"], 409, "WrongClaim"),
        (theirs["id"], 409, "StaleClaim"),
        ("00000000-0000-0000-0000-000000000000", 409, "StaleClaim"),
    ]
    for claim_id, status, error in cases:
        r = await write(client, board, me, "color/7", claim_id)
        assert (r.status_code, r.json()["error"]) == (status, error), r.text
    faked = await write(client, board, me, "color/7", node7["id"], role="critic")
    assert faked.status_code == 422
    assert versions_of(db, "color/7") == []
    ok = await write(client, board, me, "color/7", node7["id"])
    assert ok.status_code == 201, ok.text
    art = ok.json()
    assert (art["claim_id"], art["fencing_token"], art["role"]) == (node7["id"], 1, "node")
    base = f"/v1/boards/{board['id']}"
    history = (await client.get(f"{base}/keys/color/7/history", headers=ADMIN)).json()
    listed = await client.get(f"{base}/artifacts", params={"key": "color/7"}, headers=ADMIN)
    assert history["items"] == [art] == listed.json()["items"]
    events = (await client.get(f"{base}/events", headers=ADMIN)).json()["items"]
    published = [e for e in events if e["kind"] == "artifact.published"]
    assert published[-1]["data"]["fencing_token"] == 1
    assert published[-1]["data"]["claim_id"] == node7["id"]
    # keys no guard matches behave as before
    assert (await write(client, board, me, "colour/7")).status_code == 201
    assert (await write(client, board, me, "color/7/shade")).status_code == 201


async def test_a_guarded_key_never_takes_a_lower_fencing_token_than_it_has_had(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    # A guard without {scope} takes a claim of its role for any scope, and each scope has
    # tokens of its own: here the storage's token check is all that keeps the order.
    board, low, high = await actors.board(), await actors.agent(), await actors.agent()
    assert (await guard(client, board, "plan/*", "planner")).status_code == 201
    first = await claim(client, board, high, "planner", "b")  # scope b's tokens run ahead
    assert (await client.delete(f"/v1/claims/{first['id']}", headers=high["headers"])).is_success
    ahead = await claim(client, board, high, "planner", "b")
    behind = await claim(client, board, low, "planner", "a")
    assert (ahead["fencing_token"], behind["fencing_token"]) == (2, 1)
    assert (await write(client, board, high, "plan/main", ahead["id"])).status_code == 201
    late = await write(client, board, low, "plan/main", behind["id"])
    assert (late.status_code, late.json()["error"]) == (409, "StaleClaim"), late.text
    assert late.json()["fencing_token"] == 1 and late.json()["highest"] == 2
    assert [v[1] for v in versions_of(db, "plan/main")] == [2]


async def test_a_role_needs_a_live_claim_and_a_claim_gives_its_role(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board, me = await actors.board(), await actors.agent()
    r = await write(client, board, me, "notes", role="critic")
    assert r.status_code == 422 and r.json()["error"] == "RoleWithoutClaim"
    assert count_rows(db, "artifacts") == 0
    critic = await claim(client, board, me, "critic", ttl_s=30)
    by_claim = await write(client, board, me, "notes", critic["id"])
    assert by_claim.status_code == 201 and by_claim.json()["role"] == "critic"
    by_role = await write(client, board, me, "notes", role="critic")
    assert by_role.status_code == 201 and by_role.json()["role"] == "critic"


async def lapse(client: httpx.AsyncClient, claim_id: str) -> None:
    """Wait until the claim's lease has run out."""
    for _ in range(200):
        got = (await client.get(f"/v1/claims/{claim_id}", headers=ADMIN)).json()
        if got["status"] != "active":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the claim never lapsed")


async def test_a_zombie_holder_never_lands_a_write_through_any_path(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board = await actors.board()
    zombie, heir = await actors.agent(), await actors.agent()
    assert (await guard(client, board, "color/{scope}", "node")).status_code == 201
    old = await claim(client, board, zombie, "node", "7", ttl_s=0.3)
    await lapse(client, old["id"])
    new = await claim(client, board, heir, "node", "7")
    assert new["fencing_token"] > old["fencing_token"]
    task = await client.post(
        f"/v1/boards/{board['id']}/tasks", json={"title": "paint"}, headers=ADMIN
    )
    assert task.status_code == 201
    leased = await client.post(f"/v1/boards/{board['id']}/tasks/claim", headers=zombie["headers"])
    assert leased.json()["id"] == task.json()["id"]

    async def single(claim_id: str | None) -> httpx.Response:
        return await write(client, board, zombie, "color/7", claim_id)

    async def batch(claim_id: str | None) -> httpx.Response:
        item = {**COLOR, "key": "color/7", "claim_id": claim_id}
        return await client.post(
            f"/v1/boards/{board['id']}/artifacts/batch",
            json={"items": [{**COLOR, "key": "free"}, item]},
            headers=zombie["headers"],
        )

    async def completion(claim_id: str | None) -> httpx.Response:
        return await client.post(
            f"/v1/tasks/{task.json()['id']}/complete",
            json={"artifact": {**COLOR, "key": "color/7", "claim_id": claim_id}},
            headers=zombie["headers"],
        )

    # every path, with and without the old claim, at once with the heir's own writes
    attempts = [p(c) for p in (single, batch, completion) for c in (old["id"], None)]
    heir_writes = [write(client, board, heir, "color/7", new["id"]) for _ in range(4)]
    results = await asyncio.gather(*attempts, *heir_writes)
    for r in results[: len(attempts)]:
        assert r.status_code == 409, r.text
        assert r.json()["error"] in ("StaleClaim", "ClaimRequired")
    assert all(r.status_code == 201 for r in results[len(attempts) :])
    assert {row[2] for row in versions_of(db, "color/7")} == {heir["id"]}
    assert count_rows(db, "artifacts") == 4  # not even the batch's unguarded item
    got = await client.get(f"/v1/tasks/{task.json()['id']}", headers=ADMIN)
    assert got.json()["status"] == "leased"


async def test_a_zombie_turn_answer_cannot_write_a_guarded_key(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board = await actors.board()
    zombie, heir = await actors.agent(), await actors.agent()
    assert (await guard(client, board, "color/{scope}", "node")).status_code == 201
    old = await claim(client, board, zombie, "node", "7", ttl_s=0.3)
    await lapse(client, old["id"])
    await claim(client, board, heir, "node", "7")
    outcomes = []
    for claim_id in (old["id"], None):
        run = await client.post(
            f"/v1/boards/{board['id']}/runs",
            json={"goal": "colour", "protocol": "solo", "roster": [zombie["id"]]},
            headers=ADMIN,
        )
        assert run.status_code == 201, run.text
        r = await client.get("/v1/agents/me/turns", params={"wait": 5}, headers=zombie["headers"])
        assert r.json()["items"], (outcomes, r.json())
        turn = r.json()["items"][0]
        artifact = {**COLOR, "key": "color/7", "claim_id": claim_id}
        answer = await client.post(
            f"/v1/turns/{turn['id']}/complete",
            json={"role": "node", "artifacts": [artifact]},
            headers=zombie["headers"],
        )
        outcomes.append((answer.status_code, answer.json()["error"]))
        # the turn stays open: decline it so that the run ends
        await client.post(
            f"/v1/turns/{turn['id']}/abstain", json={"reason": "x"}, headers=zombie["headers"]
        )
    # the turn's own claim is for its step, not for node 7's scope
    assert outcomes == [(409, "StaleClaim"), (409, "WrongClaim")]
    assert versions_of(db, "color/7") == []


async def test_16_agents_racing_for_a_guarded_role_never_write_a_lower_token(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board = await actors.board()
    agents = [await actors.agent() for _ in range(16)]
    assert (await guard(client, board, "color/{scope}", "node")).status_code == 201
    refused = 0

    async def racer(agent: dict[str, Any]) -> None:
        nonlocal refused
        for _ in range(8):
            r = await client.post(
                f"/v1/boards/{board['id']}/claims",
                json={"role": "node", "scope": "1", "ttl_s": 0.15},
                headers=agent["headers"],
            )
            if r.status_code != 201:
                await asyncio.sleep(0.03)
                continue
            held = r.json()["id"]
            await write(client, board, agent, "color/1", held)
            await asyncio.sleep(0.2)  # stalls: the lease lapses, another racer takes over
            late = await write(client, board, agent, "color/1", held)  # a zombie's write
            refused += late.status_code == 409

    await asyncio.gather(*(racer(a) for a in agents))
    tokens = [row[1] for row in versions_of(db, "color/1")]
    assert len(tokens) >= 4 and refused > 0
    assert tokens == sorted(tokens)
    assert len(set(tokens)) > 1  # the role changed hands while they raced
