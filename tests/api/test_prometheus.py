"""`GET /metrics`: the service's own Prometheus instruments parse, and move when work happens.

The registry is per process and shared by every test in it, so each test compares a scrape
taken before its work with one taken after.
"""

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from blackboard.config import Settings
from tests.support.api import ADMIN, Actors
from tests.support.runs import finished, offered, scripted, start
from tests.support.servers import SSE

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

PUBLISH = "/v1/boards/{board_id}/artifacts"
REQUESTS = "blackboard_http_requests_total"
PUBLISHED = "blackboard_artifacts_published_total"
CLAIMS = "blackboard_role_claims_total"
EXPIRIES = "blackboard_lease_expiries_total"
TASKS = "blackboard_task_transitions_total"
SUBSCRIBERS = "blackboard_sse_subscribers"
RECONNECTS = "blackboard_listen_reconnects_total"
DIRECT_WRITES = "blackboard_sse_direct_writes_total"
CATCH_UPS = "blackboard_sse_catch_ups_total"
TURNS = "blackboard_controller_turns_total"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # the reaper takes a lease back soon after it runs out: the expiry test waits less
    return settings.model_copy(update={"reaper_interval_s": 0.1})


async def scrape(client: httpx.AsyncClient) -> Samples:
    """Read `/metrics` (without a token) and return every sample by name and labels."""
    r = await client.get("/metrics")
    assert r.status_code == 200, r.text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 for a labelled series that has not appeared yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)


class Meter:
    """Measures how far samples moved between a first scrape and later ones."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.before: Samples = {}

    async def start(self) -> "Meter":
        self.before = await scrape(self.client)
        return self

    async def moved(self) -> Callable[..., float]:
        after = await scrape(self.client)
        return lambda name, **labels: (
            value(after, name, **labels) - value(self.before, name, **labels)
        )

    async def until(
        self, check: Callable[[Callable[..., float]], bool], within_s: float = 15
    ) -> Callable[..., float]:
        """Scrape until `check(moved)` holds; return `moved` (failing after `within_s`)."""
        for _ in range(int(within_s / 0.1)):
            moved = await self.moved()
            if check(moved):
                return moved
            await asyncio.sleep(0.1)
        raise AssertionError("the metrics never moved as expected")


async def publish(
    client: httpx.AsyncClient,
    board: dict[str, Any],
    agent: dict[str, Any],
    body: dict[str, Any],
    **headers: str,
) -> httpx.Response:
    return await client.post(
        f"/v1/boards/{board['id']}/artifacts",
        json={"type": "finding", "body": body},
        headers={**agent["headers"], **headers},
    )


async def test_metrics_parse_and_are_open_to_scrapers_but_not_in_the_api_schema(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    expected = {
        "blackboard_http_requests": "counter",
        "blackboard_http_request_duration_seconds": "histogram",
        "blackboard_artifacts_published": "counter",
        "blackboard_role_claims": "counter",
        "blackboard_lease_expiries": "counter",
        "blackboard_task_transitions": "counter",
        "blackboard_sse_subscribers": "gauge",
        "blackboard_sse_direct_writes": "counter",
        "blackboard_sse_catch_ups": "counter",
        "blackboard_listen_reconnects": "counter",
        "blackboard_controller_turns": "counter",
    }
    assert {name: families[name].type for name in expected} == expected
    assert all(families[name].documentation for name in expected)
    # labelled outcomes exist before they first happen, so rates start at 0
    samples = await scrape(client)
    for outcome in ("completed", "abstained", "timed_out", "invalid"):
        assert (TURNS, frozenset({("outcome", outcome)})) in samples
    schema = (await client.get("/openapi.json")).json()
    assert "/metrics" not in schema["paths"]


async def test_publishes_count_on_their_route_template_and_only_when_written(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    agent, board = await actors.agent(), await actors.board()
    meter = await Meter(client).start()
    for i in range(3):
        assert (await publish(client, board, agent, {"claim": f"c{i}"})).status_code == 201
    retried = [
        await publish(client, board, agent, {"claim": "once"}, **{"Idempotency-Key": "k"})
        for _ in range(2)
    ]
    assert [r.status_code for r in retried] == [201, 201]
    assert retried[1].headers["Idempotent-Replayed"] == "true"
    assert (await publish(client, board, agent, {"confidence": "very"})).status_code == 422
    batch = await client.post(
        f"/v1/boards/{board['id']}/artifacts/batch",
        json={"items": [{"type": "finding", "body": {"claim": f"b{i}"}} for i in range(7)]},
        headers=agent["headers"],
    )
    assert batch.status_code == 201, batch.text
    moved = await meter.moved()

    assert moved(REQUESTS, method="POST", route=PUBLISH, status="201") == 5
    assert moved(REQUESTS, method="POST", route=PUBLISH, status="422") == 1
    assert moved(REQUESTS, method="POST", route=PUBLISH + "/batch", status="201") == 1
    histogram = "blackboard_http_request_duration_seconds"
    assert moved(histogram + "_count", method="POST", route=PUBLISH, status="201") == 5
    assert moved(histogram + "_sum", method="POST", route=PUBLISH, status="201") > 0
    # 3 + the first of the idempotent pair + 7 in the batch; not the replay, not the 422
    assert moved(PUBLISHED) == 11
    routes = {dict(labels).get("route", "") for _, labels in await scrape(client)}
    assert not [r for r in routes if board["id"] in r], "a raw path became a label"


async def test_unknown_ids_are_recorded_on_the_route_template_and_unrouted_as_unmatched(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    missing = str(uuid4())
    meter = await Meter(client).start()
    r = await client.get(f"/v1/boards/{board['id']}/artifacts/{missing}", headers=ADMIN)
    assert r.status_code == 404
    assert (await client.get(f"/no/such/{missing}", headers=ADMIN)).status_code == 404
    too_big = await client.post(
        f"/v1/boards/{board['id']}/artifacts",
        content=b"x" * (300 * 1024),
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert too_big.status_code == 413
    moved = await meter.moved()
    one = "/v1/boards/{board_id}/artifacts/{artifact_id}"
    assert moved(REQUESTS, method="GET", route=one, status="404") == 1
    assert moved(REQUESTS, method="GET", route="unmatched", status="404") == 1
    assert moved(REQUESTS, method="POST", route="unmatched", status="413") == 1
    routes = {dict(labels).get("route", "") for _, labels in await scrape(client)}
    assert not [r for r in routes if missing in r or board["id"] in r]


async def test_role_claims_count_by_outcome(client: httpx.AsyncClient, actors: Actors) -> None:
    board = await actors.board()
    holder, rival = await actors.agent(), await actors.agent()
    url = f"/v1/boards/{board['id']}/claims"
    meter = await Meter(client).start()
    assert (await client.post(url, json={"role": "critic"}, headers=holder["headers"])).is_success
    assert (await client.post(url, json={"role": "critic"}, headers=holder["headers"])).is_success
    taken = await client.post(url, json={"role": "critic"}, headers=rival["headers"])
    assert taken.status_code == 409 and taken.json()["error"] == "RoleTaken"
    moved = await meter.moved()
    assert moved(CLAIMS, outcome="claimed") == 1
    assert moved(CLAIMS, outcome="renewed") == 1
    assert moved(CLAIMS, outcome="conflict") == 1


async def test_leases_the_reaper_takes_back_count_as_expiries(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    agent = await actors.agent(capabilities=["research"])
    r = await client.post(f"/v1/boards/{board['id']}/tasks", json={"title": "t"}, headers=ADMIN)
    assert r.status_code == 201, r.text
    meter = await Meter(client).start()
    claim = await client.post(
        f"/v1/boards/{board['id']}/claims",
        json={"role": "critic", "ttl_s": 1},
        headers=agent["headers"],
    )
    assert claim.status_code == 201, claim.text
    task = await client.post(
        f"/v1/boards/{board['id']}/tasks/claim", json={"lease_s": 1}, headers=agent["headers"]
    )
    assert task.status_code == 200, task.text
    moved = await meter.until(
        lambda m: m(EXPIRIES, kind="claim") >= 1 and m(EXPIRIES, kind="task") >= 1
    )
    assert moved(EXPIRIES, kind="claim") == 1 and moved(EXPIRIES, kind="task") == 1
    r = await client.get(f"/v1/claims/{claim.json()['id']}", headers=ADMIN)
    assert r.json()["status"] == "expired"


async def test_task_transitions_count_by_outcome(client: httpx.AsyncClient, actors: Actors) -> None:
    board = await actors.board()
    agent = await actors.agent(capabilities=["research"])
    meter = await Meter(client).start()
    for title in ("done", "declined"):
        r = await client.post(
            f"/v1/boards/{board['id']}/tasks", json={"title": title}, headers=ADMIN
        )
        assert r.status_code == 201, r.text

    async def claim_next() -> dict[str, Any]:
        r = await client.post(f"/v1/boards/{board['id']}/tasks/claim", headers=agent["headers"])
        assert r.status_code == 200, r.text
        task: dict[str, Any] = r.json()
        return task

    done = await claim_next()
    result = {"artifact": {"type": "finding", "body": {"claim": "done"}}}
    r = await client.post(f"/v1/tasks/{done['id']}/complete", json=result, headers=agent["headers"])
    assert r.status_code == 200, r.text
    again = await client.post(
        f"/v1/tasks/{done['id']}/complete", json=result, headers=agent["headers"]
    )
    assert again.status_code == 409  # refused: neither a completion nor a publish
    declined = await claim_next()
    r = await client.post(
        f"/v1/tasks/{declined['id']}/fail",
        json={"reason": "flaky", "retry_after_s": 0},
        headers=agent["headers"],
    )
    assert r.status_code == 200 and r.json()["status"] == "open", r.text
    assert (await claim_next())["id"] == declined["id"]
    r = await client.post(
        f"/v1/tasks/{declined['id']}/abstain", json={"reason": "not mine"}, headers=agent["headers"]
    )
    assert r.status_code == 200, r.text
    moved = await meter.moved()
    assert {
        outcome: moved(TASKS, outcome=outcome)
        for outcome in ("posted", "claimed", "completed", "retried", "failed", "abstained")
    } == {"posted": 2, "claimed": 3, "completed": 1, "retried": 1, "failed": 0, "abstained": 1}
    assert moved(PUBLISHED) == 1


async def test_a_run_counts_every_turn_once_by_outcome(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    planner = await scripted(actors, "p-planner", ["planner"])
    broken = await scripted(actors, "p-broken", ["research"], always_invalid="true")
    human = await actors.agent("p-human", ["research"])
    idle = await scripted(actors, "p-idle", ["juggling"])
    silent = await actors.agent("p-silent", ["research"])
    roster = [planner, broken, human, idle, silent]
    meter = await Meter(client).start()
    run = await start(
        client, board, protocol="sequential", roster=[a["id"] for a in roster], turn_timeout_s=2
    )
    turn = await offered(client, human)
    r = await client.post(
        f"/v1/turns/{turn['id']}/complete",
        json={"role": "researcher", "artifacts": [{"type": "finding", "body": {"claim": "hot"}}]},
        headers=human["headers"],
    )
    assert r.status_code == 200, r.text
    detail = await finished(client, run["id"])
    assert detail["run"]["status"] == "completed", detail["run"]
    statuses = [t["status"] for t in detail["turns"]]
    assert statuses == ["completed", "invalid", "completed", "abstained", "timed_out"]
    moved = await meter.moved()
    outcomes = ("completed", "abstained", "timed_out", "invalid")
    assert {o: moved(TURNS, outcome=o) for o in outcomes} == Counter(statuses)
    # the turns' artifacts and role claims, each counted once though written in the turn
    assert moved(PUBLISHED) == sum(len(t["artifact_ids"]) for t in detail["turns"]) == 2
    assert moved(CLAIMS, outcome="claimed") == 2


async def test_sse_subscribers_rise_while_streams_are_open_and_fall_after(
    live_server: Any,
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        actors = Actors(c)
        agent, board = await actors.agent(), await actors.board()
        meter = await Meter(c).start()
        async with c.stream(
            "GET", f"/v1/boards/{board['id']}/events/stream", headers=ADMIN
        ) as board_stream:
            events = SSE(board_stream)  # kept: dropping the reader would close the stream
            assert (await events.read(1))[0]["event"] == "board.created"
            assert (await meter.moved())(SUBSCRIBERS) == 1
            async with c.stream("GET", "/v1/agents/me/events/stream", headers=agent["headers"]):
                await meter.until(lambda m: m(SUBSCRIBERS) == 2)
            await meter.until(lambda m: m(SUBSCRIBERS) == 1)
        await meter.until(lambda m: m(SUBSCRIBERS) == 0)


async def test_streams_count_the_feeds_direct_writes_and_their_catch_ups(
    live_server: Any,
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        actors = Actors(c)
        agent, board = await actors.agent(), await actors.board()
        feed = live_server.app.state.services.feeds.board(UUID(board["id"]))
        async with c.stream(
            "GET", f"/v1/boards/{board['id']}/events/stream", headers=ADMIN
        ) as board_stream:
            events = SSE(board_stream)
            await events.read(1)  # board.created
            meter = await Meter(c).start()
            for i in range(3):
                await until_parked(feed)
                assert (await publish(c, board, agent, {"claim": f"c{i}"})).status_code == 201
                await events.read(1)
            moved = await meter.moved()
            assert (moved(DIRECT_WRITES), moved(CATCH_UPS)) == (3, 0)
            # more than one write holds (500 events): written in part, the rest read
            await until_parked(feed)
            items = [{"type": "finding", "body": {"claim": f"b{i}"}} for i in range(501)]
            r = await c.post(
                f"/v1/boards/{board['id']}/artifacts/batch",
                json={"items": items},
                headers=agent["headers"],
            )
            assert r.status_code == 201, r.text
            assert len(await asyncio.wait_for(events.read(501), 10)) == 501
            moved = await meter.moved()
            assert (moved(DIRECT_WRITES), moved(CATCH_UPS)) == (4, 1)


async def until_parked(feed: Any) -> None:
    """Wait until the board's one stream is parked, written to by the feed."""
    for _ in range(200):
        if feed.parked:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the stream never parked")


async def test_a_killed_listen_connection_counts_one_reconnect(
    live_server: Any, database_url: str
) -> None:
    listener = live_server.app.state.services.running.listener
    await asyncio.wait_for(listener.connected.wait(), 10)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        meter = await Meter(c).start()
        with psycopg.connect(database_url, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'blackboard-listener'"
                " AND datname = current_database()"
            ).fetchall()
        assert killed == [(True,)]
        moved = await meter.until(lambda m: m(RECONNECTS) >= 1)
        await asyncio.sleep(0.3)  # a second reconnect, if one were coming
        assert (await meter.moved())(RECONNECTS) == moved(RECONNECTS) == 1
    assert listener.reconnects == 1
