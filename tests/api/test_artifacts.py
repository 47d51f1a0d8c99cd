"""Publishing and reading artifacts over the real API and database."""

from typing import Any

import httpx
import psycopg
import pytest

from tests.support.api import ADMIN, Actors, count_rows

FINDING = {"claim": "water boils at 100C at sea level", "evidence": ["handbook"], "confidence": 0.9}


async def publish(
    client: httpx.AsyncClient, board: dict[str, Any], agent: dict[str, Any], **fields: Any
) -> httpx.Response:
    body = {"type": "finding", "body": FINDING, **fields}
    if "role" in fields:  # a version may name only a role its author holds a claim of
        claimed = await client.post(
            f"/v1/boards/{board['id']}/claims",
            json={"role": fields["role"], "exclusive": False},
            headers=agent["headers"],
        )
        assert claimed.status_code == 201, claimed.text
    return await client.post(
        f"/v1/boards/{board['id']}/artifacts", json=body, headers=agent["headers"]
    )


async def test_publish_returns_the_artifact_and_get_reads_it_back(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board, agent = await actors.board(), await actors.agent()
    r = await publish(client, board, agent, tags=["physics"], role="researcher")
    assert r.status_code == 201, r.text
    art = r.json()
    assert art["version"] == 1
    assert art["type"] == "finding" and art["type_version"] == 1
    assert art["author_id"] == agent["id"]
    assert art["board_id"] == board["id"]
    assert art["tags"] == ["physics"] and art["role"] == "researcher"
    assert art["key"] == art["id"]
    assert len(art["content_hash"]) == 64
    assert art["created_at"].endswith("Z")
    got = await client.get(f"/v1/boards/{board['id']}/artifacts/{art['id']}", headers=ADMIN)
    assert got.status_code == 200
    assert got.json() == art


async def test_content_hash_ignores_key_order(client: httpx.AsyncClient, actors: Actors) -> None:
    board, agent = await actors.board(), await actors.agent()
    a = (await publish(client, board, agent, body={"claim": "x", "confidence": 0.5})).json()
    b = (await publish(client, board, agent, body={"confidence": 0.5, "claim": "x"})).json()
    assert a["content_hash"] == b["content_hash"]
    c = (await publish(client, board, agent, body={"claim": "y", "confidence": 0.5})).json()
    assert c["content_hash"] != a["content_hash"]


async def test_publishing_to_a_key_makes_the_next_version_and_history_lists_all(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board, agent = await actors.board(), await actors.agent()
    for i in range(3):
        r = await publish(client, board, agent, key="plan/main", body={**FINDING, "claim": f"v{i}"})
        assert r.status_code == 201
        assert r.json()["version"] == i + 1
    hist = await client.get(f"/v1/boards/{board['id']}/keys/plan/main/history", headers=ADMIN)
    assert hist.status_code == 200
    assert [a["body"]["claim"] for a in hist.json()["items"]] == ["v0", "v1", "v2"]
    latest = await client.get(
        f"/v1/boards/{board['id']}/artifacts", params={"key": "plan/main"}, headers=ADMIN
    )
    assert [a["version"] for a in latest.json()["items"]] == [3]


async def test_expected_version_mismatch_is_409_and_writes_nothing(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board, agent = await actors.board(), await actors.agent()
    assert (await publish(client, board, agent, key="k", expected_version=0)).status_code == 201
    before = count_rows(db, "artifacts"), count_rows(db, "events")
    r = await publish(client, board, agent, key="k", expected_version=0)
    assert r.status_code == 409
    assert r.json()["error"] == "VersionConflict"
    assert r.json()["current_version"] == 1
    assert (count_rows(db, "artifacts"), count_rows(db, "events")) == before
    ok = await publish(client, board, agent, key="k", expected_version=1)
    assert ok.status_code == 201 and ok.json()["version"] == 2


async def test_idempotency_key_returns_the_same_artifact_and_writes_once(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board, agent = await actors.board(), await actors.agent()
    headers = {**agent["headers"], "Idempotency-Key": "req-1"}
    url = f"/v1/boards/{board['id']}/artifacts"
    first = await client.post(url, json={"type": "finding", "body": FINDING}, headers=headers)
    events_after_first = count_rows(db, "events")
    again = await client.post(url, json={"type": "finding", "body": FINDING}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count_rows(db, "artifacts") == 1
    assert count_rows(db, "events") == events_after_first
    different = await client.post(
        url, json={"type": "finding", "body": {**FINDING, "claim": "other"}}, headers=headers
    )
    assert different.status_code == 409
    assert different.json()["error"] == "IdempotencyKeyReused"
    assert count_rows(db, "artifacts") == 1


async def test_schema_violation_is_422_with_json_pointer_paths(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board, agent = await actors.board(), await actors.agent()
    r = await publish(client, board, agent, body={"claim": "x", "confidence": 7})
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "SchemaViolation"
    assert {"path": "/body/confidence", "message": "7 is greater than the maximum of 1.0"} in body[
        "errors"
    ]
    assert count_rows(db, "artifacts") == 0


async def test_unknown_type_and_foreign_parent_are_422(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board, other, agent = await actors.board(), await actors.board(), await actors.agent()
    r = await client.post(
        f"/v1/boards/{board['id']}/artifacts",
        json={"type": "no-such-type", "body": {}},
        headers=agent["headers"],
    )
    assert r.status_code == 422 and r.json()["error"] == "UnknownType"
    assert r.json()["errors"][0]["path"] == "/type"
    elsewhere = (await publish(client, other, agent)).json()
    r = await publish(client, board, agent, parents=[elsewhere["id"]])
    assert r.status_code == 422 and r.json()["error"] == "UnknownParent"
    assert r.json()["errors"][0]["path"] == "/parents/0"
    assert count_rows(db, "artifacts") == 1


async def test_a_key_keeps_its_type(client: httpx.AsyncClient, actors: Actors) -> None:
    board, agent = await actors.board(), await actors.agent()
    assert (await publish(client, board, agent, key="k")).status_code == 201
    r = await client.post(
        f"/v1/boards/{board['id']}/artifacts",
        json={"type": "result", "key": "k", "body": {"summary": "s"}},
        headers=agent["headers"],
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "/type"


async def test_list_filters_and_pages_with_next_after(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board, a1, a2 = await actors.board(), await actors.agent(), await actors.agent()
    for i in range(5):
        await publish(client, board, a1 if i % 2 else a2, tags=["even" if i % 2 == 0 else "odd"])
    await client.post(
        f"/v1/boards/{board['id']}/claims", json={"role": "synthesiser"}, headers=a1["headers"]
    )
    await client.post(
        f"/v1/boards/{board['id']}/artifacts",
        json={"type": "result", "body": {"summary": "done"}, "role": "synthesiser"},
        headers=a1["headers"],
    )
    url = f"/v1/boards/{board['id']}/artifacts"
    by_type = (await client.get(url, params={"type": "result"}, headers=ADMIN)).json()["items"]
    assert [a["type"] for a in by_type] == ["result"]
    by_author = (await client.get(url, params={"author": a1["id"]}, headers=ADMIN)).json()["items"]
    assert len(by_author) == 3 and {a["author_id"] for a in by_author} == {a1["id"]}
    by_tag = (await client.get(url, params={"tag": "even"}, headers=ADMIN)).json()["items"]
    assert len(by_tag) == 3
    by_role = (await client.get(url, params={"role": "synthesiser"}, headers=ADMIN)).json()
    assert len(by_role["items"]) == 1
    seen: list[int] = []
    after = 0
    while True:
        page = (await client.get(url, params={"after": after, "limit": 2}, headers=ADMIN)).json()
        if not page["items"]:
            break
        seen += [a["seq"] for a in page["items"]]
        after = page["next_after"]
    assert len(seen) == 6 and seen == sorted(seen)


@pytest.mark.parametrize("mode", ["latest", "every version", "as of"])
async def test_filters_apply_in_every_listing_mode(
    client: httpx.AsyncClient, actors: Actors, mode: str
) -> None:
    board, a1, a2 = await actors.board(), await actors.agent(), await actors.agent()
    written = [
        (await publish(client, board, a1, key="k", tags=["x"], role="r1")).json(),
        (await publish(client, board, a2, key="k", tags=["y"], role="r2")).json(),
        (await publish(client, board, a1, key="j", tags=["x"], role="r1")).json(),
        (
            await client.post(
                f"/v1/boards/{board['id']}/artifacts",
                json={"type": "result", "body": {"summary": "s"}, "key": "r", "tags": ["x"]},
                headers=a1["headers"],
            )
        ).json(),
    ]
    k1, k2, j1, r1 = (w["id"] for w in written)
    # after the last of them, so that "as of" sees what "latest" sees
    await publish(client, board, a2, key="later")
    options = {
        "latest": {},
        "every version": {"latest": "false"},
        "as of": {"as_of": written[-1]["seq"]},
    }[mode]
    url = f"/v1/boards/{board['id']}/artifacts"

    async def ids(**params: Any) -> list[str]:
        r = await client.get(url, params={**options, **params}, headers=ADMIN)
        assert r.status_code == 200, r.text
        return [a["id"] for a in r.json()["items"]]

    every = mode == "every version"
    assert await ids(type="result") == [r1]
    assert await ids(type="finding", key="k") == ([k1, k2] if every else [k2])
    assert await ids(author=a1["id"], tag="x") == ([k1, j1, r1] if every else [j1, r1])
    assert await ids(role="r2") == [k2]
    assert await ids(type="finding", tag="y", author=a2["id"], role="r2") == [k2]


@pytest.mark.parametrize("mode", [{}, {"latest": "false"}, {"as_of": 10**9}])
async def test_a_listing_reads_each_artifact_exactly_as_get_does(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any], mode: dict[str, Any]
) -> None:
    """The listing's JSON is written by PostgreSQL, the single artifact's by the API."""
    board, agent = await actors.board(), await actors.agent()
    body = {"claim": 'Wasser kocht bei 100 °C "auf Meereshöhe"\n', "evidence": [], "confidence": 1}
    goal = (await publish(client, board, agent, key="g", body=body, tags=["a", "b"])).json()
    child = (
        await publish(client, board, agent, key="c", parents=[goal["id"]], role="researcher")
    ).json()
    gone = (await publish(client, board, agent, key="gone")).json()
    await publish(client, board, agent, key="gone")  # "gone" stays listed at version 2
    base = f"/v1/boards/{board['id']}/artifacts"
    retracted = await client.post(
        f"{base}/{gone['id']}/retract", json={"reason": "wrong"}, headers=agent["headers"]
    )
    assert retracted.status_code == 200
    # a time on a whole second is written without a fraction
    db.execute(
        "UPDATE artifacts SET created_at = date_trunc('second', created_at) WHERE id = %s",
        (child["id"],),
    )
    page = (await client.get(base, params=mode, headers=ADMIN)).json()
    assert page["items"] and page["next_after"] == page["items"][-1]["seq"]
    for item in page["items"]:
        single = await client.get(f"{base}/{item['id']}", headers=ADMIN)
        assert item == single.json()
    listed = {a["id"]: a for a in page["items"]}
    assert listed[goal["id"]]["body"] == body
    assert "." not in listed[child["id"]]["created_at"]
    assert listed[child["id"]]["parents"] == [goal["id"]]
    if mode == {"latest": "false"}:
        assert listed[gone["id"]]["retracted"]["reason"] == "wrong"


async def test_as_of_answers_as_the_board_stood(client: httpx.AsyncClient, actors: Actors) -> None:
    board, agent = await actors.board(), await actors.agent()
    v1 = (await publish(client, board, agent, key="k", body={**FINDING, "claim": "one"})).json()
    v2 = (await publish(client, board, agent, key="k", body={**FINDING, "claim": "two"})).json()
    url = f"/v1/boards/{board['id']}/artifacts"
    then = (await client.get(url, params={"as_of": v1["seq"]}, headers=ADMIN)).json()["items"]
    assert [a["id"] for a in then] == [v1["id"]]
    now = (await client.get(url, headers=ADMIN)).json()["items"]
    assert [a["id"] for a in now] == [v2["id"]]
    all_versions = (await client.get(url, params={"latest": "false"}, headers=ADMIN)).json()
    assert [a["version"] for a in all_versions["items"]] == [1, 2]
    before_any = (await client.get(url, params={"as_of": v1["seq"] - 1}, headers=ADMIN)).json()
    assert before_any["items"] == []


async def test_lineage_up_and_down_with_depth(client: httpx.AsyncClient, actors: Actors) -> None:
    board, agent = await actors.board(), await actors.agent()
    goal = (await publish(client, board, agent)).json()
    plan = (await publish(client, board, agent, parents=[goal["id"]])).json()
    step1 = (await publish(client, board, agent, parents=[plan["id"]])).json()
    step2 = (await publish(client, board, agent, parents=[plan["id"], goal["id"]])).json()
    base = f"/v1/boards/{board['id']}/artifacts"
    up = (await client.get(f"{base}/{step2['id']}/lineage", headers=ADMIN)).json()
    assert {n["id"] for n in up["nodes"]} == {step2["id"], plan["id"], goal["id"]}
    assert {(e["parent"], e["child"]) for e in up["edges"]} == {
        (plan["id"], step2["id"]),
        (goal["id"], step2["id"]),
        (goal["id"], plan["id"]),
    }
    down = (
        await client.get(
            f"{base}/{goal['id']}/lineage", params={"direction": "down"}, headers=ADMIN
        )
    ).json()
    assert {n["id"] for n in down["nodes"]} == {goal["id"], plan["id"], step1["id"], step2["id"]}
    shallow = (
        await client.get(
            f"{base}/{goal['id']}/lineage", params={"direction": "down", "depth": 1}, headers=ADMIN
        )
    ).json()
    assert {n["id"] for n in shallow["nodes"]} == {goal["id"], plan["id"], step2["id"]}


async def test_retract_keeps_history_and_falls_back_to_previous_version(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board, author, other = await actors.board(), await actors.agent(), await actors.agent()
    v1 = (await publish(client, board, author, key="k", body={**FINDING, "claim": "one"})).json()
    v2 = (await publish(client, board, author, key="k", body={**FINDING, "claim": "two"})).json()
    url = f"/v1/boards/{board['id']}/artifacts/{v2['id']}/retract"
    forbidden = await client.post(url, json={"reason": "not mine"}, headers=other["headers"])
    assert forbidden.status_code == 403
    r = await client.post(url, json={"reason": "wrong"}, headers=author["headers"])
    assert r.status_code == 200
    assert r.json()["retracted"]["reason"] == "wrong"
    assert r.json()["retracted"]["by"] == author["id"]
    again = await client.post(url, json={"reason": "twice"}, headers=author["headers"])
    assert again.status_code == 409
    current = (
        await client.get(f"/v1/boards/{board['id']}/artifacts", params={"key": "k"}, headers=ADMIN)
    ).json()["items"]
    assert [a["id"] for a in current] == [v1["id"]]
    hist = (await client.get(f"/v1/boards/{board['id']}/keys/k/history", headers=ADMIN)).json()
    assert [a["retracted"] is not None for a in hist["items"]] == [False, True]
    events = (
        await client.get(
            f"/v1/boards/{board['id']}/events", params={"kind": "artifact.retracted"}, headers=ADMIN
        )
    ).json()["items"]
    assert len(events) == 1
    assert events[0]["actor_id"] == author["id"] and events[0]["data"]["reason"] == "wrong"
    # as_of before the retraction still shows v2 as current
    then = (
        await client.get(
            f"/v1/boards/{board['id']}/artifacts", params={"as_of": v2["seq"]}, headers=ADMIN
        )
    ).json()["items"]
    assert [a["id"] for a in then] == [v2["id"]]
