"""Types that evolve without breaking their publishers: compatibility modes, overrides,
dry runs against the data, `type.registered` events, and the standard types at start-up."""

import asyncio
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.types.json import Jsonb

import artifacts
from api.app import create_app
from blackboard.config import Settings
from blackboard.services.schemas import StandardTypeChanged
from tests.support.api import ADMIN, Actors, count_rows

MEMO = {
    "type": "object",
    "properties": {"text": {"type": "string"}, "tags": {"type": "array"}},
    "required": ["text"],
}
TITLED = {**MEMO, "required": ["text", "title"]}
LOOSER = {**MEMO, "required": []}


async def put(
    client: httpx.AsyncClient, name: str, schema: Any, compatibility: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"schema": schema}
    if compatibility is not None:
        body["compatibility"] = compatibility
    return await client.put(f"/v1/types/{name}", json=body, headers=ADMIN)


def error(r: httpx.Response, status: int, name: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["error"] == name and body["detail"]
    return body


async def detail(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    r = await client.get(f"/v1/types/{name}", headers=ADMIN)
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


async def publish(
    client: httpx.AsyncClient, board: dict[str, Any], agent: dict[str, Any], **item: Any
) -> dict[str, Any]:
    r = await client.post(
        f"/v1/boards/{board['id']}/artifacts", json=item, headers=agent["headers"]
    )
    assert r.status_code == 201, r.text
    found: dict[str, Any] = r.json()
    return found


async def test_a_breaking_version_is_refused_with_a_reason_per_problem(
    client: httpx.AsyncClient, db: psycopg.Connection[Any]
) -> None:
    assert (await put(client, "memo", MEMO)).status_code == 201
    assert (await detail(client, "memo"))["compatibility"] == "backward"
    before = count_rows(db, "artifact_types")
    breaking = {
        **MEMO,
        "properties": {"text": {"type": "string", "maxLength": 10}, "tags": {"type": "array"}},
        "required": ["text", "title"],
    }
    body = error(await put(client, "memo", breaking), 409, "IncompatibleSchema")
    assert body["compatibility"] == "backward" and body["previous_version"] == 1
    assert sorted(r["path"] for r in body["reasons"]) == [
        "/properties/text/maxLength",
        "/required/1",
    ]
    assert all(r["message"] for r in body["reasons"])
    assert count_rows(db, "artifact_types") == before
    assert (await detail(client, "memo"))["versions"] == [1]
    # a compatible change goes through, checked under the same mode
    r = await put(client, "memo", LOOSER)
    assert r.status_code == 201, r.text
    assert r.json()["compatibility"] == "backward" and r.json()["registered_by"] == "operator"


async def test_none_overrides_one_change_and_is_recorded_on_the_version(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board, agent = await actors.board(), await actors.agent()
    assert (await put(client, "memo", MEMO)).status_code == 201
    r = await put(client, "memo", TITLED, compatibility="none")
    assert r.status_code == 201, r.text
    version = r.json()
    assert version["version"] == 2
    assert (version["compatibility"], version["overrode"], version["registered_by"]) == (
        "none",
        "backward",
        "operator",
    )
    stored = await client.get("/v1/types/memo/versions/2", headers=ADMIN)
    assert stored.json()["overrode"] == "backward"
    # the override was for that change only: the type is still backward, so the next
    # breaking change is refused again
    assert (await detail(client, "memo"))["compatibility"] == "backward"
    narrower = {**TITLED, "required": ["text", "title", "tags"]}
    error(await put(client, "memo", narrower), 409, "IncompatibleSchema")
    # and the new version is what publishes are checked against
    r = await client.post(
        f"/v1/boards/{board['id']}/artifacts",
        json={"type": "memo", "body": {"text": "no title"}},
        headers=agent["headers"],
    )
    error(r, 422, "SchemaViolation")


async def test_modes_are_set_shown_and_enforced(client: httpx.AsyncClient) -> None:
    assert (await put(client, "memo", MEMO, compatibility="forward")).status_code == 201
    assert (await detail(client, "memo"))["compatibility"] == "forward"
    # forward: what the new version accepts, the previous one must accept too
    body = error(await put(client, "memo", LOOSER), 409, "IncompatibleSchema")
    assert [r["path"] for r in body["reasons"]] == ["/required"]
    assert (await put(client, "memo", TITLED)).status_code == 201
    # same schema, another mode: the mode changes, no version is made
    same = await put(client, "memo", TITLED, compatibility="full")
    assert same.status_code == 200 and same.json()["version"] == 2
    assert (await detail(client, "memo"))["compatibility"] == "full"
    error(await put(client, "memo", MEMO), 409, "IncompatibleSchema")
    extra = {**TITLED, "properties": {**MEMO["properties"], "title": {}}}
    r = await put(client, "memo", extra)
    assert r.status_code == 201 and r.json()["compatibility"] == "full"
    # a type can be left unchecked on purpose
    assert (await put(client, "memo", extra, compatibility="none")).status_code == 200
    assert (await detail(client, "memo"))["compatibility"] == "none"
    r = await put(client, "memo", MEMO)
    assert r.status_code == 201 and r.json()["overrode"] is None


async def test_boards_using_the_type_hear_of_each_new_version(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    using, other = await actors.board(), await actors.board()
    assert (await put(client, "memo", MEMO)).status_code == 201
    await publish(client, using, agent, type="memo", body={"text": "t"})
    await publish(client, other, agent, type="finding", body={"claim": "c"})
    assert (await put(client, "memo", LOOSER)).status_code == 201
    assert (await put(client, "memo", TITLED, compatibility="none")).status_code == 201

    async def registered(board: dict[str, Any]) -> list[dict[str, Any]]:
        r = await client.get(
            f"/v1/boards/{board['id']}/events",
            params={"kind": "type.registered", "type": "memo"},
            headers=agent["headers"],
        )
        assert r.status_code == 200, r.text
        return [e["data"] for e in r.json()["items"]]

    assert await registered(using) == [
        {
            "type": "memo",
            "version": 2,
            "compatibility": "backward",
            "overrode": None,
            "registered_by": "operator",
        },
        {
            "type": "memo",
            "version": 3,
            "compatibility": "none",
            "overrode": "backward",
            "registered_by": "operator",
        },
    ]
    assert await registered(other) == []


async def test_check_reports_the_verdict_and_the_data_it_would_refuse(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    agent = await actors.agent()
    first, second = await actors.board(), await actors.board()
    assert (await put(client, "memo", MEMO)).status_code == 201
    for i in range(12):
        await publish(client, first, agent, type="memo", key=f"k{i:02}", body={"text": "x"})
    await publish(client, second, agent, type="memo", key="ok", body={"text": "y", "title": "T"})
    # only current versions count: k00's newest has a title, its older version does not
    await publish(client, first, agent, type="memo", key="k00", body={"text": "x", "title": "now"})
    gone = await publish(client, second, agent, type="memo", key="gone", body={"text": "z"})
    r = await client.post(
        f"/v1/boards/{second['id']}/artifacts/{gone['id']}/retract",
        json={"reason": "wrong"},
        headers=agent["headers"],
    )
    assert r.status_code == 200, r.text
    before = count_rows(db, "artifact_types")

    r = await client.post("/v1/types/memo/check", json={"schema": TITLED}, headers=ADMIN)
    assert r.status_code == 200, r.text
    verdict = r.json()
    assert verdict["compatible"] is False and verdict["compatibility"] == "backward"
    assert [x["path"] for x in verdict["reasons"]] == ["/required/1"]
    assert (verdict["checked"], verdict["failing"]) == (13, 11)
    tallies = {t["board_id"]: (t["checked"], t["failing"]) for t in verdict["boards"]}
    assert tallies == {first["id"]: (12, 11), second["id"]: (1, 0)}
    assert len(verdict["examples"]) == 10
    example = verdict["examples"][0]
    assert (example["board_id"], example["key"], example["version"]) == (first["id"], "k01", 1)
    assert example["error"]["path"] == "" and "title" in example["error"]["message"]
    assert count_rows(db, "artifact_types") == before

    fine = await client.post("/v1/types/memo/check", json={"schema": LOOSER}, headers=ADMIN)
    assert fine.json()["compatible"] is True and fine.json()["failing"] == 0


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "name"),
    [
        ("PUT", "/v1/types/memo", {"schema": {"type": 5}}, 422, "InvalidSchema"),
        (
            "PUT",
            "/v1/types/memo",
            {"schema": MEMO, "compatibility": "loose"},
            422,
            "ValidationFailed",
        ),
        ("PUT", "/v1/types/fresh", {"schema": MEMO, "compatibility": 1}, 422, "ValidationFailed"),
        ("POST", "/v1/types/memo/check", {"schema": {"type": 5}}, 422, "InvalidSchema"),
        (
            "POST",
            "/v1/types/memo/check",
            {"schema": MEMO, "compatibility": "x"},
            422,
            "ValidationFailed",
        ),
        ("POST", "/v1/types/memo/check", {}, 422, "ValidationFailed"),
        ("POST", "/v1/types/nobody/check", {"schema": MEMO}, 404, "NotFound"),
    ],
)
async def test_bad_input_gets_the_error_shape_and_registers_nothing(
    client: httpx.AsyncClient,
    db: psycopg.Connection[Any],
    method: str,
    url: str,
    body: dict[str, Any],
    status: int,
    name: str,
) -> None:
    assert (await put(client, "memo", MEMO)).status_code == 201
    before = count_rows(db, "artifact_types"), count_rows(db, "artifact_type_modes")
    error(await client.request(method, url, json=body, headers=ADMIN), status, name)
    assert (count_rows(db, "artifact_types"), count_rows(db, "artifact_type_modes")) == before
    assert (await detail(client, "memo"))["compatibility"] == "backward"
    error(await client.get("/v1/types/fresh", headers=ADMIN), 404, "NotFound")


async def test_only_the_operator_checks_types(client: httpx.AsyncClient, actors: Actors) -> None:
    agent = await actors.agent()
    r = await client.post("/v1/types/finding/check", json={"schema": {}}, headers=agent["headers"])
    error(r, 403, "Forbidden")


# --- the standard types at start-up --------------------------------------------------------


async def start(settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        pass


def as_if_code_had_been(db: psycopg.Connection[Any], schema: dict[str, Any]) -> None:
    """Make the registered `finding` look like what an earlier release's code declared."""
    db.execute(
        "UPDATE artifact_types SET schema = %s, schema_hash = 'earlier' WHERE name = 'finding'",
        (Jsonb(schema),),
    )


async def test_a_standard_type_changed_incompatibly_refuses_to_start(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    await start(settings)
    looser = artifacts.json_schema("finding")
    looser["required"] = []  # earlier code did not require a claim; today's does
    as_if_code_had_been(db, looser)
    before = count_rows(db, "artifact_types")
    with pytest.raises(StandardTypeChanged) as refused:
        await start(settings)
    message = str(refused.value)
    assert "'finding'" in message and "/required/0" in message and "'claim'" in message
    assert count_rows(db, "artifact_types") == before


async def test_a_standard_type_changed_compatibly_is_registered_and_announced(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bb.test") as client:
            actors = Actors(client)
            board, agent = await actors.board(), await actors.agent()
            await publish(client, board, agent, type="finding", body={"claim": "c"})
    stricter = artifacts.json_schema("finding")
    stricter["required"] = ["claim", "evidence"]  # earlier code required more than today's
    as_if_code_had_been(db, stricter)
    await start(settings)
    rows = db.execute(
        "SELECT version, registered_by, compatibility FROM artifact_types"
        " WHERE name = 'finding' ORDER BY version"
    ).fetchall()
    assert rows == [(1, "standard types", "backward"), (2, "standard types", "backward")]
    events = db.execute(
        "SELECT data FROM events WHERE board_id = %s AND kind = 'type.registered'",
        (board["id"],),
    ).fetchall()
    assert [e[0]["version"] for e in events] == [2]
    # started again with the same code: nothing new
    await start(settings)
    assert count_rows(db, "artifact_types") == len(artifacts.STANDARD_TYPES) + 1


async def test_concurrent_registrations_and_publishes_all_land_on_every_board(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    """Registrations of two types, each announced on the same two boards, race each other
    and the boards' publishes on separate connections: none waits forever, none fails,
    and each board's log holds every announcement in its order."""
    agent = await actors.agent()
    boards = [await actors.board(), await actors.board()]
    for name in ("memo", "note"):
        assert (await put(client, name, MEMO)).status_code == 201
        for board in boards:
            await publish(client, board, agent, type=name, body={"text": "t"})
    rounds = 4
    for i in range(rounds):
        described = {**MEMO, "description": f"round {i}"}  # annotations only: compatible
        answers = await asyncio.gather(
            put(client, "memo", described),
            put(client, "note", described),
            *(
                client.post(
                    f"/v1/boards/{board['id']}/artifacts",
                    json={"type": "memo", "body": {"text": f"r{i}"}},
                    headers=agent["headers"],
                )
                for board in boards
            ),
        )
        assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    for board in boards:
        r = await client.get(
            f"/v1/boards/{board['id']}/events",
            params={"kind": "type.registered", "limit": 100},
            headers=agent["headers"],
        )
        seen = [(e["data"]["type"], e["data"]["version"]) for e in r.json()["items"]]
        for name in ("memo", "note"):
            assert [v for t, v in seen if t == name] == list(range(2, rounds + 2))
