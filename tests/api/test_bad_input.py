"""Bad input on every write endpoint: a clear 4xx in the error shape, nothing written, no 500."""

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest

from tests.support.api import ADMIN, Actors, count_rows

LIMIT = 256 * 1024  # the test app's max_body_bytes (see conftest.settings)
TABLES = (
    "agents",
    "boards",
    "artifact_types",
    "artifacts",
    "artifact_keys",
    "artifact_retractions",
    "events",
)
FINDING = {"type": "finding", "body": {"claim": "x"}}


@dataclass
class World:
    """What exists before each bad request: one board, one agent, one artifact."""

    board: str
    agent: dict[str, str]  # the agent's auth headers
    artifact: str


@dataclass(frozen=True)
class Endpoint:
    """A write endpoint: how to call it, and a body it accepts."""

    name: str
    method: str
    path: Callable[[World], str]
    admin: bool
    valid: dict[str, Any]

    def url(self, world: World) -> str:
        return self.path(world)

    def headers(self, world: World) -> dict[str, str]:
        return ADMIN if self.admin else world.agent


ENDPOINTS = [
    Endpoint("agents", "POST", lambda w: "/v1/agents", True, {"name": "new-agent"}),
    Endpoint("boards", "POST", lambda w: "/v1/boards", True, {"name": "new-board"}),
    Endpoint("types", "PUT", lambda w: "/v1/types/memo", True, {"schema": {"type": "object"}}),
    Endpoint("publish", "POST", lambda w: f"/v1/boards/{w.board}/artifacts", False, FINDING),
    Endpoint(
        "batch",
        "POST",
        lambda w: f"/v1/boards/{w.board}/artifacts/batch",
        False,
        {"items": [FINDING]},
    ),
    Endpoint(
        "retract",
        "POST",
        lambda w: f"/v1/boards/{w.board}/artifacts/{w.artifact}/retract",
        False,
        {"reason": "wrong"},
    ),
]
BY_NAME = {e.name: e for e in ENDPOINTS}

# (endpoint, body with a wrong JSON type, a JSON pointer the 422 must name)
WRONG_TYPES: list[tuple[str, Any, str]] = [
    ("agents", {"name": 123}, "/name"),
    ("agents", {"name": "a", "capabilities": "search"}, "/capabilities"),
    ("agents", {"name": "a", "capabilities": [1]}, "/capabilities/0"),
    ("agents", {"name": "a", "description": ["x"]}, "/description"),
    ("agents", {"name": ""}, "/name"),
    ("agents", {}, "/name"),
    ("boards", {"name": 123}, "/name"),
    ("boards", {"name": "b", "mission": {"x": 1}}, "/mission"),
    ("boards", {"name": "b", "extra": True}, "/extra"),
    ("types", {"schema": "str"}, "/schema"),
    ("types", {"schema": [1, 2]}, "/schema"),
    ("types", {"schema": {}, "description": 5}, "/description"),
    ("publish", {"type": "finding", "body": "str"}, "/body"),
    ("publish", {**FINDING, "parents": ["not-a-uuid"]}, "/parents/0"),
    ("publish", {**FINDING, "tags": "x"}, "/tags"),
    ("publish", {**FINDING, "tags": [1]}, "/tags/0"),
    ("publish", {**FINDING, "key": 5}, "/key"),
    ("publish", {**FINDING, "role": ["r"]}, "/role"),
    ("publish", {**FINDING, "expected_version": "one"}, "/expected_version"),
    ("publish", {**FINDING, "expected_version": -1}, "/expected_version"),
    ("publish", {**FINDING, "claim_id": 7}, "/claim_id"),
    ("publish", {"type": 5, "body": {}}, "/type"),
    ("publish", {"body": {}}, "/type"),
    ("batch", {"items": "x"}, "/items"),
    ("batch", {"items": [{"type": "finding", "body": "str"}]}, "/items/0/body"),
    ("batch", {"items": [FINDING, {**FINDING, "parents": ["nope"]}]}, "/items/1/parents/0"),
    ("batch", {"items": [FINDING, {**FINDING, "tags": "x"}]}, "/items/1/tags"),
    ("retract", {"reason": 123}, "/reason"),
    ("retract", {"reason": ""}, "/reason"),
    ("retract", {}, "/reason"),
]

# Values JSON allows but PostgreSQL or a content hash cannot hold, for each endpoint.
NUL = "a\x00b"
UNSTORABLE: list[tuple[str, Any, str]] = [
    ("agents", {"name": NUL}, "/name"),
    ("agents", {"name": "a", "description": NUL}, "/description"),
    ("boards", {"name": NUL}, "/name"),
    ("boards", {"name": "b", "mission": NUL}, "/mission"),
    ("types", {"schema": {"description": NUL}}, "/schema"),
    ("types", {"schema": {"type": "integer", "maximum": 10**30}}, "/schema"),
    ("publish", {"type": "finding", "body": {"claim": NUL}}, "/body"),
    ("publish", {"type": "finding", "body": {"claim": "x", NUL: 1}}, "/body"),
    ("publish", {"type": "finding", "body": {"claim": "x", "n": 10**30}}, "/body"),
    ("publish", {**FINDING, "role": NUL}, "/role"),
    ("publish", {**FINDING, "expected_version": 10**30}, "/expected_version"),
    ("batch", {"items": [FINDING, {"type": "finding", "body": {"claim": NUL}}]}, "/items/1/body"),
    ("retract", {"reason": NUL}, "/reason"),
]

# Raw JSON texts that Python's parser accepts but that no JSON document can mean.
UNSTORABLE_RAW: list[tuple[str, bytes, str]] = [
    ("publish", b'{"type": "finding", "body": {"claim": "x", "confidence": NaN}}', "/body"),
    ("publish", b'{"type": "finding", "body": {"claim": "x", "n": -Infinity}}', "/body"),
    ("publish", b'{"type": "finding", "body": {"claim": "\\ud800"}}', "/body"),
    ("types", b'{"schema": {"maximum": Infinity}}', "/schema"),
]


@pytest.fixture
async def world(client: httpx.AsyncClient, actors: Actors) -> World:
    board, agent = await actors.board(), await actors.agent()
    r = await client.post(
        f"/v1/boards/{board['id']}/artifacts", json=FINDING, headers=agent["headers"]
    )
    assert r.status_code == 201, r.text
    return World(board=board["id"], agent=agent["headers"], artifact=r.json()["id"])


def snapshot(db: psycopg.Connection[Any]) -> dict[str, int]:
    return {table: count_rows(db, table) for table in TABLES}


def assert_error(r: httpx.Response, status: int, error: str | None = None) -> dict[str, Any]:
    """Assert the status and the documented error shape; return the body."""
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = r.json()
    assert isinstance(body.get("error"), str) and body["error"]
    assert isinstance(body.get("detail"), str) and body["detail"]
    if error is not None:
        assert body["error"] == error
    if status == 422:
        assert body["errors"], body
        for item in body["errors"]:
            assert isinstance(item["path"], str) and isinstance(item["message"], str)
            assert item["message"]
    return body


def paths(body: dict[str, Any]) -> list[str]:
    return [e["path"] for e in body["errors"]]


def json_headers(endpoint: Endpoint, world: World) -> dict[str, str]:
    return {**endpoint.headers(world), "Content-Type": "application/json"}


def oversized_body(endpoint: Endpoint) -> bytes:
    """A body that is valid JSON for the endpoint but about 300 KiB long."""
    padded = {**endpoint.valid, "padding": "x" * (300 * 1024)}
    data = json.dumps(padded).encode()
    assert len(data) > LIMIT
    return data


async def chunks(data: bytes, size: int = 16 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


ids = [e.name for e in ENDPOINTS]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
async def test_the_valid_body_is_accepted(
    client: httpx.AsyncClient, world: World, endpoint: Endpoint
) -> None:
    # Guards the other tests: each refusal below is about the one thing made wrong.
    r = await client.request(
        endpoint.method, endpoint.url(world), json=endpoint.valid, headers=endpoint.headers(world)
    )
    assert r.status_code in (200, 201), r.text


@pytest.mark.parametrize(
    ("name", "body", "path"), WRONG_TYPES, ids=[f"{n}{p}" for n, _, p in WRONG_TYPES]
)
async def test_wrong_json_types_are_422_and_write_nothing(
    client: httpx.AsyncClient,
    db: psycopg.Connection[Any],
    world: World,
    name: str,
    body: Any,
    path: str,
) -> None:
    endpoint = BY_NAME[name]
    before = snapshot(db)
    r = await client.request(
        endpoint.method, endpoint.url(world), json=body, headers=endpoint.headers(world)
    )
    assert path in paths(assert_error(r, 422, "ValidationFailed"))
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("name", "body", "path"), UNSTORABLE, ids=[f"{n}{p}" for n, _, p in UNSTORABLE]
)
async def test_values_the_database_cannot_store_are_422_and_write_nothing(
    client: httpx.AsyncClient,
    db: psycopg.Connection[Any],
    world: World,
    name: str,
    body: Any,
    path: str,
) -> None:
    endpoint = BY_NAME[name]
    before = snapshot(db)
    r = await client.request(
        endpoint.method, endpoint.url(world), json=body, headers=endpoint.headers(world)
    )
    assert path in paths(assert_error(r, 422))
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("name", "raw", "path"), UNSTORABLE_RAW, ids=[r.decode() for _, r, _ in UNSTORABLE_RAW]
)
async def test_non_finite_numbers_and_lone_surrogates_are_422_and_write_nothing(
    client: httpx.AsyncClient,
    db: psycopg.Connection[Any],
    world: World,
    name: str,
    raw: bytes,
    path: str,
) -> None:
    endpoint = BY_NAME[name]
    before = snapshot(db)
    r = await client.request(
        endpoint.method, endpoint.url(world), content=raw, headers=json_headers(endpoint, world)
    )
    assert path in paths(assert_error(r, 422))
    assert snapshot(db) == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
async def test_deeply_nested_json_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, db: psycopg.Connection[Any], world: World, endpoint: Endpoint
) -> None:
    before = snapshot(db)
    for depth in (300, 5000):
        nested = "[" * depth + "]" * depth
        raw = json.dumps(endpoint.valid)[:-1] + f', "deep": {nested}}}'
        r = await client.request(
            endpoint.method,
            endpoint.url(world),
            content=raw.encode(),
            headers=json_headers(endpoint, world),
        )
        assert r.status_code in (400, 422), r.text[:300]
        assert_error(r, r.status_code)
    assert snapshot(db) == before


async def publish_nested(client: httpx.AsyncClient, world: World, depth: int) -> httpx.Response:
    nested = "[" * depth + "]" * depth
    raw = f'{{"type": "finding", "body": {{"claim": "x", "deep": {nested}}}}}'
    return await client.post(
        f"/v1/boards/{world.board}/artifacts",
        content=raw.encode(),
        headers={**world.agent, "Content-Type": "application/json"},
    )


@pytest.mark.parametrize("depth", [300, 5000])
async def test_deeply_nested_artifact_body_is_refused(
    client: httpx.AsyncClient, db: psycopg.Connection[Any], world: World, depth: int
) -> None:
    before = snapshot(db)
    r = await publish_nested(client, world, depth)
    assert r.status_code in (400, 422), r.text[:300]
    assert_error(r, r.status_code)
    assert snapshot(db) == before


async def test_moderately_nested_artifact_body_is_accepted(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await publish_nested(client, world, 50)
    assert r.status_code == 201, r.text[:300]
    assert len(json.dumps(r.json()["body"]["deep"])) == 100


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
@pytest.mark.parametrize(
    "raw",
    [b'{"name": ', b"{'name': 'x'}", b'{"a": 1,}', b"nope"],
    ids=["cut", "quotes", "comma", "word"],
)
async def test_malformed_json_is_400_and_writes_nothing(
    client: httpx.AsyncClient,
    db: psycopg.Connection[Any],
    world: World,
    endpoint: Endpoint,
    raw: bytes,
) -> None:
    before = snapshot(db)
    r = await client.request(
        endpoint.method, endpoint.url(world), content=raw, headers=json_headers(endpoint, world)
    )
    assert_error(r, 400, "MalformedJSON")
    assert snapshot(db) == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
async def test_body_over_the_limit_with_content_length_is_413(
    client: httpx.AsyncClient, db: psycopg.Connection[Any], world: World, endpoint: Endpoint
) -> None:
    before = snapshot(db)
    data = oversized_body(endpoint)
    r = await client.request(
        endpoint.method, endpoint.url(world), content=data, headers=json_headers(endpoint, world)
    )
    assert r.request.headers["Content-Length"] == str(len(data))
    assert_error(r, 413, "PayloadTooLarge")
    assert snapshot(db) == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
async def test_streamed_body_over_the_limit_is_413(
    client: httpx.AsyncClient, db: psycopg.Connection[Any], world: World, endpoint: Endpoint
) -> None:
    before = snapshot(db)
    r = await client.request(
        endpoint.method,
        endpoint.url(world),
        content=chunks(oversized_body(endpoint)),
        headers=json_headers(endpoint, world),
    )
    assert "Content-Length" not in r.request.headers
    assert r.request.headers["Transfer-Encoding"] == "chunked"
    assert_error(r, 413, "PayloadTooLarge")
    assert snapshot(db) == before


async def test_a_body_just_under_the_limit_is_accepted(
    client: httpx.AsyncClient, world: World
) -> None:
    body = {"type": "finding", "body": {"claim": "x", "notes": "y" * (LIMIT - 200)}}
    data = json.dumps(body).encode()
    assert len(data) < LIMIT
    r = await client.post(
        f"/v1/boards/{world.board}/artifacts",
        content=chunks(data),
        headers={**world.agent, "Content-Type": "application/json"},
    )
    assert r.status_code == 201, r.text[:300]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_non_json_content_type_is_415_and_writes_nothing(
    client: httpx.AsyncClient,
    db: psycopg.Connection[Any],
    world: World,
    endpoint: Endpoint,
    content_type: str | None,
) -> None:
    before = snapshot(db)
    headers = dict(endpoint.headers(world))
    if content_type is not None:
        headers["Content-Type"] = content_type
    r = await client.request(
        endpoint.method,
        endpoint.url(world),
        content=json.dumps(endpoint.valid).encode(),
        headers=headers,
    )
    assert_error(r, 415, "UnsupportedMediaType")
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("name", "make_url"),
    [
        ("publish", lambda w: f"/v1/boards/{uuid4()}/artifacts"),
        ("batch", lambda w: f"/v1/boards/{uuid4()}/artifacts/batch"),
        ("retract", lambda w: f"/v1/boards/{uuid4()}/artifacts/{w.artifact}/retract"),
        ("retract", lambda w: f"/v1/boards/{w.board}/artifacts/{uuid4()}/retract"),
    ],
    ids=["publish-board", "batch-board", "retract-board", "retract-artifact"],
)
async def test_unknown_ids_in_the_path_are_404_and_write_nothing(
    client: httpx.AsyncClient,
    db: psycopg.Connection[Any],
    world: World,
    name: str,
    make_url: Callable[[World], str],
) -> None:
    endpoint = BY_NAME[name]
    before = snapshot(db)
    r = await client.request(
        endpoint.method, make_url(world), json=endpoint.valid, headers=endpoint.headers(world)
    )
    assert_error(r, 404, "NotFound")
    assert snapshot(db) == before


async def test_an_artifact_of_another_board_is_404_for_retract(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any], world: World
) -> None:
    other = await actors.board()
    before = snapshot(db)
    r = await client.post(
        f"/v1/boards/{other['id']}/artifacts/{world.artifact}/retract",
        json={"reason": "wrong board"},
        headers=ADMIN,
    )
    assert_error(r, 404, "NotFound")
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("name", "make_url", "param"),
    [
        ("publish", lambda w: "/v1/boards/not-a-uuid/artifacts", "/path/board_id"),
        ("batch", lambda w: "/v1/boards/123/artifacts/batch", "/path/board_id"),
        ("retract", lambda w: f"/v1/boards/{w.board}/artifacts/x/retract", "/path/artifact_id"),
        ("types", lambda w: "/v1/types/Not A Name", "/path/name"),
    ],
    ids=["publish", "batch", "retract", "types"],
)
async def test_malformed_ids_in_the_path_are_422_and_write_nothing(
    client: httpx.AsyncClient,
    db: psycopg.Connection[Any],
    world: World,
    name: str,
    make_url: Callable[[World], str],
    param: str,
) -> None:
    endpoint = BY_NAME[name]
    before = snapshot(db)
    r = await client.request(
        endpoint.method, make_url(world), json=endpoint.valid, headers=endpoint.headers(world)
    )
    assert param in paths(assert_error(r, 422, "ValidationFailed"))
    assert snapshot(db) == before


# --- reads with bad query parameters ------------------------------------------------------

BAD_QUERIES: list[tuple[str, dict[str, str]]] = [
    ("artifacts", {"limit": "0"}),
    ("artifacts", {"limit": "abc"}),
    ("artifacts", {"limit": "501"}),
    ("artifacts", {"after": "-1"}),
    ("artifacts", {"as_of": "-1"}),
    ("artifacts", {"latest": "maybe"}),
    ("artifacts", {"author": "not-a-uuid"}),
    ("events", {"limit": "0"}),
    ("events", {"limit": "abc"}),
    ("events", {"after": "-1"}),
    ("events", {"wait": "61"}),
    ("events", {"wait": "nan"}),
    ("lineage", {"direction": "sideways"}),
    ("lineage", {"depth": "0"}),
    ("agents", {"limit": "0"}),
    ("boards", {"limit": "abc"}),
]
READ_URLS: dict[str, Callable[[World], str]] = {
    "artifacts": lambda w: f"/v1/boards/{w.board}/artifacts",
    "events": lambda w: f"/v1/boards/{w.board}/events",
    "lineage": lambda w: f"/v1/boards/{w.board}/artifacts/{w.artifact}/lineage",
    "agents": lambda w: "/v1/agents",
    "boards": lambda w: "/v1/boards",
}


@pytest.mark.parametrize(
    ("read", "params"),
    BAD_QUERIES,
    ids=[f"{r}-{k}={v}" for r, q in BAD_QUERIES for k, v in q.items()],
)
async def test_bad_query_parameters_are_422(
    client: httpx.AsyncClient, world: World, read: str, params: dict[str, str]
) -> None:
    r = await client.get(READ_URLS[read](world), params=params, headers=ADMIN)
    body = assert_error(r, 422, "ValidationFailed")
    assert paths(body) == [f"/query/{name}" for name in params]


NUL_READS: list[tuple[str, dict[str, str]]] = [
    ("/v1/agents", {"after": NUL}),
    ("/v1/boards", {"after": NUL}),
    ("{board}/artifacts", {"type": NUL}),
    ("{board}/artifacts", {"key": NUL}),
    ("{board}/artifacts", {"role": NUL}),
    ("{board}/artifacts", {"tag": NUL}),
    ("{board}/events", {"kind": NUL}),
]


@pytest.mark.parametrize(
    ("url", "params"), NUL_READS, ids=[f"{u}?{next(iter(p))}" for u, p in NUL_READS]
)
async def test_nul_characters_in_query_parameters_are_422(
    client: httpx.AsyncClient, world: World, url: str, params: dict[str, str]
) -> None:
    r = await client.get(
        url.format(board=f"/v1/boards/{world.board}"), params=params, headers=ADMIN
    )
    assert paths(assert_error(r, 422)) == [f"/query/{name}" for name in params]


async def test_nul_character_in_a_key_path_is_422(client: httpx.AsyncClient, world: World) -> None:
    r = await client.get(f"/v1/boards/{world.board}/keys/a%00b/history", headers=ADMIN)
    assert paths(assert_error(r, 422)) == ["/path/key"]
