"""A run's population metrics and run comparison, on runs whose turns external agents take
over HTTP exactly as scripted here."""

import math
from typing import Any

import httpx
import pytest

from tests.support.api import ADMIN, Actors
from tests.support.runs import finished, start
from tests.support.turns import FINDING, complete


async def run_metrics(client: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/runs/{run_id}/metrics", headers=ADMIN)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_run_metrics(client: httpx.AsyncClient, run: dict[str, Any]) -> None:
    m = await run_metrics(client, run["run"]["id"])
    ann, bob, cat = (run[n]["id"] for n in ("ann", "bob", "cat"))
    s = m["summary"]
    assert s["protocol"] == "sequential" and s["status"] == "stopped"
    assert s["stop_reason"].startswith("repeat")
    assert s["turns"] == {
        "total": 5,
        "completed": 4,
        "abstained": 1,
        "timed_out": 0,
        "invalid": 0,
        "offered": 0,
    }
    assert s["abstention_rate"] == pytest.approx(1 / 5)
    assert s["roles"] == {"planner": 1, "critic": 3} and s["distinct_roles"] == 2
    assert s["artifacts"] == 4 and s["duplicate_artifacts"] == 1
    assert s["wall_time_s"] > 0
    assert s["tokens"] == run["detail"]["run"]["tokens_used"]
    assert m["rounds"] == [
        {"round": 1, "roles": {"planner": 1, "critic": 1}, "distinct_roles": 2},
        {"round": 2, "roles": {"critic": 2}, "distinct_roles": 1},
    ]
    flips = {f["agent_id"]: (f["claims"], f["distinct_roles"], f["flips"]) for f in m["agents"]}
    assert flips == {ann: (2, 2, 1), bob: (2, 1, 0)}
    by_agent = {a: r["rate"] for a, r in m["abstentions"]["by_agent"].items()}
    assert by_agent == {ann: 0.0, bob: 0.0, cat: 1.0} and m["abstentions"]["total"] == 1
    # tokens: alpha x2, beta x3, plan, revise, x, accept — 9 in all
    expected = -(2 / 9 * math.log2(2 / 9) + 3 / 9 * math.log2(3 / 9) + 4 / 9 * math.log2(1 / 9))
    assert m["entropy_bits"] == pytest.approx(expected, abs=1e-5)
    (group,) = m["duplicates"]["groups"]
    assert sorted(group["agents"]) == sorted([ann, bob])


async def test_run_interactions_count_parents_and_what_turns_were_shown(
    client: httpx.AsyncClient, run: dict[str, Any]
) -> None:
    m = await run_metrics(client, run["run"]["id"])
    turns = run["detail"]["turns"]
    author = {
        str(a): t["agent_id"] for t in turns for a in t["artifact_ids"]
    }  # every artifact of the run, by who published it
    shown: dict[tuple[str, str], int] = {}
    for t in turns:
        for s in t["manifest"]["shown"]:
            producer = author.get(s["id"])
            if producer and producer != t["agent_id"]:
                key = (producer, t["agent_id"])
                shown[key] = shown.get(key, 0) + 1
    ann, bob = run["ann"]["id"], run["bob"]["id"]
    assert shown, "the sequential view shows predecessors' work"
    edges = {(e["producer"], e["consumer"]): e for e in m["interactions"]["edges"]}
    assert {k: e["shown"] for k, e in edges.items() if e["shown"]} == shown
    assert {k: e["built_on"] for k, e in edges.items() if e["built_on"]} == {(ann, bob): 1}
    assert all(e["weight"] == e["shown"] + e["built_on"] for e in edges.values())


async def test_compare_runs_side_by_side(
    client: httpx.AsyncClient, actors: Actors, run: dict[str, Any]
) -> None:
    board = await actors.board()
    solo = await start(client, board, protocol="solo", roster=[run["ann"]["id"]])
    await complete(client, run["ann"], "solver", FINDING)
    await finished(client, solo["id"])
    r = await client.get(
        "/v1/runs/compare", params={"run_id": [solo["id"], run["run"]["id"]]}, headers=ADMIN
    )
    assert r.status_code == 200, r.text
    rows = r.json()["runs"]
    assert [x["run_id"] for x in rows] == [solo["id"], run["run"]["id"]]
    assert [x["protocol"] for x in rows] == ["solo", "sequential"]
    assert [x["turns"]["total"] for x in rows] == [1, 5]
    assert [x["distinct_roles"] for x in rows] == [1, 2]
    assert [x["duplicate_artifacts"] for x in rows] == [0, 1]
    assert rows[1] == (await run_metrics(client, run["run"]["id"]))["summary"] | {
        "wall_time_s": rows[1]["wall_time_s"]
    }


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({}, 422),
        ({"run_id": "not-a-uuid"}, 422),
        ({"run_id": ["00000000-0000-0000-0000-000000000000"] * 21}, 422),
        ({"run_id": "00000000-0000-0000-0000-000000000000"}, 404),
    ],
)
async def test_compare_refuses_bad_run_ids(
    client: httpx.AsyncClient, params: dict[str, Any], status: int
) -> None:
    r = await client.get("/v1/runs/compare", params=params, headers=ADMIN)
    assert r.status_code == status, r.text
    assert r.json()["detail"]


async def test_metrics_of_an_unknown_run(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/runs/00000000-0000-0000-0000-000000000000/metrics", headers=ADMIN)
    assert r.status_code == 404 and r.json()["error"] == "NotFound"
