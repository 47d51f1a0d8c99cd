"""Agents, boards and the artifact type registry over the real API and database."""

from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest

from tests.support.api import ADMIN, Actors, count_rows

STANDARD_TYPES = ("goal", "plan", "proposal", "finding", "critique", "decision", "result")

MEMO_V1 = {
    "type": "object",
    "properties": {"text": {"type": "string"}},
    "required": ["text"],
}
MEMO_V2 = {
    "type": "object",
    "properties": {"text": {"type": "string"}, "title": {"type": "string", "minLength": 1}},
    "required": ["text", "title"],
}


def assert_error(r: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["error"] == error
    assert isinstance(body["detail"], str) and body["detail"]
    return body


async def put_type(
    client: httpx.AsyncClient, name: str, schema: Any, compatibility: str | None = None
) -> httpx.Response:
    body = (
        {"schema": schema}
        if compatibility is None
        else {"schema": schema, "compatibility": compatibility}
    )
    return await client.put(f"/v1/types/{name}", json=body, headers=ADMIN)


# --- agents -------------------------------------------------------------------------------


async def test_register_agent_returns_its_token_once(
    client: httpx.AsyncClient, db: psycopg.Connection[Any]
) -> None:
    r = await client.post(
        "/v1/agents",
        json={"name": "scout", "capabilities": ["search", "read"], "description": "looks around"},
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    agent = r.json()
    assert agent["name"] == "scout"
    assert agent["capabilities"] == ["read", "search"]
    assert agent["description"] == "looks around"
    token = agent["token"]
    assert isinstance(token, str) and len(token) > 32
    # The token works...
    me = await client.get("/v1/agents/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["id"] == agent["id"]
    # ...but is never shown again, and the database does not hold it in the clear.
    assert "token" not in me.json()
    listed = await client.get("/v1/agents", headers=ADMIN)
    assert listed.status_code == 200
    assert [a["name"] for a in listed.json()["items"]] == ["scout"]
    assert all("token" not in a and "token_hash" not in a for a in listed.json()["items"])
    assert token not in listed.text and token not in me.text
    row = db.execute("SELECT agents::text FROM agents").fetchone()
    assert row is not None and token not in row[0]


async def test_agents_list_in_name_order(client: httpx.AsyncClient, actors: Actors) -> None:
    for name in ("carol", "alice", "bob"):
        await actors.agent(name=name)
    listed = (await client.get("/v1/agents", headers=ADMIN)).json()["items"]
    assert [a["name"] for a in listed] == ["alice", "bob", "carol"]
    page = await client.get("/v1/agents", params={"after": "alice", "limit": 1}, headers=ADMIN)
    assert [a["name"] for a in page.json()["items"]] == ["bob"]


async def test_duplicate_agent_name_is_409_and_writes_nothing(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    await actors.agent(name="twin")
    for name in ("twin", "  twin  "):  # names are trimmed, so these are the same name
        r = await client.post("/v1/agents", json={"name": name}, headers=ADMIN)
        assert_error(r, 409, "NameTaken")
    assert count_rows(db, "agents") == 1


async def test_agents_me_answers_who_is_calling(client: httpx.AsyncClient, actors: Actors) -> None:
    a, b = await actors.agent(name="first"), await actors.agent(name="second")
    me_a = (await client.get("/v1/agents/me", headers=a["headers"])).json()
    me_b = (await client.get("/v1/agents/me", headers=b["headers"])).json()
    assert (me_a["id"], me_a["name"]) == (a["id"], "first")
    assert (me_b["id"], me_b["name"]) == (b["id"], "second")


# --- boards -------------------------------------------------------------------------------


async def test_create_list_and_get_boards(client: httpx.AsyncClient, actors: Actors) -> None:
    r = await client.post(
        "/v1/boards", json={"name": "research", "mission": "find out"}, headers=ADMIN
    )
    assert r.status_code == 201, r.text
    board = r.json()
    assert board["name"] == "research" and board["mission"] == "find out"
    assert board["created_at"].endswith("Z")
    other = await actors.board(name="alpha")
    agent = await actors.agent()
    listed = await client.get("/v1/boards", headers=agent["headers"])
    assert listed.status_code == 200
    assert [b["id"] for b in listed.json()["items"]] == [other["id"], board["id"]]
    got = await client.get(f"/v1/boards/{board['id']}", headers=agent["headers"])
    assert got.status_code == 200
    assert got.json()["id"] == board["id"] and got.json()["mission"] == "find out"


async def test_duplicate_board_name_is_409_and_writes_nothing(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    await actors.board(name="only-one")
    before = count_rows(db, "boards"), count_rows(db, "events")
    r = await client.post("/v1/boards", json={"name": "only-one"}, headers=ADMIN)
    assert_error(r, 409, "NameTaken")
    assert (count_rows(db, "boards"), count_rows(db, "events")) == before


async def test_board_log_starts_with_board_created_at_seq_1(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board(name="fresh")
    assert board["last_seq"] == 1
    events = (await client.get(f"/v1/boards/{board['id']}/events", headers=ADMIN)).json()
    assert len(events["items"]) == 1
    first = events["items"][0]
    assert (first["seq"], first["kind"], first["subject_id"]) == (1, "board.created", board["id"])
    assert first["data"]["name"] == "fresh"
    assert events["next_after"] == 1


@pytest.mark.parametrize(
    "suffix", ["", "/artifacts", "/events", "/keys/k/history", f"/artifacts/{uuid4()}"]
)
async def test_unknown_board_is_404_in_the_error_shape(
    client: httpx.AsyncClient, suffix: str
) -> None:
    missing = uuid4()
    r = await client.get(f"/v1/boards/{missing}{suffix}", headers=ADMIN)
    body = assert_error(r, 404, "NotFound")
    assert "board" in body["detail"]


@pytest.mark.parametrize("suffix", ["", "/artifacts", "/events"])
async def test_malformed_board_id_is_422(client: httpx.AsyncClient, suffix: str) -> None:
    r = await client.get(f"/v1/boards/not-a-uuid{suffix}", headers=ADMIN)
    body = assert_error(r, 422, "ValidationFailed")
    assert [e["path"] for e in body["errors"]] == ["/path/board_id"]
    assert all(e["message"] for e in body["errors"])


# --- types --------------------------------------------------------------------------------


async def test_standard_types_are_pre_registered(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/types", headers=ADMIN)
    assert r.status_code == 200
    by_name = {t["name"]: t for t in r.json()["items"]}
    assert set(STANDARD_TYPES) <= set(by_name)
    for name in STANDARD_TYPES:
        assert by_name[name]["version"] == 1
        assert by_name[name]["schema"]["type"] == "object"
        detail = (await client.get(f"/v1/types/{name}", headers=ADMIN)).json()
        assert detail["versions"] == [1]


async def test_unknown_type_is_404(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v1/types/no-such-type", headers=ADMIN), 404, "NotFound")
    missing_version = await client.get("/v1/types/finding/versions/2", headers=ADMIN)
    assert_error(missing_version, 404, "NotFound")


async def test_type_versions_new_unchanged_and_changed(
    client: httpx.AsyncClient, db: psycopg.Connection[Any]
) -> None:
    first = await put_type(client, "memo", MEMO_V1)
    assert first.status_code == 201, first.text
    assert first.json()["name"] == "memo" and first.json()["version"] == 1
    assert first.json()["schema"] == MEMO_V1
    rows = count_rows(db, "artifact_types")

    same = await put_type(client, "memo", dict(reversed(list(MEMO_V1.items()))))
    assert same.status_code == 200
    assert same.json() == first.json()
    assert count_rows(db, "artifact_types") == rows

    # MEMO_V2 requires a title that v1 bodies lack: only an explicit override registers it
    assert (await put_type(client, "memo", MEMO_V2)).status_code == 409
    assert count_rows(db, "artifact_types") == rows
    changed = await put_type(client, "memo", MEMO_V2, compatibility="none")
    assert changed.status_code == 201
    assert changed.json()["version"] == 2
    assert count_rows(db, "artifact_types") == rows + 1

    detail = (await client.get("/v1/types/memo", headers=ADMIN)).json()
    assert detail["versions"] == [1, 2]
    assert detail["latest"]["version"] == 2 and detail["latest"]["schema"] == MEMO_V2
    v1 = await client.get("/v1/types/memo/versions/1", headers=ADMIN)
    assert v1.status_code == 200
    assert v1.json()["version"] == 1 and v1.json()["schema"] == MEMO_V1


@pytest.mark.parametrize(
    ("schema", "path"),
    [
        ({"type": 5}, "/schema/type"),
        ({"properties": {"a": {"minLength": -1}}}, "/schema/properties/a/minLength"),
        ({"type": "string", "pattern": "("}, "/schema/pattern"),
        ({"$ref": "https://example.com/other.json"}, "/schema/$ref"),
        ({"properties": {"a": {"$ref": "other.json#/x"}}}, "/schema/properties/a/$ref"),
    ],
)
async def test_invalid_schema_is_422_with_a_path_into_the_schema(
    client: httpx.AsyncClient, db: psycopg.Connection[Any], schema: dict[str, Any], path: str
) -> None:
    before = count_rows(db, "artifact_types")
    r = await put_type(client, "broken", schema)
    body = assert_error(r, 422, "InvalidSchema")
    assert [e["path"] for e in body["errors"]] == [path]
    assert all(e["message"] for e in body["errors"])
    assert count_rows(db, "artifact_types") == before
    assert_error(await client.get("/v1/types/broken", headers=ADMIN), 404, "NotFound")


async def test_publishing_validates_against_the_newest_type_version(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board, agent = await actors.board(), await actors.agent()
    url = f"/v1/boards/{board['id']}/artifacts"

    async def publish(body: dict[str, Any]) -> httpx.Response:
        return await client.post(url, json={"type": "memo", "body": body}, headers=agent["headers"])

    assert (await put_type(client, "memo", MEMO_V1)).status_code == 201
    old = await publish({"text": "no title needed yet"})
    assert old.status_code == 201, old.text
    assert old.json()["type_version"] == 1

    assert (await put_type(client, "memo", MEMO_V2, "none")).status_code == 201
    before = count_rows(db, "artifacts")
    rejected = await publish({"text": "still no title"})
    body = assert_error(rejected, 422, "SchemaViolation")
    assert [e["path"] for e in body["errors"]] == ["/body"]
    assert "title" in body["errors"][0]["message"]
    assert count_rows(db, "artifacts") == before

    new = await publish({"text": "now with a title", "title": "Memo"})
    assert new.status_code == 201, new.text
    assert new.json()["type_version"] == 2
    # The old version keeps the type version it was validated against.
    again = await client.get(f"{url}/{old.json()['id']}", headers=ADMIN)
    assert again.json()["type_version"] == 1


@pytest.mark.parametrize("batch", [False, True])
async def test_a_version_registered_elsewhere_is_enforced_despite_a_cached_older_one(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any], batch: bool
) -> None:
    """Another process registers version 2 (here: straight into the database, so this
    process keeps version 1 cached): the publish statement refuses the stale version, the
    publish is validated again, against version 2, and nothing of the first try is kept."""
    board, agent = await actors.board(), await actors.agent()
    url = f"/v1/boards/{board['id']}/artifacts"
    assert (await put_type(client, "memo", MEMO_V1)).status_code == 201
    first = await client.post(
        url, json={"type": "memo", "body": {"text": "v1 is cached now"}}, headers=agent["headers"]
    )
    assert first.status_code == 201, first.text
    db.execute(
        """INSERT INTO artifact_types (name, version, schema, schema_hash, description)
           SELECT name, 2, %s, 'elsewhere', description FROM artifact_types
           WHERE name = 'memo' AND version = 1""",
        (psycopg.types.json.Jsonb(MEMO_V2),),
    )
    before = count_rows(db, "artifacts")
    items = [{"type": "finding", "body": {"claim": "c", "confidence": 0.5}}] * 2
    memo = {"type": "memo", "body": {"text": "no title"}}
    if batch:
        r = await client.post(
            f"{url}/batch", json={"items": [*items, memo]}, headers=agent["headers"]
        )
    else:
        r = await client.post(url, json=memo, headers=agent["headers"])
    body = assert_error(r, 422, "SchemaViolation")
    assert "title" in body["errors"][0]["message"]
    assert count_rows(db, "artifacts") == before
    titled = {"type": "memo", "body": {"text": "t", "title": "Memo"}}
    r = await client.post(url, json=titled, headers=agent["headers"])
    assert r.status_code == 201, r.text
    assert r.json()["type_version"] == 2
