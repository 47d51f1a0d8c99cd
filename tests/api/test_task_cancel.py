"""Cancelling a task over REST: only its poster (or the operator), only while open, logged;
and a cancel racing agents' claims leaves each task either cancelled or taken, never both."""

import asyncio
from typing import Any

import httpx
import psycopg

from tests.support.api import ADMIN, Actors


async def post(client: httpx.AsyncClient, board: dict[str, Any], poster: dict[str, Any]) -> str:
    r = await client.post(
        f"/v1/boards/{board['id']}/tasks", json={"title": "t"}, headers=poster["headers"]
    )
    assert r.status_code == 201, r.text
    task_id: str = r.json()["id"]
    return task_id


async def test_the_poster_cancels_an_open_task_once(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board, poster, other = await actors.board(), await actors.agent(), await actors.agent()
    task_id = await post(client, board, poster)

    refused = await client.post(f"/v1/tasks/{task_id}/cancel", headers=other["headers"])
    assert refused.status_code == 403 and refused.json()["error"] == "Forbidden"
    done = await client.post(f"/v1/tasks/{task_id}/cancel", headers=poster["headers"])
    assert done.status_code == 200 and done.json()["status"] == "cancelled"
    again = await client.post(f"/v1/tasks/{task_id}/cancel", headers=poster["headers"])
    assert again.status_code == 409
    assert again.json()["error"] == "Conflict" and again.json()["status"] == "cancelled"

    listed = await client.get(
        f"/v1/boards/{board['id']}/tasks", params={"status": "cancelled"}, headers=ADMIN
    )
    assert [t["id"] for t in listed.json()["items"]] == [task_id]
    metrics = await client.get(f"/v1/boards/{board['id']}/metrics/tasks", headers=ADMIN)
    assert metrics.json()["cancelled"] == 1 and metrics.json()["open"] == 0
    kinds = db.execute(
        "SELECT kind FROM events WHERE subject_id = %s ORDER BY seq", (task_id,)
    ).fetchall()
    assert kinds == [("task.posted",), ("task.cancelled",)]


async def test_a_held_task_is_not_cancelled_and_the_operator_may_cancel_any(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board, poster, worker = await actors.board(), await actors.agent(), await actors.agent()
    held, spare = await post(client, board, poster), await post(client, board, poster)
    r = await client.post(f"/v1/boards/{board['id']}/tasks/claim", headers=worker["headers"])
    assert r.json()["id"] == held

    refused = await client.post(f"/v1/tasks/{held}/cancel", headers=poster["headers"])
    assert refused.status_code == 409 and refused.json()["status"] == "leased"
    by_admin = await client.post(f"/v1/tasks/{spare}/cancel", headers=ADMIN)
    assert by_admin.status_code == 200
    missing = await client.post(
        "/v1/tasks/00000000-0000-0000-0000-000000000000/cancel", headers=ADMIN
    )
    assert missing.status_code == 404
    rows = db.execute("SELECT id::text, status FROM tasks ORDER BY created_at").fetchall()
    assert rows == [(held, "leased"), (spare, "cancelled")]


async def test_cancels_racing_claims_leave_each_task_cancelled_or_taken_never_both(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board, poster = await actors.board(), await actors.agent()
    workers = [await actors.agent() for _ in range(8)]
    posted = [await post(client, board, poster) for _ in range(60)]
    taken: list[str] = []
    cancelled: list[str] = []
    cancelling = asyncio.Event()

    async def work(agent: dict[str, Any]) -> None:
        # a claim skips the rows a cancel has locked: "nothing" is final only once the
        # cancels are over
        while True:
            r = await client.post(f"/v1/boards/{board['id']}/tasks/claim", headers=agent["headers"])
            if r.status_code == 204:
                if cancelling.is_set():
                    return
                await asyncio.sleep(0.01)
                continue
            assert r.status_code == 200, r.text
            taken.append(r.json()["id"])

    async def cancel(task_id: str) -> None:
        r = await client.post(f"/v1/tasks/{task_id}/cancel", headers=poster["headers"])
        assert r.status_code in (200, 409), r.text
        if r.status_code == 200:
            cancelled.append(task_id)

    async def cancel_all() -> None:
        # newest first, while claims take the oldest first: they meet in the middle (a few
        # at a time: all at once, they would hold every pooled connection till they are done)
        newest_first = posted[::-1]
        for i in range(0, len(newest_first), 4):
            await asyncio.gather(*(cancel(t) for t in newest_first[i : i + 4]))
        cancelling.set()

    await asyncio.gather(*(work(a) for a in workers), cancel_all())
    assert not set(taken) & set(cancelled), "a task was both handed out and cancelled"
    assert sorted(taken + cancelled) == sorted(posted)
    assert taken and cancelled, "the race did not happen: one side got everything"
    statuses = dict(db.execute("SELECT status, count(*) FROM tasks GROUP BY status").fetchall())
    assert statuses == {"leased": len(taken), "cancelled": len(cancelled)}
