"""Input a fuzzer finds: each once answered 500; now a 4xx in the error shape, or served."""

from typing import Any

import httpx
import pytest

from tests.support.api import ADMIN, Actors, count_rows


# "²" arrives as the byte 0xB2, which servers read as Latin-1: a digit to str.isdigit()
@pytest.mark.parametrize("last_event_id", [b"\xb2", b"1\xb9", "١٢".encode(), b"-1", b"9" * 30])
async def test_a_last_event_id_that_is_not_ascii_digits_is_422(
    client: httpx.AsyncClient, actors: Actors, last_event_id: bytes
) -> None:
    board = (await actors.board())["id"]
    r = await client.get(
        f"/v1/boards/{board}/events/stream",
        headers={**ADMIN, "Last-Event-ID": last_event_id},  # type: ignore[dict-item]
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "InvalidInput"


METRICS = ("", "/roles", "/abstentions", "/claims", "/tasks", "/interactions", "/entropy")
METRICS += ("/duplicates",)


@pytest.mark.parametrize(
    "params",
    [
        {"since": "0001-01-01T00:00:00Z"},
        {"until": "9999-12-31T23:59:59Z"},
        {"since": "0001-01-01T00:00:00Z", "until": "9999-12-31T23:59:59Z"},
        {"since": "2026-01-01T00:00:00", "until": "2026-01-02T00:00:00Z"},  # naive and aware
    ],
)
async def test_the_far_ends_of_the_calendar_are_served_on_every_metric(
    client: httpx.AsyncClient, actors: Actors, params: dict[str, str]
) -> None:
    board = (await actors.board())["id"]
    for part in METRICS:
        r = await client.get(f"/v1/boards/{board}/metrics{part}", params=params, headers=ADMIN)
        assert r.status_code == 200, (part, r.text)


async def test_an_empty_range_is_an_empty_answer_not_an_error(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = (await actors.board())["id"]
    moment = "2026-06-01T12:00:00Z"
    r = await client.get(
        f"/v1/boards/{board}/metrics", params={"since": moment, "until": moment}, headers=ADMIN
    )
    assert r.status_code == 200, r.text


async def _world(client: httpx.AsyncClient, actors: Actors) -> dict[str, Any]:
    board = (await actors.board())["id"]
    agent = await actors.agent(capabilities=["x"])
    task = await client.post(
        f"/v1/boards/{board}/tasks", json={"title": "t"}, headers=agent["headers"]
    )
    assert task.status_code == 201, task.text
    return {"board": board, "agent": agent, "task": task.json()["id"]}


@pytest.mark.parametrize("value", [False, True])
async def test_a_json_boolean_is_not_a_number_anywhere(
    client: httpx.AsyncClient, actors: Actors, db: Any, value: bool
) -> None:
    w = await _world(client, actors)
    board, who = w["board"], w["agent"]["headers"]
    calls = [
        (f"/v1/boards/{board}/claims", {"role": "critic", "confidence": value}, who, "claims"),
        (
            f"/v1/boards/{board}/abstentions",
            {"reason": "not mine", "confidence": value},
            who,
            "abstentions",
        ),
        (f"/v1/tasks/{w['task']}/abstain", {"reason": "no", "confidence": value}, who, None),
        (
            f"/v1/boards/{board}/webhooks",
            {"url": "http://127.0.0.1:9/hook", "after": value},
            ADMIN,
            "webhooks",
        ),
        (f"/v1/boards/{board}/tasks", {"title": "t", "max_attempts": value}, who, "tasks"),
    ]
    for path, body, headers, table in calls:
        before = count_rows(db, table) if table else 0
        r = await client.post(path, json=body, headers=headers)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["error"] == "ValidationFailed"
        assert "boolean" in str(r.json()["errors"]), r.text
        if table:
            assert count_rows(db, table) == before, path


async def test_a_concrete_path_answers_405_for_methods_it_does_not_serve(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = (await actors.board())["id"]
    r = await client.get(f"/v1/boards/{board}/artifacts/batch", headers=ADMIN)
    assert r.status_code == 405, r.text
    assert r.json()["error"] == "MethodNotAllowed"
    assert r.headers["allow"] == "POST"


@pytest.mark.parametrize("method", ["OPTIONS", "DELETE", "PUT"])
async def test_405_names_every_method_the_path_serves(
    client: httpx.AsyncClient, method: str
) -> None:
    r = await client.request(method, "/v1/agents", headers=ADMIN)
    assert r.status_code == 405, r.text
    assert r.headers["allow"] == "GET, HEAD, POST"
