"""Who may call what: bearer tokens, admin-only and agent-only endpoints, and authorship."""

from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest

from tests.support.api import ADMIN, ADMIN_TOKEN, Actors, count_rows

FINDING = {"claim": "the sky is blue", "confidence": 0.8}
WRITE_TABLES = ("agents", "boards", "artifact_types", "artifacts", "artifact_keys", "events")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def snapshot(db: psycopg.Connection[Any]) -> dict[str, int]:
    """Row counts of every table a write endpoint touches."""
    return {table: count_rows(db, table) for table in WRITE_TABLES}


def assert_error(r: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["error"] == error
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def wrong_secret(token: str) -> str:
    """The same agent id with a different (well-formed) secret."""
    prefix, _, secret = token.rpartition("_")
    return f"{prefix}_{'A' if secret[0] != 'A' else 'B'}{secret[1:]}"


async def test_missing_token_is_401_with_error_shape_and_www_authenticate(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    for url in ("/v1/boards", f"/v1/boards/{board['id']}", "/v1/agents", "/v1/types"):
        r = await client.get(url)
        assert_error(r, 401, "Unauthenticated")
        assert r.headers["WWW-Authenticate"] == "Bearer"


async def test_non_bearer_scheme_is_401(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/boards", headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    assert_error(r, 401, "Unauthenticated")
    assert r.headers["WWW-Authenticate"] == "Bearer"


async def test_bad_tokens_are_401(client: httpx.AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    # A valid call first, so that a token cache (if any) has seen this agent.
    assert (await client.get("/v1/agents/me", headers=agent["headers"])).status_code == 200
    secret = agent["token"].rpartition("_")[2]
    bad_tokens = {
        "garbage": "not-a-token",
        "admin token plus a char": ADMIN_TOKEN + "X",
        "admin token prefix": ADMIN_TOKEN[:-1],
        "wrong secret": wrong_secret(agent["token"]),
        "unknown agent id": f"bba_{uuid4().hex}_{secret}",
        "id that is not hex": f"bba_{'z' * 32}_{secret}",
        "no secret": f"bba_{agent['id'].replace('-', '')}_",
    }
    for label, token in bad_tokens.items():
        r = await client.get("/v1/agents/me", headers=bearer(token))
        assert r.status_code == 401, label
        assert_error(r, 401, "Unauthenticated")
        assert r.headers["WWW-Authenticate"] == "Bearer"


async def test_unauthenticated_writes_write_nothing(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board, agent = await actors.board(), await actors.agent()
    before = snapshot(db)
    bad = bearer(wrong_secret(agent["token"]))
    writes = [
        ("POST", "/v1/agents", {"name": "sneaky"}),
        ("POST", "/v1/boards", {"name": "sneaky"}),
        ("PUT", "/v1/types/sneaky", {"schema": {"type": "object"}}),
        ("POST", f"/v1/boards/{board['id']}/artifacts", {"type": "finding", "body": FINDING}),
    ]
    for method, url, body in writes:
        for headers in ({}, bad):
            r = await client.request(method, url, json=body, headers=headers)
            assert_error(r, 401, "Unauthenticated")
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("method", "url", "body", "table"),
    [
        ("POST", "/v1/agents", {"name": "made-by-an-agent"}, "agents"),
        ("POST", "/v1/boards", {"name": "made-by-an-agent"}, "boards"),
        ("PUT", "/v1/types/agent-made", {"schema": {"type": "object"}}, "artifact_types"),
    ],
)
async def test_admin_only_endpoints_refuse_agent_tokens(
    client: httpx.AsyncClient,
    actors: Actors,
    db: psycopg.Connection[Any],
    method: str,
    url: str,
    body: dict[str, Any],
    table: str,
) -> None:
    agent = await actors.agent()
    before = snapshot(db)
    r = await client.request(method, url, json=body, headers=agent["headers"])
    assert_error(r, 403, "Forbidden")
    assert snapshot(db) == before
    # The same request with the admin token works, so the 403 was about the caller.
    ok = await client.request(method, url, json=body, headers=ADMIN)
    assert ok.status_code == 201, ok.text
    assert count_rows(db, table) == before[table] + 1


async def test_publishing_refuses_the_admin_token(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board = await actors.board()
    before = snapshot(db)
    base = f"/v1/boards/{board['id']}/artifacts"
    item = {"type": "finding", "body": FINDING}
    assert_error(await client.post(base, json=item, headers=ADMIN), 403, "Forbidden")
    batch = await client.post(f"{base}/batch", json={"items": [item, item]}, headers=ADMIN)
    assert_error(batch, 403, "Forbidden")
    assert snapshot(db) == before


async def test_agents_me_refuses_the_admin_token_and_answers_agents(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent(name="me-myself")
    assert_error(await client.get("/v1/agents/me", headers=ADMIN), 403, "Forbidden")
    me = await client.get("/v1/agents/me", headers=agent["headers"])
    assert me.status_code == 200
    assert me.json()["id"] == agent["id"] and me.json()["name"] == "me-myself"


async def test_the_author_is_always_the_calling_agent(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board, alice, bob = await actors.board(), await actors.agent(), await actors.agent()
    r = await client.post(
        f"/v1/boards/{board['id']}/artifacts",
        json={"type": "finding", "body": FINDING},
        headers=bob["headers"],
    )
    assert r.status_code == 201
    art = r.json()
    assert art["author_id"] == bob["id"]
    by_alice = await client.get(
        f"/v1/boards/{board['id']}/artifacts", params={"author": alice["id"]}, headers=ADMIN
    )
    assert by_alice.json()["items"] == []
    events = await client.get(
        f"/v1/boards/{board['id']}/events", params={"kind": "artifact.published"}, headers=ADMIN
    )
    assert [(e["actor_id"], e["subject_id"]) for e in events.json()["items"]] == [
        (bob["id"], art["id"])
    ]


async def test_naming_another_author_is_rejected_and_writes_nothing(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board, alice, bob = await actors.board(), await actors.agent(), await actors.agent()
    before = snapshot(db)
    base = f"/v1/boards/{board['id']}/artifacts"
    forged = {"type": "finding", "body": FINDING, "author_id": alice["id"]}
    r = await client.post(base, json=forged, headers=bob["headers"])
    body = assert_error(r, 422, "ValidationFailed")
    assert "/author_id" in [e["path"] for e in body["errors"]]
    r = await client.post(f"{base}/batch", json={"items": [forged]}, headers=bob["headers"])
    body = assert_error(r, 422, "ValidationFailed")
    assert "/items/0/author_id" in [e["path"] for e in body["errors"]]
    assert snapshot(db) == before
