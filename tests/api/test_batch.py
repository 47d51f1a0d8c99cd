"""Publishing many artifacts in one request: in order, all or nothing."""

from typing import Any

import httpx
import psycopg

from tests.support.api import ADMIN, Actors, count_rows


def finding(claim: str, **fields: Any) -> dict[str, Any]:
    return {"type": "finding", "body": {"claim": claim, "confidence": 0.5}, **fields}


def snapshot(db: psycopg.Connection[Any]) -> tuple[int, int, int]:
    return count_rows(db, "artifacts"), count_rows(db, "events"), count_rows(db, "artifact_keys")


async def batch(
    client: httpx.AsyncClient,
    board: dict[str, Any],
    agent: dict[str, Any],
    items: list[dict[str, Any]],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        f"/v1/boards/{board['id']}/artifacts/batch",
        json={"items": items},
        headers={**agent["headers"], **(headers or {})},
    )


async def test_batch_returns_items_in_order_with_consecutive_seqs(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board, agent = await actors.board(), await actors.agent()
    r = await batch(client, board, agent, [finding("a"), finding("b"), finding("c")])
    assert r.status_code == 201, r.text
    items = r.json()["items"]
    assert [a["body"]["claim"] for a in items] == ["a", "b", "c"]
    first = items[0]["seq"]
    assert [a["seq"] for a in items] == [first, first + 1, first + 2]
    assert {a["author_id"] for a in items} == {agent["id"]}
    assert all(a["version"] == 1 for a in items)
    listed = (await client.get(f"/v1/boards/{board['id']}/artifacts", headers=ADMIN)).json()
    assert [a["id"] for a in listed["items"]] == [a["id"] for a in items]
    events = (
        await client.get(
            f"/v1/boards/{board['id']}/events",
            params={"kind": "artifact.published"},
            headers=ADMIN,
        )
    ).json()["items"]
    assert [(e["seq"], e["subject_id"]) for e in events] == [(a["seq"], a["id"]) for a in items]


async def test_items_to_one_key_get_consecutive_versions(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board, agent = await actors.board(), await actors.agent()
    first = await batch(client, board, agent, [finding("zero", key="k")])
    assert first.status_code == 201
    r = await batch(
        client,
        board,
        agent,
        [finding("one", key="k"), finding("other", key="j"), finding("two", key="k")],
    )
    assert r.status_code == 201, r.text
    items = r.json()["items"]
    assert [(a["key"], a["version"]) for a in items] == [("k", 2), ("j", 1), ("k", 3)]
    history = await client.get(f"/v1/boards/{board['id']}/keys/k/history", headers=ADMIN)
    assert [a["body"]["claim"] for a in history.json()["items"]] == ["zero", "one", "two"]


async def test_items_can_name_earlier_versions_as_parents(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board, agent = await actors.board(), await actors.agent()
    root = (await batch(client, board, agent, [finding("root")])).json()["items"][0]
    r = await batch(
        client, board, agent, [finding("child", parents=[root["id"]]), finding("sibling")]
    )
    assert r.status_code == 201, r.text
    assert r.json()["items"][0]["parents"] == [root["id"]]


async def test_one_invalid_item_rejects_the_whole_batch(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board, agent = await actors.board(), await actors.agent()
    before = snapshot(db)
    bad = {"type": "finding", "body": {"claim": "x", "confidence": 7}}
    r = await batch(client, board, agent, [finding("a"), finding("b"), bad, finding("d")])
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "SchemaViolation" and body["detail"]
    assert body["index"] == 2
    assert [e["path"] for e in body["errors"]] == ["/items/2/body/confidence"]
    assert snapshot(db) == before
    listed = (await client.get(f"/v1/boards/{board['id']}/artifacts", headers=ADMIN)).json()
    assert listed["items"] == []


async def test_unknown_type_or_parent_in_one_item_names_that_item(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board, other_board, agent = await actors.board(), await actors.board(), await actors.agent()
    foreign = (await batch(client, other_board, agent, [finding("elsewhere")])).json()["items"][0]
    before = snapshot(db)
    r = await batch(client, board, agent, [finding("a"), {"type": "nope", "body": {}}])
    assert r.status_code == 422 and r.json()["error"] == "UnknownType"
    assert r.json()["index"] == 1
    assert [e["path"] for e in r.json()["errors"]] == ["/items/1/type"]
    r = await batch(client, board, agent, [finding("a"), finding("b", parents=[foreign["id"]])])
    assert r.status_code == 422 and r.json()["error"] == "UnknownParent"
    assert r.json()["index"] == 1
    assert [e["path"] for e in r.json()["errors"]] == ["/items/1/parents/0"]
    assert snapshot(db) == before


async def test_expected_version_conflict_names_the_item_and_writes_nothing(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board, agent = await actors.board(), await actors.agent()
    assert (await batch(client, board, agent, [finding("v1", key="k")])).status_code == 201
    before = snapshot(db)
    r = await batch(
        client,
        board,
        agent,
        [finding("new", key="fresh"), finding("stale", key="k", expected_version=0)],
    )
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == "VersionConflict" and body["detail"]
    assert body["index"] == 1 and body["current_version"] == 1
    assert snapshot(db) == before
    # The failed batch reserved no versions: the next publish to each key continues cleanly.
    ok = await batch(
        client,
        board,
        agent,
        [finding("new", key="fresh"), finding("v2", key="k", expected_version=1)],
    )
    assert ok.status_code == 201
    assert [a["version"] for a in ok.json()["items"]] == [1, 2]


async def test_more_than_1000_items_or_none_is_422(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board, agent = await actors.board(), await actors.agent()
    before = snapshot(db)
    item = {"type": "finding", "body": {"claim": "x"}}
    too_many = await batch(client, board, agent, [item] * 1001)
    assert too_many.status_code == 422, too_many.text[:300]
    assert too_many.json()["error"] == "ValidationFailed"
    assert [e["path"] for e in too_many.json()["errors"]] == ["/items"]
    empty = await batch(client, board, agent, [])
    assert empty.status_code == 422
    assert [e["path"] for e in empty.json()["errors"]] == ["/items"]
    assert snapshot(db) == before
    exactly_1000 = await batch(client, board, agent, [item] * 1000)
    assert exactly_1000.status_code == 201
    assert len(exactly_1000.json()["items"]) == 1000


async def test_repeated_idempotency_key_returns_the_same_items_and_writes_once(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board, agent = await actors.board(), await actors.agent()
    items = [finding("a", key="k"), finding("b"), finding("c", key="k")]
    idem = {"Idempotency-Key": "batch-1"}
    first = await batch(client, board, agent, items, headers=idem)
    assert first.status_code == 201, first.text
    after_first = snapshot(db)
    again = await batch(client, board, agent, items, headers=idem)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert snapshot(db) == after_first
    changed = await batch(client, board, agent, [*items[:2], finding("C")], headers=idem)
    assert changed.status_code == 409
    assert changed.json()["error"] == "IdempotencyKeyReused"
    assert snapshot(db) == after_first
