"""Renewals are counted on the row, not logged; a run's turn claims end with the run."""

import asyncio
from typing import Any

import httpx
import psycopg

from tests.support.api import ADMIN, Actors, count_rows


async def test_renewing_a_claim_or_heartbeating_a_task_appends_no_event(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board, agent = await actors.board(), await actors.agent()
    base = f"/v1/boards/{board['id']}"
    claim = await client.post(
        f"{base}/claims", json={"role": "critic", "ttl_s": 30}, headers=agent["headers"]
    )
    assert claim.status_code == 201 and claim.json()["renewals"] == 0
    assert claim.json()["renewed_at"] is None
    task = await client.post(f"{base}/tasks", json={"title": "t"}, headers=ADMIN)
    leased = await client.post(f"{base}/tasks/claim", headers=agent["headers"])
    assert leased.json()["id"] == task.json()["id"]
    events_before = count_rows(db, "events")
    renewed = await client.post(
        f"/v1/claims/{claim.json()['id']}/renew", json={"ttl_s": 60}, headers=agent["headers"]
    )
    again = await client.post(
        f"{base}/claims", json={"role": "critic", "ttl_s": 60}, headers=agent["headers"]
    )
    beat = await client.post(
        f"/v1/tasks/{task.json()['id']}/heartbeat", json={"lease_s": 60}, headers=agent["headers"]
    )
    assert renewed.status_code == 200 and renewed.json()["renewals"] == 1
    assert again.json()["id"] == claim.json()["id"] and again.json()["renewals"] == 2
    assert again.json()["renewed_at"] >= renewed.json()["renewed_at"] > claim.json()["created_at"]
    assert beat.status_code == 200 and beat.json()["renewals"] == 1 and beat.json()["renewed_at"]
    assert count_rows(db, "events") == events_before
    kinds = db.execute("SELECT DISTINCT kind FROM events").fetchall()
    assert ("role.renewed",) not in kinds
    stored = (await client.get(f"/v1/claims/{claim.json()['id']}", headers=ADMIN)).json()
    assert stored["renewals"] == 2


async def test_a_completed_run_leaves_no_active_or_expired_turn_claim(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board = await actors.board()
    agents = []
    for role in ("planner", "researcher", "critic"):
        r = await client.post(
            "/v1/agents",
            json={"name": f"{role}-{board['id']}", "capabilities": [role],
                  "model": f"scripted:{role}"},
            headers=ADMIN,
        )  # fmt: skip
        agents.append(r.json())
    run = await client.post(
        f"/v1/boards/{board['id']}/runs",
        json={"goal": "Boil water", "protocol": "sequential", "roster": [a["id"] for a in agents]},
        headers=ADMIN,
    )
    assert run.status_code == 201, run.text
    for _ in range(600):
        detail = (await client.get(f"/v1/runs/{run.json()['id']}", headers=ADMIN)).json()
        if detail["run"]["status"] in ("completed", "stopped"):
            break
        await asyncio.sleep(0.05)
    assert detail["run"]["status"] == "completed", detail["run"]
    claim_ids = [t["claim_id"] for t in detail["turns"] if t["claim_id"]]
    assert claim_ids
    claims = (await client.get(f"/v1/boards/{board['id']}/claims", headers=ADMIN)).json()
    turn_claims = [c for c in claims["items"] if c["id"] in claim_ids]
    assert {c["status"] for c in turn_claims} == {"released"}
    assert all(c["ended_at"] for c in turn_claims)
    released = db.execute(
        "SELECT subject_id::text FROM events WHERE kind = 'role.released'"
    ).fetchall()
    assert sorted(r[0] for r in released) == sorted(claim_ids)
    # released before the run's own end is logged
    order = db.execute(
        "SELECT kind FROM events WHERE kind IN ('role.released', 'run.completed') ORDER BY seq"
    ).fetchall()
    assert order[-1] == ("run.completed",)
    metrics = await client.get(f"/v1/boards/{board['id']}/metrics/claims", headers=ADMIN)
    assert metrics.status_code == 200, metrics.text
    overall = metrics.json()["overall"]
    assert (overall["claimed"], overall["released"]) == (len(claim_ids), len(claim_ids))
    assert overall["expired"] == 0 and overall["active"] == 0
    assert overall["success"]["rate"] == 1.0
