"""Board population metrics against a small scripted scenario whose figures are worked out by
hand below, over the real app and database."""

import asyncio
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.api import ADMIN, Actors

WINDOW = {"window_s": 3600}  # windows start at the board's creation: all of it is in one


async def ok(
    client: httpx.AsyncClient, method: str, url: str, who: dict[str, str], body: Any = None
) -> dict[str, Any]:
    r = await client.request(method, url, json=body, headers=who)
    assert r.status_code in (200, 201), r.text
    data: dict[str, Any] = r.json()
    return data


async def metrics(
    client: httpx.AsyncClient, board_id: str, part: str = "", **params: Any
) -> dict[str, Any]:
    url = f"/v1/boards/{board_id}/metrics" + (f"/{part}" if part else "")
    r = await client.get(url, params=params, headers=ADMIN)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


@pytest.fixture
async def scenario(client: httpx.AsyncClient, actors: Actors) -> dict[str, Any]:
    """Three agents — ann, bob, cat — claim, abstain, take a task and publish."""
    board = (await actors.board())["id"]
    ann, bob, cat = [await actors.agent(n) for n in ("ann", "bob", "cat")]
    a, b, c = ann["headers"], bob["headers"], cat["headers"]
    claims = f"/v1/boards/{board}/claims"

    async def claim(who: dict[str, str], role: str, scope: str, ttl_s: float = 3600) -> str:
        return (
            await ok(client, "POST", claims, who, {"role": role, "scope": scope, "ttl_s": ttl_s})
        )["id"]

    async def release(who: dict[str, str], claim_id: str) -> None:
        await ok(client, "DELETE", f"/v1/claims/{claim_id}", who)

    # ann: planner → critic → planner (2 flips); the last claim stays active
    await release(a, await claim(a, "planner", "s1"))
    await release(a, await claim(a, "critic", "s2"))
    await claim(a, "planner", "s3")
    # bob's critic claim runs out and the reaper records it
    await claim(b, "critic", "s4", ttl_s=0.1)
    # cat: critic, released
    await release(c, await claim(c, "critic", "s5"))
    for _ in range(100):
        r = await client.get(
            f"/v1/boards/{board}/events", params={"kind": "role.expired"}, headers=ADMIN
        )
        if r.json()["items"]:
            break
        await asyncio.sleep(0.05)
    abstain = f"/v1/boards/{board}/abstentions"
    await ok(
        client, "POST", abstain, b, {"role": "critic", "scope": "s6", "reason": "not my field"}
    )
    await ok(client, "POST", abstain, c, {"role": "planner", "reason": "no"})
    await ok(client, "POST", abstain, c, {"scope": "x", "reason": "busy"})

    tasks = f"/v1/boards/{board}/tasks"
    first = await ok(client, "POST", tasks, ADMIN, {"title": "one", "wants_type": "result"})
    await ok(client, "POST", tasks, ADMIN, {"title": "two"})
    assert (await ok(client, "POST", f"{tasks}/claim", c, {}))["id"] == first["id"]
    result = {"type": "result", "body": {"summary": "gamma", "status": "succeeded"}}
    await ok(client, "POST", f"/v1/tasks/{first['id']}/complete", c, {"artifact": result})

    artifacts = f"/v1/boards/{board}/artifacts"
    f1 = await ok(
        client, "POST", artifacts, a, {"type": "finding", "body": {"claim": "alpha beta"}}
    )
    k1 = await ok(
        client,
        "POST",
        artifacts,
        b,
        {
            "type": "critique",
            "body": {"target": "f1", "verdict": "revise", "issues": ["beta wrong"]},
            "parents": [f1["id"]],
        },
    )
    f2 = await ok(
        client, "POST", artifacts, c, {"type": "finding", "body": {"claim": "alpha beta"}}
    )
    await ok(
        client,
        "POST",
        artifacts,
        c,
        {
            "type": "decision",
            "body": {"question": "q", "choice": "alpha"},
            "parents": [f1["id"], k1["id"]],
        },
    )
    return {"board": board, "ann": ann, "bob": bob, "cat": cat, "f1": f1, "f2": f2}


def rate(part: int, whole: int) -> dict[str, Any]:
    return {"part": part, "whole": whole, "rate": part / whole if whole else None}


async def test_roles_over_time_and_role_flips(
    client: httpx.AsyncClient, scenario: dict[str, Any]
) -> None:
    roles = await metrics(client, scenario["board"], "roles", **WINDOW)
    assert roles["window_s"] == 3600
    (window,) = roles["windows"]
    assert window["claims"] == {"planner": 2, "critic": 3}
    assert window["distinct_roles"] == roles["distinct_roles"] == 2
    assert roles["totals"] == {"planner": 2, "critic": 3}
    flips = {f["agent_id"]: f for f in roles["agents"]}
    ann, bob, cat = (scenario[n]["id"] for n in ("ann", "bob", "cat"))
    assert flips[ann] == {"agent_id": ann, "claims": 3, "distinct_roles": 2, "flips": 2}
    assert flips[bob] == {"agent_id": bob, "claims": 1, "distinct_roles": 1, "flips": 0}
    assert flips[cat] == {"agent_id": cat, "claims": 1, "distinct_roles": 1, "flips": 0}


async def test_abstention_rates_per_agent_and_role(
    client: httpx.AsyncClient, scenario: dict[str, Any]
) -> None:
    m = await metrics(client, scenario["board"], "abstentions")
    assert m["total"] == 3
    ann, bob, cat = (scenario[n]["id"] for n in ("ann", "bob", "cat"))
    # decisions: abstentions + role claims + task claims
    assert m["by_agent"] == {ann: rate(0, 3), bob: rate(1, 2), cat: rate(2, 4)}
    # a role's: abstentions naming it over those + its claims; "busy" named no role
    assert m["by_role"] == {"critic": rate(1, 4), "planner": rate(1, 3)}


async def test_claim_success_and_lease_expiry(
    client: httpx.AsyncClient, scenario: dict[str, Any]
) -> None:
    m = await metrics(client, scenario["board"], "claims")
    assert m["overall"] == {
        "claimed": 5,
        "released": 3,
        "expired": 1,
        "active": 1,
        "success": rate(3, 4),
        "expiry": rate(1, 5),
    }
    assert m["by_role"]["planner"]["success"] == rate(1, 1)
    assert m["by_role"]["critic"]["success"] == rate(2, 3)
    assert m["by_role"]["critic"]["expiry"] == rate(1, 3)
    bob = m["by_agent"][scenario["bob"]["id"]]
    assert (bob["claimed"], bob["expired"], bob["success"]) == (1, 1, rate(0, 1))
    assert m["task_leases"] == 1 and m["task_lease_expiries"] == rate(0, 1)


async def test_task_completion_and_latency(
    client: httpx.AsyncClient, scenario: dict[str, Any]
) -> None:
    m = await metrics(client, scenario["board"], "tasks")
    assert (m["posted"], m["completed"], m["failed"], m["open"], m["leased"]) == (2, 1, 0, 1, 0)
    assert m["completion"] == rate(1, 2)
    latency = m["latency"]
    assert latency["count"] == 1
    assert 0 < latency["p50_s"] == latency["max_s"] < 30
    assert latency["mean_s"] == pytest.approx(latency["max_s"])


async def test_interaction_graph_from_parents(
    client: httpx.AsyncClient, scenario: dict[str, Any]
) -> None:
    g = await metrics(client, scenario["board"], "interactions")
    ann, bob, cat = (scenario[n]["id"] for n in ("ann", "bob", "cat"))
    edges = {
        (e["producer"], e["consumer"]): (e["built_on"], e["shown"], e["weight"]) for e in g["edges"]
    }
    # bob's critique built on ann's finding; cat's decision on both
    assert edges == {(ann, bob): (1, 0, 1), (ann, cat): (1, 0, 1), (bob, cat): (1, 0, 1)}
    nodes = {n["name"]: n["published"] for n in g["nodes"]}
    assert nodes == {"ann": 1, "bob": 1, "cat": 3}  # cat: finding, decision, task result


async def test_duplicate_work(client: httpx.AsyncClient, scenario: dict[str, Any]) -> None:
    m = await metrics(client, scenario["board"], "duplicates")
    (group,) = m["groups"]
    assert sorted(group["agents"]) == sorted([scenario["ann"]["id"], scenario["cat"]["id"]])
    assert group["artifacts"] == [scenario["f1"]["id"], scenario["f2"]["id"]]
    assert group["versions"] == 2
    assert group["content_hash"] == scenario["f1"]["content_hash"]
    assert m["artifacts"] == 1


async def test_communication_entropy(client: httpx.AsyncClient, scenario: dict[str, Any]) -> None:
    m = await metrics(client, scenario["board"], "entropy", **WINDOW)
    (w,) = m["windows"]
    # tokens: alpha x3, beta x3 (finding, critique, finding); f1, revise, wrong, q, gamma,
    # succeeded x1 — 12 in all, 8 distinct
    expected = -(2 * 0.25 * math.log2(0.25) + 6 * (1 / 12) * math.log2(1 / 12))
    assert (w["artifacts"], w["tokens"], w["distinct_tokens"]) == (5, 12, 8)
    assert w["entropy_bits"] == pytest.approx(expected, abs=1e-5)
    assert w["normalized"] == pytest.approx(expected / 3, abs=1e-5)
    # a new artifact counts from the next call on (the counts are kept between calls)
    await ok(
        client,
        "POST",
        f"/v1/boards/{scenario['board']}/artifacts",
        scenario["ann"]["headers"],
        {"type": "finding", "body": {"claim": "delta"}},
    )
    (w,) = (await metrics(client, scenario["board"], "entropy", **WINDOW))["windows"]
    assert (w["artifacts"], w["tokens"], w["distinct_tokens"]) == (6, 13, 9)


async def test_all_metrics_at_once_match_the_parts(
    client: httpx.AsyncClient, scenario: dict[str, Any]
) -> None:
    board = scenario["board"]
    whole = await metrics(client, board, **WINDOW)
    for part in (
        "roles",
        "abstentions",
        "claims",
        "tasks",
        "interactions",
        "entropy",
        "duplicates",
    ):
        assert whole[part] == await metrics(client, board, part, **WINDOW), part
    events = (
        await client.get(f"/v1/boards/{board}/events", params={"limit": 1000}, headers=ADMIN)
    ).json()
    assert whole["events"] == len(events["items"])


async def test_a_range_counts_only_what_happened_in_it(
    client: httpx.AsyncClient, scenario: dict[str, Any]
) -> None:
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    m = await metrics(client, scenario["board"], since=later)
    assert m["events"] == 0
    assert m["roles"]["totals"] == {} and m["claims"]["overall"]["claimed"] == 0
    assert m["tasks"]["posted"] == 0 and m["interactions"]["edges"] == []
    assert m["duplicates"]["groups"] == []
    earlier = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    everything = await metrics(client, scenario["board"], since=earlier)
    assert everything["claims"]["overall"]["claimed"] == 5
    # a range is read from the tables; the whole board partly from counts kept between
    # calls: both must say the same
    whole = await metrics(client, scenario["board"])
    for part in ("interactions", "duplicates", "claims", "tasks", "abstentions"):
        assert everything[part] == whole[part], part
    assert everything["roles"]["agents"] == whole["roles"]["agents"]


async def test_default_windows_cut_the_range_into_about_twenty(
    client: httpx.AsyncClient, scenario: dict[str, Any]
) -> None:
    since = datetime.now(UTC) - timedelta(hours=1)
    roles = await metrics(client, scenario["board"], "roles", since=since.isoformat())
    assert roles["window_s"] == 300  # an hour (and a bit) in five-minute windows
    assert 12 <= len(roles["windows"]) <= 14
    assert sum(sum(w["claims"].values()) for w in roles["windows"]) == 5


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"window_s": 0}, "ValidationFailed"),
        ({"window_s": "hourly"}, "ValidationFailed"),
        ({"since": "yesterday"}, "ValidationFailed"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "InvalidInput"),
        ({"since": "2020-01-01T00:00:00Z", "window_s": 1}, "InvalidInput"),  # too many windows
    ],
)
async def test_bad_ranges_are_refused(
    client: httpx.AsyncClient, actors: Actors, params: dict[str, Any], error: str
) -> None:
    board = (await actors.board())["id"]
    for part in ("", "/roles", "/entropy"):
        r = await client.get(f"/v1/boards/{board}/metrics{part}", params=params, headers=ADMIN)
        assert r.status_code == 422, r.text
        assert r.json()["error"] == error


async def test_unknown_board_and_no_token(client: httpx.AsyncClient, actors: Actors) -> None:
    r = await client.get(
        "/v1/boards/00000000-0000-0000-0000-000000000000/metrics/roles", headers=ADMIN
    )
    assert r.status_code == 404 and r.json()["error"] == "NotFound"
    board = (await actors.board())["id"]
    r = await client.get(f"/v1/boards/{board}/metrics")
    assert r.status_code == 401


async def test_an_empty_board_has_empty_metrics(client: httpx.AsyncClient, actors: Actors) -> None:
    board = (await actors.board())["id"]
    m = await metrics(client, board)
    assert m["roles"]["distinct_roles"] == 0
    assert m["abstentions"] == {"total": 0, "by_agent": {}, "by_role": {}}
    assert m["claims"]["overall"]["success"] == rate(0, 0)
    assert m["tasks"]["latency"] == {
        "count": 0,
        "mean_s": None,
        "p50_s": None,
        "p90_s": None,
        "max_s": None,
    }
    assert [w["tokens"] for w in m["entropy"]["windows"]] == [0]


async def test_duplicates_count_every_copy_once_a_second_agent_repeats_it(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = (await actors.board())["id"]
    ann, bob = await actors.agent("ann"), await actors.agent("bob")
    url = f"/v1/boards/{board}/artifacts"
    same = {"type": "finding", "body": {"claim": "same words"}}
    # counted between calls too: the first call sees one agent's copies only
    first = [await ok(client, "POST", url, ann["headers"], same) for _ in range(2)]
    assert (await metrics(client, board, "duplicates"))["groups"] == []
    last = await ok(client, "POST", url, bob["headers"], same)
    await ok(client, "POST", url, bob["headers"], {"type": "finding", "body": {"claim": "own"}})
    whole = await metrics(client, board, "duplicates")
    (group,) = whole["groups"]
    assert group["versions"] == 3 and whole["artifacts"] == 2
    assert group["artifacts"] == [a["id"] for a in [*first, last]]
    assert sorted(group["agents"]) == sorted([ann["id"], bob["id"]])
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    assert await metrics(client, board, "duplicates", since=since) == whole


async def test_the_metrics_endpoints_are_documented(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    expected = {
        "/v1/boards/{board_id}/metrics": "BoardMetrics",
        "/v1/boards/{board_id}/metrics/roles": "RoleMetrics",
        "/v1/boards/{board_id}/metrics/abstentions": "AbstentionMetrics",
        "/v1/boards/{board_id}/metrics/claims": "ClaimMetrics",
        "/v1/boards/{board_id}/metrics/tasks": "TaskMetrics",
        "/v1/boards/{board_id}/metrics/interactions": "InteractionGraph",
        "/v1/boards/{board_id}/metrics/entropy": "EntropyMetrics",
        "/v1/boards/{board_id}/metrics/duplicates": "DuplicateMetrics",
        "/v1/runs/{run_id}/metrics": "RunMetrics",
        "/v1/runs/compare": "RunComparison",
    }
    for path, model in expected.items():
        get = spec["paths"][path]["get"]
        schema = get["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model}"}, path
        assert get["description"] or get["summary"], path
    assert "entropy_bits" in spec["components"]["schemas"]["EntropyWindow"]["properties"]
