"""Group commit of claims and completions: requests for one board that arrive while a
statement for it runs share the next statement, and each still gets its own outcome."""

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import httpx
import psycopg
from fastapi import FastAPI

from blackboard.services.group_commit import GroupCommit
from tests.api.test_tasks import claim, complete, post_task
from tests.conftest import ADMIN, Actors, count_rows


@asynccontextmanager
async def board_locked(database_url: str, board_id: str) -> AsyncIterator[None]:
    """Hold the lock on the board's event counter (which every write to the board takes
    last) until the block ends: the first write waits in its statement, and later ones
    queue behind it."""
    async with await psycopg.AsyncConnection.connect(database_url) as blocker:
        await blocker.execute(
            "SELECT 1 FROM board_seqs WHERE board_id = %s FOR UPDATE", (board_id,)
        )
        yield


async def queued(groups: GroupCommit[Any, Any], board_id: str, count: int) -> None:
    """Wait until `count` requests for the board wait for the next statement."""

    async def enough() -> None:
        while groups.waiting(UUID(board_id)) < count:  # noqa: ASYNC110 (no event to wait on)
            await asyncio.sleep(0.01)

    await asyncio.wait_for(enough(), 10)


def started(request: Awaitable[httpx.Response]) -> "asyncio.Task[httpx.Response]":
    return asyncio.ensure_future(request)


async def test_claims_that_arrive_together_share_a_statement_and_each_gets_a_task_it_may_take(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors, database_url: str
) -> None:
    board = await actors.board()
    first, plain, sql, picky = [await actors.agent() for _ in range(2)] + [
        await actors.agent(capabilities=["sql"]),
        await actors.agent(),
    ]
    t0 = await post_task(client, board, title="t0")
    t1 = await post_task(client, board, title="t1", required_capabilities=["sql"])
    t2 = await post_task(client, board, title="t2")
    t3 = await post_task(client, board, title="t3")
    declined = await client.post(
        f"/v1/tasks/{t2['id']}/abstain", json={"reason": "not mine"}, headers=picky["headers"]
    )
    assert declined.status_code == 200, declined.text
    groups = app.state.claim_groups
    async with board_locked(database_url, board["id"]):
        writer = started(claim(client, board, first))
        await asyncio.sleep(0.1)  # it leases t0, then waits for the board's lock
        # the one that declined t2 first: were that ignored, it would take t2
        others = [started(claim(client, board, a)) for a in (picky, sql, plain)]
        await queued(groups, board["id"], 3)
    assert (await writer).json()["id"] == t0["id"]
    got = {
        name: (await r).json()["id"]
        for name, r in zip(("picky", "sql", "plain"), others, strict=True)
    }
    assert groups.groups == 1 and groups.grouped == 3
    # whatever order they queued in, each got a different task that it may take
    assert sorted(got.values()) == sorted([t1["id"], t2["id"], t3["id"]])
    assert got["sql"] == t1["id"]  # the only agent that may take it
    assert got["picky"] != t2["id"]  # declined
    events = await client.get(
        f"/v1/boards/{board['id']}/events", params={"kind": "task.claimed"}, headers=ADMIN
    )
    claimed = [e["subject_id"] for e in events.json()["items"]]
    assert sorted(claimed) == sorted([t0["id"], t1["id"], t2["id"], t3["id"]])


async def test_a_completion_whose_lease_ran_out_fails_alone_and_its_group_completes(
    app: FastAPI,
    client: httpx.AsyncClient,
    actors: Actors,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    board = await actors.board()
    agents = [await actors.agent() for _ in range(4)]
    for i in range(4):
        await post_task(client, board, title=f"t{i}")
    held: list[dict[str, Any]] = []
    for i, agent in enumerate(agents):
        r = await claim(client, board, agent, lease_s=0.5 if i == 3 else 60)
        assert r.status_code == 200, r.text
        held.append(r.json())

    def done(i: int) -> Awaitable[httpx.Response]:
        return complete(client, held[i]["id"], agents[i], body={"summary": f"by {i}"})

    async with board_locked(database_url, board["id"]):
        writer = started(done(0))
        await asyncio.sleep(0.1)
        group = [started(done(i)) for i in (1, 2, 3)]
        await queued(app.state.coalescer, board["id"], 3)
        await asyncio.sleep(0.6)  # the last holder's lease runs out while it waits
    answers = [await writer] + [await r for r in group]
    assert [a.status_code for a in answers] == [200, 200, 200, 409], [a.text for a in answers]
    assert answers[3].json()["error"] == "LeaseLost"
    assert app.state.coalescer.groups == 1
    assert count_rows(db, "artifacts") == 3
    rows = db.execute("SELECT title, status, result_id IS NOT NULL FROM tasks ORDER BY title")
    assert [r[:1] + r[2:] for r in rows.fetchall()] == [
        ("t0", True),
        ("t1", True),
        ("t2", True),
        ("t3", False),
    ]
    completions = db.execute("SELECT count(*) FROM events WHERE kind = 'task.completed'").fetchone()
    assert completions == (3,)
    for i in range(3):
        task = answers[i].json()["task"]
        assert task["id"] == held[i]["id"] and task["status"] == "completed"
        assert task["result_id"] == answers[i].json()["artifact"]["id"]
