"""Bad input on every endpoint of the coordination ledger (role claims, abstentions, tasks):
a clear 4xx in the error shape, nothing written, never a 500.

Most refusals are checked against one world shared by the module (its own database and
app): each test fingerprints every ledger table before and after its request, so a stray
write is caught wherever it happens. Requests that must succeed, and leases that must run
out, get a fresh database per test.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest

from api import create_app
from blackboard.config import Settings
from tests.support.api import ADMIN, ADMIN_TOKEN, Actors, count_rows
from tests.support.databases import create_database, drop_database

LIMIT = 256 * 1024  # the test app's max_body_bytes (see conftest.settings)
TABLES = (
    "claims",
    "role_slots",
    "abstentions",
    "tasks",
    "task_attempts",
    "artifacts",
    "artifact_keys",
    "events",
)
# What the background reaper may write on its own once a lease has run out.
REAPER_KINDS = ["role.expired", "task.lease_expired", "task.failed"]
NUL = "a\x00b"
RESULT = {"type": "result", "body": {"summary": "done"}}
FINDING = {"type": "finding", "body": {"claim": "x"}}
USED_KEY = "used-key"  # the Idempotency-Key the world's first artifact was published with


@dataclass
class World:
    """What exists before each bad request."""

    board: str
    other_board: str
    holder: dict[str, str]  # auth headers of the agent holding `claim` and `task`
    other: dict[str, str]  # auth headers of an agent holding nothing
    claim: str  # holder's active exclusive claim on role "critic", lease 1 h
    released_claim: str  # a claim the holder released
    task: str  # leased to holder for 1 h; wants a "result"
    open_task: str  # open: the next one `tasks/claim` would hand out
    done_task: str  # completed by holder
    artifact: str  # on `board`, by holder, with Idempotency-Key USED_KEY
    foreign_artifact: str  # on `other_board`


@dataclass(frozen=True)
class Endpoint:
    """One ledger endpoint: how to call it and (for writes) a body it accepts."""

    name: str
    method: str
    template: str  # the path, with {id} for the one id it takes
    slot: str  # which World attribute fills {id}: "board", "claim" or "task"
    valid: dict[str, Any] | None = None  # None: the endpoint takes no body
    agent_only: bool = True  # False: the admin token is accepted too
    writes: bool = True

    def url(self, world: World, id: str | None = None) -> str:
        return self.template.format(id=id if id is not None else getattr(world, self.slot))

    @property
    def param(self) -> str:
        return f"{self.slot}_id"


ENDPOINTS = [
    Endpoint(
        "claim",
        "POST",
        "/v1/boards/{id}/claims",
        "board",
        {"role": "planner", "scope": "s", "ttl_s": 30, "rationale": "r", "confidence": 0.5},
    ),
    Endpoint("list_claims", "GET", "/v1/boards/{id}/claims", "board", None, False, False),
    Endpoint("get_claim", "GET", "/v1/claims/{id}", "claim", None, False, False),
    Endpoint("renew", "POST", "/v1/claims/{id}/renew", "claim", {"ttl_s": 30}),
    Endpoint("release", "DELETE", "/v1/claims/{id}", "claim"),
    Endpoint(
        "abstain",
        "POST",
        "/v1/boards/{id}/abstentions",
        "board",
        {"role": "critic", "scope": "s", "reason": "not mine", "confidence": 0.5},
    ),
    Endpoint("list_abstentions", "GET", "/v1/boards/{id}/abstentions", "board", None, False, False),
    Endpoint(
        "post_task",
        "POST",
        "/v1/boards/{id}/tasks",
        "board",
        {
            "title": "t",
            "spec": {"k": 1},
            "wants_type": "result",
            "required_capabilities": ["code"],
            "max_attempts": 2,
        },
        agent_only=False,
    ),
    Endpoint("list_tasks", "GET", "/v1/boards/{id}/tasks", "board", None, False, False),
    Endpoint("claim_task", "POST", "/v1/boards/{id}/tasks/claim", "board", {"lease_s": 30}),
    Endpoint("get_task", "GET", "/v1/tasks/{id}", "task", None, False, False),
    Endpoint("heartbeat", "POST", "/v1/tasks/{id}/heartbeat", "task", {"lease_s": 30}),
    Endpoint("complete", "POST", "/v1/tasks/{id}/complete", "task", {"artifact": RESULT}),
    Endpoint(
        "fail",
        "POST",
        "/v1/tasks/{id}/fail",
        "task",
        {"reason": "boom", "retry": True, "retry_after_s": 1},
    ),
    Endpoint(
        "task_abstain",
        "POST",
        "/v1/tasks/{id}/abstain",
        "task",
        {"reason": "not mine", "confidence": 0.5},
    ),
]
BY_NAME = {e.name: e for e in ENDPOINTS}
WITH_BODY = [e for e in ENDPOINTS if e.valid is not None]
AGENT_ONLY = [e for e in ENDPOINTS if e.agent_only]
# Endpoints whose body may be left out (every field has a default); the others need one.
OPTIONAL_BODY = {"renew", "claim_task", "heartbeat"}
NEEDS_BODY = [e for e in WITH_BODY if e.name not in OPTIONAL_BODY]


def ids(endpoints: list[Endpoint]) -> list[str]:
    return [e.name for e in endpoints]


# --- the world, shared and fresh -----------------------------------------------------------


async def build_world(client: httpx.AsyncClient, actors: Actors) -> World:
    board, other_board = await actors.board(), await actors.board()
    holder, other = await actors.agent(), await actors.agent()
    h = holder["headers"]

    async def ok(method: str, url: str, body: Any = None, **headers: str) -> dict[str, Any]:
        r = await client.request(method, url, json=body, headers={**h, **headers})
        assert r.status_code in (200, 201), r.text
        data: dict[str, Any] = r.json()
        return data

    b, ob = board["id"], other_board["id"]
    artifact = await ok(
        "POST", f"/v1/boards/{b}/artifacts", FINDING, **{"Idempotency-Key": USED_KEY}
    )
    foreign = await ok("POST", f"/v1/boards/{ob}/artifacts", FINDING)
    claim = await ok("POST", f"/v1/boards/{b}/claims", {"role": "critic", "ttl_s": 3600})
    released = await ok("POST", f"/v1/boards/{b}/claims", {"role": "old", "ttl_s": 3600})
    await ok("DELETE", f"/v1/claims/{released['id']}")
    done = await ok("POST", f"/v1/boards/{b}/tasks", {"title": "done", "wants_type": "result"})
    assert (await ok("POST", f"/v1/boards/{b}/tasks/claim", {"lease_s": 3600}))["id"] == done["id"]
    await ok("POST", f"/v1/tasks/{done['id']}/complete", {"artifact": RESULT})
    task = await ok("POST", f"/v1/boards/{b}/tasks", {"title": "held", "wants_type": "result"})
    assert (await ok("POST", f"/v1/boards/{b}/tasks/claim", {"lease_s": 3600}))["id"] == task["id"]
    open_task = await ok("POST", f"/v1/boards/{b}/tasks", {"title": "open"})
    return World(
        board=b,
        other_board=ob,
        holder=h,
        other=other["headers"],
        claim=claim["id"],
        released_claim=released["id"],
        task=task["id"],
        open_task=open_task["id"],
        done_task=done["id"],
        artifact=artifact["id"],
        foreign_artifact=foreign["id"],
    )


@dataclass
class Ledger:
    """The module's shared app, a direct connection to its database, and its world."""

    client: httpx.AsyncClient
    db: psycopg.Connection[Any]
    world: World


@pytest.fixture(scope="module")
async def ledger(
    server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Ledger]:
    url = create_database(server_url, template_db)
    settings = Settings(
        database_url=url,
        admin_token=ADMIN_TOKEN,
        data_dir=tmp_path_factory.mktemp("ledger"),
        pool_size=10,
        max_body_bytes=LIMIT,
    )
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bb.test") as client:
                with psycopg.connect(url, autocommit=True) as db:
                    yield Ledger(client, db, await build_world(client, Actors(client)))
    finally:
        drop_database(server_url, url)


@pytest.fixture
async def fresh(client: httpx.AsyncClient, actors: Actors) -> World:
    return await build_world(client, actors)


# --- checks --------------------------------------------------------------------------------


def fingerprint(db: psycopg.Connection[Any]) -> dict[str, tuple[Any, ...]]:
    """Row count and a hash of every row of each ledger table: any write changes it."""
    result = {}
    for table in TABLES:
        row = db.execute(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            f" FROM {table} t"
        ).fetchone()
        assert row is not None
        result[table] = tuple(row)
    return result


def counts(db: psycopg.Connection[Any]) -> dict[str, int]:
    """Row counts of the ledger tables, not counting events the reaper writes by itself."""
    result = {table: count_rows(db, table) for table in TABLES if table != "events"}
    row = db.execute(
        "SELECT count(*) FROM events WHERE kind <> ALL(%s)", (REAPER_KINDS,)
    ).fetchone()
    assert row is not None
    result["events"] = int(row[0])
    return result


def assert_error(r: httpx.Response, status: int, error: str | None = None) -> dict[str, Any]:
    """Assert the status and the documented error shape; return the body."""
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = r.json()
    assert isinstance(body.get("error"), str) and body["error"]
    assert isinstance(body.get("detail"), str) and body["detail"]
    if error is not None:
        assert body["error"] == error, body
    if status == 422:
        assert body["errors"], body
        for item in body["errors"]:
            assert isinstance(item["path"], str) and isinstance(item["message"], str)
            assert item["message"]
    return body


def paths(body: dict[str, Any]) -> list[str]:
    return [e["path"] for e in body["errors"]]


async def refused(
    ledger: Ledger,
    method: str,
    url: str,
    status: int,
    error: str | None = None,
    **request: Any,
) -> dict[str, Any]:
    """Send the request on the shared world; assert the refusal and that nothing was written."""
    before = fingerprint(ledger.db)
    r = await ledger.client.request(method, url, **request)
    body = assert_error(r, status, error)
    assert fingerprint(ledger.db) == before
    return body


def json_headers(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Content-Type": "application/json"}


async def chunks(data: bytes, size: int = 16 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


# --- the guard: each valid request is accepted -------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids(ENDPOINTS))
async def test_the_valid_request_is_accepted_and_writes_only_if_it_is_a_write(
    client: httpx.AsyncClient, db: psycopg.Connection[Any], fresh: World, endpoint: Endpoint
) -> None:
    # Guards every refusal below: each is about the one thing made wrong, on a world in
    # which the right request would have written something.
    before = fingerprint(db)
    r = await client.request(
        endpoint.method, endpoint.url(fresh), json=endpoint.valid, headers=fresh.holder
    )
    assert r.status_code in (200, 201), r.text
    assert (fingerprint(db) != before) == endpoint.writes


async def test_the_world_is_as_described(ledger: Ledger) -> None:
    w, c = ledger.world, ledger.client

    async def get(url: str) -> dict[str, Any]:
        r = await c.get(url, headers=ADMIN)
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data

    assert (await get(f"/v1/claims/{w.claim}"))["status"] == "active"
    assert (await get(f"/v1/claims/{w.released_claim}"))["status"] == "released"
    assert (await get(f"/v1/tasks/{w.task}"))["status"] == "leased"
    assert (await get(f"/v1/tasks/{w.open_task}"))["status"] == "open"
    assert (await get(f"/v1/tasks/{w.done_task}"))["status"] == "completed"


# --- bodies: wrong types, out of range, NUL, unknown fields --------------------------------

# (endpoint, body with one thing wrong, a JSON pointer the 422 must name)
WRONG_BODIES: list[tuple[str, Any, str]] = [
    ("claim", {}, "/role"),
    ("claim", {"role": 5}, "/role"),
    ("claim", {"role": ""}, "/role"),
    ("claim", {"role": "r" * 129}, "/role"),
    ("claim", {"role": "r", "scope": ""}, "/scope"),
    ("claim", {"role": "r", "scope": ["a"]}, "/scope"),
    ("claim", {"role": "r", "exclusive": "maybe"}, "/exclusive"),
    ("claim", {"role": "r", "ttl_s": "long"}, "/ttl_s"),
    ("claim", {"role": "r", "ttl_s": 0}, "/ttl_s"),
    ("claim", {"role": "r", "ttl_s": -5}, "/ttl_s"),
    ("claim", {"role": "r", "ttl_s": 86_401}, "/ttl_s"),
    ("claim", {"role": "r", "ttl_s": 10**30}, "/ttl_s"),
    ("claim", {"role": "r", "ttl_s": None}, "/ttl_s"),
    ("claim", {"role": "r", "confidence": 1.5}, "/confidence"),
    ("claim", {"role": "r", "confidence": -0.1}, "/confidence"),
    ("claim", {"role": "r", "confidence": "high"}, "/confidence"),
    ("claim", {"role": "r", "rationale": {"why": 1}}, "/rationale"),
    ("claim", {"role": "r", "rationale": "x" * 4001}, "/rationale"),
    ("renew", {"ttl_s": 0}, "/ttl_s"),
    ("renew", {"ttl_s": -1}, "/ttl_s"),
    ("renew", {"ttl_s": 1e9}, "/ttl_s"),
    ("renew", {"ttl_s": "soon"}, "/ttl_s"),
    ("renew", {"ttl_s": [30]}, "/ttl_s"),
    ("abstain", {}, "/reason"),
    ("abstain", {"reason": ""}, "/reason"),
    ("abstain", {"reason": 5}, "/reason"),
    ("abstain", {"reason": "x" * 4001}, "/reason"),
    ("abstain", {"reason": "x", "confidence": 2}, "/confidence"),
    ("abstain", {"reason": "x", "confidence": "sure"}, "/confidence"),
    ("abstain", {"reason": "x", "role": ""}, "/role"),
    ("abstain", {"reason": "x", "scope": 7}, "/scope"),
    ("post_task", {}, "/title"),
    ("post_task", {"title": ""}, "/title"),
    ("post_task", {"title": 5}, "/title"),
    ("post_task", {"title": "x" * 501}, "/title"),
    ("post_task", {"title": "t", "spec": "x"}, "/spec"),
    ("post_task", {"title": "t", "spec": [1]}, "/spec"),
    ("post_task", {"title": "t", "spec": {"n": 10**30}}, "/spec"),
    ("post_task", {"title": "t", "wants_type": "Not A Type"}, "/wants_type"),
    ("post_task", {"title": "t", "wants_type": 5}, "/wants_type"),
    ("post_task", {"title": "t", "required_capabilities": "code"}, "/required_capabilities"),
    ("post_task", {"title": "t", "required_capabilities": [1]}, "/required_capabilities/0"),
    ("post_task", {"title": "t", "required_capabilities": ["a\nb"]}, "/required_capabilities/0"),
    ("post_task", {"title": "t", "inputs": "x"}, "/inputs"),
    ("post_task", {"title": "t", "inputs": ["not-a-uuid"]}, "/inputs/0"),
    ("post_task", {"title": "t", "max_attempts": 0}, "/max_attempts"),
    ("post_task", {"title": "t", "max_attempts": -1}, "/max_attempts"),
    ("post_task", {"title": "t", "max_attempts": 101}, "/max_attempts"),
    ("post_task", {"title": "t", "max_attempts": 1.5}, "/max_attempts"),
    ("post_task", {"title": "t", "max_attempts": "three"}, "/max_attempts"),
    ("post_task", {"title": "t", "max_attempts": 10**30}, "/max_attempts"),
    ("claim_task", {"lease_s": 0}, "/lease_s"),
    ("claim_task", {"lease_s": -1}, "/lease_s"),
    ("claim_task", {"lease_s": 86_401}, "/lease_s"),
    ("claim_task", {"lease_s": "soon"}, "/lease_s"),
    ("heartbeat", {"lease_s": -1}, "/lease_s"),
    ("heartbeat", {"lease_s": 0}, "/lease_s"),
    ("heartbeat", {"lease_s": 1e12}, "/lease_s"),
    ("heartbeat", {"lease_s": {"s": 1}}, "/lease_s"),
    ("complete", {}, "/artifact"),
    ("complete", {"artifact": "x"}, "/artifact"),
    ("complete", {"artifact": {"type": "result"}}, "/artifact/body"),
    ("complete", {"artifact": {**RESULT, "body": "s"}}, "/artifact/body"),
    ("complete", {"artifact": {**RESULT, "type": 5}}, "/artifact/type"),
    ("complete", {"artifact": {**RESULT, "parents": ["nope"]}}, "/artifact/parents/0"),
    ("complete", {"artifact": {**RESULT, "expected_version": -1}}, "/artifact/expected_version"),
    ("complete", {"artifact": {**RESULT, "claim_id": 7}}, "/artifact/claim_id"),
    ("complete", {"artifact": {**RESULT, "tags": "x"}}, "/artifact/tags"),
    ("fail", {}, "/reason"),
    ("fail", {"reason": ""}, "/reason"),
    ("fail", {"reason": ["x"]}, "/reason"),
    ("fail", {"reason": "x", "retry": "maybe"}, "/retry"),
    ("fail", {"reason": "x", "retry_after_s": -1}, "/retry_after_s"),
    ("fail", {"reason": "x", "retry_after_s": 86_401}, "/retry_after_s"),
    ("fail", {"reason": "x", "retry_after_s": "later"}, "/retry_after_s"),
    ("task_abstain", {}, "/reason"),
    ("task_abstain", {"reason": ""}, "/reason"),
    ("task_abstain", {"reason": ["x"]}, "/reason"),
    ("task_abstain", {"reason": "x", "confidence": 1.01}, "/confidence"),
    ("task_abstain", {"reason": "x", "confidence": -1}, "/confidence"),
]

# Strings PostgreSQL text cannot hold.
NUL_BODIES: list[tuple[str, Any, str]] = [
    ("claim", {"role": NUL}, "/role"),
    ("claim", {"role": "r", "scope": NUL}, "/scope"),
    ("claim", {"role": "r", "rationale": NUL}, "/rationale"),
    ("abstain", {"reason": NUL}, "/reason"),
    ("abstain", {"reason": "x", "role": NUL}, "/role"),
    ("abstain", {"reason": "x", "scope": NUL}, "/scope"),
    ("post_task", {"title": NUL}, "/title"),
    ("post_task", {"title": "t", "spec": {"note": NUL}}, "/spec"),
    ("post_task", {"title": "t", "spec": {NUL: 1}}, "/spec"),
    ("post_task", {"title": "t", "wants_type": NUL}, "/wants_type"),
    ("post_task", {"title": "t", "required_capabilities": [NUL]}, "/required_capabilities/0"),
    ("complete", {"artifact": {"type": "result", "body": {"summary": NUL}}}, "/artifact/body"),
    ("complete", {"artifact": {**RESULT, "role": NUL}}, "/artifact/role"),
    ("complete", {"artifact": {**RESULT, "key": NUL}}, "/artifact/key"),
    ("complete", {"artifact": {**RESULT, "tags": [NUL]}}, "/artifact/tags/0"),
    ("fail", {"reason": NUL}, "/reason"),
    ("task_abstain", {"reason": NUL}, "/reason"),
]

# Raw JSON texts Python's parser accepts but that no JSON document can mean.
NON_FINITE: list[tuple[str, bytes, str]] = [
    ("claim", b'{"role": "r", "ttl_s": NaN}', "/ttl_s"),
    ("claim", b'{"role": "r", "ttl_s": Infinity}', "/ttl_s"),
    ("claim", b'{"role": "r", "confidence": NaN}', "/confidence"),
    ("claim", b'{"role": "r", "ttl_s": 1e400}', "/ttl_s"),
    ("renew", b'{"ttl_s": Infinity}', "/ttl_s"),
    ("abstain", b'{"reason": "x", "confidence": NaN}', "/confidence"),
    ("post_task", b'{"title": "t", "max_attempts": NaN}', "/max_attempts"),
    ("post_task", b'{"title": "t", "spec": {"x": -Infinity}}', "/spec"),
    ("post_task", b'{"title": "\\ud800"}', "/title"),
    ("claim_task", b'{"lease_s": NaN}', "/lease_s"),
    ("heartbeat", b'{"lease_s": Infinity}', "/lease_s"),
    ("complete", b'{"artifact": {"type": "result", "body": {"summary": NaN}}}', "/artifact/body"),
    ("fail", b'{"reason": "x", "retry_after_s": NaN}', "/retry_after_s"),
    ("task_abstain", b'{"reason": "x", "confidence": -Infinity}', "/confidence"),
]

# Misspelt or invented fields: silently dropping them would, say, renew for 60 s, not 5.
UNKNOWN_FIELDS: list[tuple[str, Any, str]] = [
    ("claim", {"role": "r", "ttl": 5}, "/ttl"),
    ("claim", {"role": "r", "agent_id": str(uuid4())}, "/agent_id"),
    ("renew", {"ttl": 5}, "/ttl"),
    ("abstain", {"reason": "x", "agent_id": str(uuid4())}, "/agent_id"),
    ("post_task", {"title": "t", "max_attempt": 5}, "/max_attempt"),
    ("post_task", {"title": "t", "status": "completed"}, "/status"),
    ("claim_task", {"lease": 5}, "/lease"),
    ("heartbeat", {"lease": 5}, "/lease"),
    ("complete", {"artifact": RESULT, "result": {}}, "/result"),
    ("complete", {"artifact": {**RESULT, "author_id": str(uuid4())}}, "/artifact/author_id"),
    ("fail", {"reason": "x", "retry_after": 5}, "/retry_after"),
    ("task_abstain", {"reason": "x", "scope": "s"}, "/scope"),
]


def case_ids(cases: list[tuple[str, Any, str]]) -> list[str]:
    return [f"{name}{path}-{i}" for i, (name, _, path) in enumerate(cases)]


@pytest.mark.parametrize(("name", "body", "path"), WRONG_BODIES, ids=case_ids(WRONG_BODIES))
async def test_wrong_types_and_out_of_range_values_are_422_and_write_nothing(
    ledger: Ledger, name: str, body: Any, path: str
) -> None:
    endpoint, w = BY_NAME[name], ledger.world
    result = await refused(
        ledger,
        endpoint.method,
        endpoint.url(w),
        422,
        "ValidationFailed",
        json=body,
        headers=w.holder,
    )
    assert path in paths(result)


@pytest.mark.parametrize(("name", "body", "path"), NUL_BODIES, ids=case_ids(NUL_BODIES))
async def test_nul_characters_are_422_and_write_nothing(
    ledger: Ledger, name: str, body: Any, path: str
) -> None:
    endpoint, w = BY_NAME[name], ledger.world
    result = await refused(
        ledger, endpoint.method, endpoint.url(w), 422, json=body, headers=w.holder
    )
    assert path in paths(result)


@pytest.mark.parametrize(("name", "raw", "path"), NON_FINITE, ids=case_ids(NON_FINITE))
async def test_non_finite_numbers_and_lone_surrogates_are_422_and_write_nothing(
    ledger: Ledger, name: str, raw: bytes, path: str
) -> None:
    endpoint, w = BY_NAME[name], ledger.world
    result = await refused(
        ledger,
        endpoint.method,
        endpoint.url(w),
        422,
        content=raw,
        headers=json_headers(w.holder),
    )
    assert path in paths(result)


@pytest.mark.parametrize(("name", "body", "path"), UNKNOWN_FIELDS, ids=case_ids(UNKNOWN_FIELDS))
async def test_unknown_fields_are_422_and_write_nothing(
    ledger: Ledger, name: str, body: Any, path: str
) -> None:
    endpoint, w = BY_NAME[name], ledger.world
    result = await refused(
        ledger,
        endpoint.method,
        endpoint.url(w),
        422,
        "ValidationFailed",
        json=body,
        headers=w.holder,
    )
    assert paths(result) == [path]


@pytest.mark.parametrize("endpoint", WITH_BODY, ids=ids(WITH_BODY))
@pytest.mark.parametrize("body", [[], "text", 5], ids=["array", "string", "number"])
async def test_a_body_that_is_not_an_object_is_422_and_writes_nothing(
    ledger: Ledger, endpoint: Endpoint, body: Any
) -> None:
    w = ledger.world
    result = await refused(
        ledger,
        endpoint.method,
        endpoint.url(w),
        422,
        "ValidationFailed",
        json=body,
        headers=w.holder,
    )
    assert paths(result) == [""]


@pytest.mark.parametrize("endpoint", NEEDS_BODY, ids=ids(NEEDS_BODY))
@pytest.mark.parametrize("raw", [b"null", b""], ids=["null", "empty"])
async def test_a_missing_body_is_422_where_one_is_needed(
    ledger: Ledger, endpoint: Endpoint, raw: bytes
) -> None:
    w = ledger.world
    result = await refused(
        ledger,
        endpoint.method,
        endpoint.url(w),
        422,
        "ValidationFailed",
        content=raw,
        headers=json_headers(w.holder),
    )
    assert paths(result) == [""]


@pytest.mark.parametrize("key", ["", "k" * 201], ids=["empty", "too-long"])
async def test_a_bad_idempotency_key_on_complete_is_422_and_writes_nothing(
    ledger: Ledger, key: str
) -> None:
    w = ledger.world
    result = await refused(
        ledger,
        "POST",
        f"/v1/tasks/{w.task}/complete",
        422,
        "ValidationFailed",
        json={"artifact": RESULT},
        headers={**w.holder, "Idempotency-Key": key},
    )
    assert paths(result) == ["/header/Idempotency-Key"]


# --- bodies that are not JSON, too large, or labelled as something else --------------------


@pytest.mark.parametrize("endpoint", WITH_BODY, ids=ids(WITH_BODY))
@pytest.mark.parametrize(
    "raw",
    [b'{"reason": ', b"{'reason': 'x'}", b'{"reason": "x",}', b"nope"],
    ids=["cut", "quotes", "comma", "word"],
)
async def test_malformed_json_is_400_and_writes_nothing(
    ledger: Ledger, endpoint: Endpoint, raw: bytes
) -> None:
    w = ledger.world
    await refused(
        ledger,
        endpoint.method,
        endpoint.url(w),
        400,
        "MalformedJSON",
        content=raw,
        headers=json_headers(w.holder),
    )


def oversized_body(endpoint: Endpoint) -> bytes:
    """A body that is valid JSON for the endpoint, bar its size: about 300 KiB."""
    assert endpoint.valid is not None
    data = json.dumps({**endpoint.valid, "padding": "x" * (300 * 1024)}).encode()
    assert len(data) > LIMIT
    return data


@pytest.mark.parametrize("endpoint", WITH_BODY, ids=ids(WITH_BODY))
async def test_body_over_the_limit_with_content_length_is_413(
    ledger: Ledger, endpoint: Endpoint
) -> None:
    w, data = ledger.world, oversized_body(endpoint)
    before = fingerprint(ledger.db)
    r = await ledger.client.request(
        endpoint.method, endpoint.url(w), content=data, headers=json_headers(w.holder)
    )
    assert r.request.headers["Content-Length"] == str(len(data))
    assert_error(r, 413, "PayloadTooLarge")
    assert fingerprint(ledger.db) == before


@pytest.mark.parametrize("endpoint", WITH_BODY, ids=ids(WITH_BODY))
async def test_streamed_body_over_the_limit_is_413(ledger: Ledger, endpoint: Endpoint) -> None:
    w = ledger.world
    before = fingerprint(ledger.db)
    r = await ledger.client.request(
        endpoint.method,
        endpoint.url(w),
        content=chunks(oversized_body(endpoint)),
        headers=json_headers(w.holder),
    )
    assert "Content-Length" not in r.request.headers
    assert_error(r, 413, "PayloadTooLarge")
    assert fingerprint(ledger.db) == before


@pytest.mark.parametrize("endpoint", WITH_BODY, ids=ids(WITH_BODY))
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_non_json_content_type_is_415_and_writes_nothing(
    ledger: Ledger, endpoint: Endpoint, content_type: str | None
) -> None:
    w = ledger.world
    headers = dict(w.holder)
    if content_type is not None:
        headers["Content-Type"] = content_type
    await refused(
        ledger,
        endpoint.method,
        endpoint.url(w),
        415,
        "UnsupportedMediaType",
        content=json.dumps(endpoint.valid).encode(),
        headers=headers,
    )


# --- ids in the path ------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids(ENDPOINTS))
async def test_unknown_ids_in_the_path_are_404_and_write_nothing(
    ledger: Ledger, endpoint: Endpoint
) -> None:
    w = ledger.world
    await refused(
        ledger,
        endpoint.method,
        endpoint.url(w, str(uuid4())),
        404,
        "NotFound",
        json=endpoint.valid,
        headers=w.holder,
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids(ENDPOINTS))
@pytest.mark.parametrize(
    "bad_id", ["not-a-uuid", "123", f"{uuid4()}x"], ids=["word", "num", "long"]
)
async def test_malformed_ids_in_the_path_are_422_and_write_nothing(
    ledger: Ledger, endpoint: Endpoint, bad_id: str
) -> None:
    w = ledger.world
    result = await refused(
        ledger,
        endpoint.method,
        endpoint.url(w, bad_id),
        422,
        "ValidationFailed",
        json=endpoint.valid,
        headers=w.holder,
    )
    assert paths(result) == [f"/path/{endpoint.param}"]


# --- who is calling -------------------------------------------------------------------------

BAD_AUTH: dict[str, dict[str, str]] = {
    "none": {},
    "unknown-token": {"Authorization": "Bearer bbagent_not-a-real-token"},
    "empty-bearer": {"Authorization": "Bearer "},
    "basic": {"Authorization": "Basic dXNlcjpwYXNz"},
}


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids(ENDPOINTS))
@pytest.mark.parametrize("auth", list(BAD_AUTH), ids=list(BAD_AUTH))
async def test_a_missing_or_invalid_token_is_401_and_writes_nothing(
    ledger: Ledger, endpoint: Endpoint, auth: str
) -> None:
    w = ledger.world
    before = fingerprint(ledger.db)
    r = await ledger.client.request(
        endpoint.method, endpoint.url(w), json=endpoint.valid, headers=BAD_AUTH[auth]
    )
    assert_error(r, 401, "Unauthenticated")
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert fingerprint(ledger.db) == before


@pytest.mark.parametrize("endpoint", AGENT_ONLY, ids=ids(AGENT_ONLY))
async def test_the_admin_token_where_an_agent_is_required_is_403_and_writes_nothing(
    ledger: Ledger, endpoint: Endpoint
) -> None:
    # The operator is not an agent: there would be no holder, author or abstainer to record.
    w = ledger.world
    await refused(
        ledger,
        endpoint.method,
        endpoint.url(w),
        403,
        "Forbidden",
        json=endpoint.valid,
        headers=ADMIN,
    )


@pytest.mark.parametrize("name", ["renew", "release"])
async def test_another_agent_cannot_renew_or_release_a_claim(ledger: Ledger, name: str) -> None:
    endpoint, w = BY_NAME[name], ledger.world
    await refused(
        ledger,
        endpoint.method,
        endpoint.url(w),
        403,
        "Forbidden",
        json=endpoint.valid,
        headers=w.other,
    )


@pytest.mark.parametrize("name", ["renew", "release"])
async def test_a_released_claim_cannot_be_renewed_or_released_again(
    ledger: Ledger, name: str
) -> None:
    endpoint, w = BY_NAME[name], ledger.world
    body = await refused(
        ledger,
        endpoint.method,
        endpoint.url(w, w.released_claim),
        409,
        "LeaseLost",
        json=endpoint.valid,
        headers=w.holder,
    )
    assert body["status"] == "released"


@pytest.mark.parametrize("name", ["heartbeat", "complete", "fail"])
@pytest.mark.parametrize(
    ("which", "who"),
    [("task", "other"), ("open_task", "holder"), ("done_task", "holder"), ("done_task", "other")],
    ids=["held-by-another", "open", "done", "done-by-another"],
)
async def test_acting_on_a_task_you_do_not_hold_is_409_lease_lost(
    ledger: Ledger, name: str, which: str, who: str
) -> None:
    endpoint, w = BY_NAME[name], ledger.world
    await refused(
        ledger,
        endpoint.method,
        endpoint.url(w, getattr(w, which)),
        409,
        "LeaseLost",
        json=endpoint.valid,
        headers=getattr(w, who),
    )


@pytest.mark.parametrize("exclusive", [True, False])
async def test_claiming_a_role_another_agent_holds_exclusively_is_409_and_writes_nothing(
    ledger: Ledger, exclusive: bool
) -> None:
    # The slot's fencing token is bumped before the holder is looked at: the refusal must
    # roll that back too.
    w = ledger.world
    body = await refused(
        ledger,
        "POST",
        f"/v1/boards/{w.board}/claims",
        409,
        "RoleTaken",
        json={"role": "critic", "exclusive": exclusive},
        headers=w.other,
    )
    assert body["claim_id"] == w.claim


# --- what a task refers to ------------------------------------------------------------------


async def test_posting_a_task_that_wants_an_unknown_type_is_422(ledger: Ledger) -> None:
    w = ledger.world
    body = await refused(
        ledger,
        "POST",
        f"/v1/boards/{w.board}/tasks",
        422,
        json={"title": "t", "wants_type": "no-such-type"},
        headers=w.holder,
    )
    assert paths(body) == ["/wants_type"]


@pytest.mark.parametrize(
    ("inputs", "bad"),
    [
        (lambda w: [str(uuid4())], [0]),
        (lambda w: [w.foreign_artifact], [0]),
        (lambda w: [w.artifact, w.foreign_artifact], [1]),
        (lambda w: [w.done_task], [0]),
        (lambda w: [w.foreign_artifact, w.artifact, str(uuid4())], [0, 2]),
    ],
    ids=["unknown", "other-board", "second-of-two", "a-task-id", "first-and-third"],
)
async def test_posting_a_task_whose_inputs_are_not_artifacts_on_the_board_is_422(
    ledger: Ledger, inputs: Any, bad: list[int]
) -> None:
    w = ledger.world
    body = await refused(
        ledger,
        "POST",
        f"/v1/boards/{w.board}/tasks",
        422,
        json={"title": "t", "inputs": inputs(w)},
        headers=w.holder,
    )
    assert paths(body) == [f"/inputs/{i}" for i in bad]


# The holder's result is refused by publishing, inside the transaction that would complete
# the task: the attempt must not be closed, nor the task completed, nor anything published.
FIRST_PARENT = "/artifact/parents/0"
COMPLETE_REFUSALS = [
    pytest.param(
        {**RESULT, "body": {"summary": ""}},
        {},
        422,
        "SchemaViolation",
        "/artifact/body",
        id="schema",
    ),
    pytest.param(FINDING, {}, 422, "InvalidInput", "/artifact/type", id="wrong-type"),
    pytest.param(
        {**RESULT, "parents": [str(uuid4())]},
        {},
        422,
        "UnknownParent",
        FIRST_PARENT,
        id="unknown-parent",
    ),
    pytest.param(
        {**RESULT, "parents": ["{foreign}"]},
        {},
        422,
        "UnknownParent",
        FIRST_PARENT,
        id="foreign-parent",
    ),
    pytest.param(
        {**RESULT, "claim_id": "{released}"}, {}, 409, "StaleClaim", None, id="stale-claim"
    ),
    pytest.param(
        {**RESULT, "key": "k", "expected_version": 3},
        {},
        409,
        "VersionConflict",
        None,
        id="version",
    ),
    pytest.param(
        RESULT, {"Idempotency-Key": USED_KEY}, 409, "IdempotencyKeyReused", None, id="idempotency"
    ),
]


@pytest.mark.parametrize(
    ("artifact", "headers", "status", "error", "path"),
    COMPLETE_REFUSALS,
)
async def test_a_refused_result_leaves_the_task_leased_and_writes_nothing(
    ledger: Ledger,
    artifact: dict[str, Any],
    headers: dict[str, str],
    status: int,
    error: str,
    path: str | None,
) -> None:
    w = ledger.world
    text = json.dumps({"artifact": artifact})
    text = text.replace("{foreign}", w.foreign_artifact).replace("{released}", w.released_claim)
    body = await refused(
        ledger,
        "POST",
        f"/v1/tasks/{w.task}/complete",
        status,
        error,
        content=text.encode(),
        headers=json_headers({**w.holder, **headers}),
    )
    if path is not None:
        assert any(p == path or p.startswith(path + "/") for p in paths(body)), paths(body)
        assert all(p.startswith("/artifact/") for p in paths(body)), paths(body)
    task = (await ledger.client.get(f"/v1/tasks/{w.task}", headers=ADMIN)).json()
    assert task["status"] == "leased" and task["result_id"] is None


# --- reads with bad query parameters --------------------------------------------------------

BAD_QUERIES: list[tuple[str, dict[str, str]]] = [
    ("list_claims", {"active": "maybe"}),
    ("list_claims", {"agent": "not-a-uuid"}),
    ("list_claims", {"role": "r" * 129}),
    ("list_claims", {"role": NUL}),
    ("list_claims", {"limit": "0"}),
    ("list_claims", {"limit": "1001"}),
    ("list_claims", {"limit": "many"}),
    ("list_abstentions", {"agent": "not-a-uuid"}),
    ("list_abstentions", {"task": "not-a-uuid"}),
    ("list_abstentions", {"role": NUL}),
    ("list_abstentions", {"after": "-1"}),
    ("list_abstentions", {"limit": "0"}),
    ("list_tasks", {"status": "bogus"}),
    ("list_tasks", {"status": NUL}),
    ("list_tasks", {"limit": "0"}),
    ("list_tasks", {"limit": "1001"}),
]


@pytest.mark.parametrize(
    ("name", "params"),
    BAD_QUERIES,
    ids=[f"{n}-{k}={v[:10]!r}" for n, q in BAD_QUERIES for k, v in q.items()],
)
async def test_bad_query_parameters_are_422(
    ledger: Ledger, name: str, params: dict[str, str]
) -> None:
    w = ledger.world
    r = await ledger.client.get(BY_NAME[name].url(w), params=params, headers=ADMIN)
    body = assert_error(r, 422)
    assert paths(body) == [f"/query/{k}" for k in params]


# --- leases that ran out (a fresh database each: the reaper may write once they do) ---------


@pytest.mark.parametrize("name", ["renew", "release"])
async def test_a_claim_whose_lease_ran_out_is_409_lease_lost(
    client: httpx.AsyncClient,
    actors: Actors,
    db: psycopg.Connection[Any],
    name: str,
) -> None:
    board, agent = await actors.board(), await actors.agent()
    r = await client.post(
        f"/v1/boards/{board['id']}/claims",
        json={"role": "critic", "ttl_s": 0.2},
        headers=agent["headers"],
    )
    assert r.status_code == 201, r.text
    claim = r.json()
    await asyncio.sleep(0.3)
    before = counts(db)
    endpoint = BY_NAME[name]
    r = await client.request(
        endpoint.method,
        f"/v1/claims/{claim['id']}" + ("/renew" if name == "renew" else ""),
        json=endpoint.valid,
        headers=agent["headers"],
    )
    body = assert_error(r, 409, "LeaseLost")
    assert body["status"] == "expired"
    assert counts(db) == before
    got = (await client.get(f"/v1/claims/{claim['id']}", headers=ADMIN)).json()
    assert got["status"] == "expired" and got["expires_at"] == claim["expires_at"]


@pytest.mark.parametrize("name", ["heartbeat", "complete", "fail"])
async def test_a_task_whose_lease_ran_out_is_409_lease_lost(
    client: httpx.AsyncClient,
    actors: Actors,
    db: psycopg.Connection[Any],
    name: str,
) -> None:
    board, agent = await actors.board(), await actors.agent()
    r = await client.post(
        f"/v1/boards/{board['id']}/tasks", json={"title": "t", "max_attempts": 2}, headers=ADMIN
    )
    assert r.status_code == 201, r.text
    task = r.json()
    r = await client.post(
        f"/v1/boards/{board['id']}/tasks/claim", json={"lease_s": 0.2}, headers=agent["headers"]
    )
    assert r.status_code == 200 and r.json()["id"] == task["id"], r.text
    await asyncio.sleep(0.3)
    before = counts(db)
    endpoint = BY_NAME[name]
    r = await client.post(
        f"/v1/tasks/{task['id']}/{name}", json=endpoint.valid, headers=agent["headers"]
    )
    assert_error(r, 409, "LeaseLost")
    assert counts(db) == before
    got = (await client.get(f"/v1/tasks/{task['id']}", headers=ADMIN)).json()
    assert got["result_id"] is None and got["failures"] <= 1
    assert [a["outcome"] for a in got["attempts"]] in ([None], ["lease_expired"])
