"""Webhooks over real HTTP: a receiver on loopback gets the board's events, signed, in order."""

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from api import create_app
from blackboard.config import Settings
from tests.support.api import ADMIN, Actors, count_rows
from tests.support.webhooks import Receiver, until


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.open.set()
    r.server.shutdown()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with quick webhook retries (the receivers here answer at once)."""
    quick = settings.model_copy(
        update={"webhook_backoff_s": 0.05, "webhook_max_attempts": 3, "fallback_poll_s": 0.2}
    )
    app = create_app(quick)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bb.test") as c:
            yield c


async def recorded(
    client: httpx.AsyncClient, hook: dict[str, Any], who: dict[str, str], count: int
) -> list[dict[str, Any]]:
    """The webhook's delivery attempts, once `count` are recorded (a receiver has a
    request before its answer, and so its attempt, is recorded)."""
    for _ in range(300):
        r = await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=who)
        items: list[dict[str, Any]] = r.json()["items"]
        if len(items) >= count:
            return items
        await asyncio.sleep(0.05)
    raise AssertionError("timed out waiting for deliveries to be recorded")


async def publish(
    client: httpx.AsyncClient, board: dict[str, Any], agent: dict[str, Any], claim: str
) -> dict[str, Any]:
    r = await client.post(
        f"/v1/boards/{board['id']}/artifacts",
        json={"type": "finding", "body": {"claim": claim}},
        headers=agent["headers"],
    )
    assert r.status_code == 201, r.text
    published: dict[str, Any] = r.json()
    return published


async def register(
    client: httpx.AsyncClient, board: dict[str, Any], who: dict[str, str], **fields: Any
) -> dict[str, Any]:
    r = await client.post(f"/v1/boards/{board['id']}/webhooks", json=fields, headers=who)
    assert r.status_code == 201, r.text
    hook: dict[str, Any] = r.json()
    return hook


async def test_events_arrive_signed_in_order_and_every_attempt_is_recorded(
    client: httpx.AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    board = await actors.board()
    agent = await actors.agent()
    hook = await register(client, board, agent["headers"], url=receiver.url)
    assert hook["secret"].startswith("whsec_") and hook["owner_id"] == agent["id"]
    published = [await publish(client, board, agent, f"claim {i}") for i in range(3)]
    await until(lambda: len(receiver.requests) == 3)
    assert [e["seq"] for e in receiver.events()] == [a["seq"] for a in published]
    assert [e["subject_id"] for e in receiver.events()] == [a["id"] for a in published]
    for request in receiver.requests:
        headers = request["headers"]
        stamp, mac = headers["Blackboard-Signature"].removeprefix("t=").split(",v1=")
        expected = hmac.new(
            hook["secret"].encode(), f"{stamp}.".encode() + request["body"], hashlib.sha256
        ).hexdigest()
        assert hmac.compare_digest(mac, expected)
        assert headers["Blackboard-Webhook-Id"] == hook["id"]
        assert json.loads(request["body"])["board_id"] == board["id"]
    deliveries = await recorded(client, hook, agent["headers"], 3)
    assert [(d["seq"], d["outcome"], d["status_code"]) for d in deliveries] == [
        (a["seq"], "delivered", 200) for a in published
    ]
    seen = (await client.get(f"/v1/webhooks/{hook['id']}", headers=agent["headers"])).json()
    assert seen["cursor"] == published[-1]["seq"] and "secret" not in seen


async def test_a_failing_receiver_is_retried_then_the_event_is_skipped_and_recorded(
    client: httpx.AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    board = await actors.board()
    agent = await actors.agent()
    receiver.statuses = [500, 503, 500]  # the first event fails all 3 allowed attempts
    hook = await register(client, board, ADMIN, url=receiver.url)
    first = await publish(client, board, agent, "one")
    second = await publish(client, board, agent, "two")
    await until(lambda: len(receiver.requests) == 4)
    assert [e["seq"] for e in receiver.events()] == [first["seq"]] * 3 + [second["seq"]]
    deliveries = await recorded(client, hook, ADMIN, 4)
    assert [(d["seq"], d["attempt"], d["outcome"], d["status_code"]) for d in deliveries] == [
        (first["seq"], 1, "retrying", 500),
        (first["seq"], 2, "retrying", 503),
        (first["seq"], 3, "failed", 500),
        (second["seq"], 1, "delivered", 200),
    ]


async def test_a_stalled_receiver_never_holds_up_publishing(
    client: httpx.AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    board = await actors.board()
    agent = await actors.agent()
    await register(client, board, ADMIN, url=receiver.url)
    receiver.open.clear()  # the receiver takes requests but does not answer
    published = [await publish(client, board, agent, f"c{i}") for i in range(20)]
    assert receiver.requests == []  # nothing answered yet, and every publish went through
    receiver.open.set()
    await until(lambda: len(receiver.requests) == 20)
    assert [e["seq"] for e in receiver.events()] == [a["seq"] for a in published]


async def test_filters_and_a_start_in_the_past(
    client: httpx.AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    board = await actors.board()
    agent = await actors.agent()
    early = await publish(client, board, agent, "before the webhook")
    r = await client.post(
        f"/v1/boards/{board['id']}/tasks", json={"title": "a task"}, headers=ADMIN
    )
    assert r.status_code == 201
    await register(client, board, ADMIN, url=receiver.url, types=["finding"], after=0)
    late = await publish(client, board, agent, "after the webhook")
    await until(lambda: len(receiver.requests) == 2)
    await asyncio.sleep(0.5)  # the board's other events (created, task.posted) never come
    assert [(e["kind"], e["subject_id"]) for e in receiver.events()] == [
        ("artifact.published", early["id"]),
        ("artifact.published", late["id"]),
    ]


async def test_bad_requests_are_refused_and_write_nothing(
    client: httpx.AsyncClient, actors: Actors, receiver: Receiver, db: psycopg.Connection[Any]
) -> None:
    board = await actors.board()
    owner, other = await actors.agent(), await actors.agent()
    base = f"/v1/boards/{board['id']}/webhooks"
    for body in (
        {"url": "ftp://example.invalid/x"},
        {"url": "http://ok.invalid/", "kinds": ["Not A Kind"]},
        {"url": "http://ok.invalid/", "surprise": 1},
        {"url": "http://ok.invalid/", "after": -1},
    ):
        r = await client.post(base, json=body, headers=owner["headers"])
        assert r.status_code == 422 and r.json()["error"] == "ValidationFailed", r.text
    unknown_board = "/v1/boards/00000000-0000-0000-0000-000000000000/webhooks"
    r = await client.post(unknown_board, json={"url": receiver.url}, headers=owner["headers"])
    assert r.status_code == 404 and r.json()["error"] == "NotFound"
    r = await client.get(unknown_board, headers=owner["headers"])
    assert r.status_code == 404 and r.json()["error"] == "NotFound"
    assert (await client.post(base, json={"url": receiver.url})).status_code == 401
    assert count_rows(db, "webhooks") == 0

    hook = await register(client, board, owner["headers"], url=receiver.url)
    mine = f"/v1/webhooks/{hook['id']}"
    for method, path in (("GET", mine), ("GET", f"{mine}/deliveries"), ("DELETE", mine)):
        r = await client.request(method, path, headers=other["headers"])
        assert r.status_code == 403 and r.json()["error"] == "Forbidden", r.text
    listed = await client.get(base, headers=other["headers"])
    assert listed.json()["items"] == []  # an agent sees only its own
    r = await client.get("/v1/webhooks/00000000-0000-0000-0000-000000000000", headers=ADMIN)
    assert r.status_code == 404

    assert (await client.delete(mine, headers=owner["headers"])).status_code == 204
    await publish(client, board, owner, "after the webhook was removed")
    await asyncio.sleep(0.6)  # longer than the fallback poll: a live webhook would have fired
    assert receiver.requests == []
    assert (await client.get(mine, headers=ADMIN)).json()["active"] is False


async def test_removing_a_webhook_stops_the_delivery_pass_under_way(
    client: httpx.AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    board = await actors.board()
    owner = await actors.agent()
    hook = await register(client, board, owner["headers"], url=receiver.url)
    receiver.open.clear()  # the first delivery waits at the receiver
    for n in range(5):
        await publish(client, board, owner, f"finding {n}")
    await until(lambda: receiver.arrived == 1)
    assert (
        await client.delete(f"/v1/webhooks/{hook['id']}", headers=owner["headers"])
    ).status_code == 204
    receiver.open.set()
    await until(lambda: len(receiver.requests) == 1)
    await asyncio.sleep(0.6)  # longer than the fallback poll: the pass would have gone on
    assert receiver.arrived == 1  # the four events behind the one in flight never went out
    attempts = (await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=ADMIN)).json()
    assert [a["outcome"] for a in attempts["items"]] == ["delivered"]  # what was sent is recorded
