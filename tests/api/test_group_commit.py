"""Group commit of claims and completions: requests for one board that arrive while a
write for it runs share the next one, and each still gets its own outcome."""

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import httpx
import psycopg
from fastapi import FastAPI

from blackboard.services.group_commit import GroupCommit
from tests.support.api import ADMIN, Actors, count_rows
from tests.support.tasks import claim, complete, post_task


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


async def hold_tasks(
    client: httpx.AsyncClient,
    board: dict[str, Any],
    agents: list[dict[str, Any]],
    lease_s: list[float],
) -> list[dict[str, Any]]:
    """Each agent claims a task (posted for it here, "held <i>") for its lease; return
    the tasks."""
    held = []
    for i, (agent, lease) in enumerate(zip(agents, lease_s, strict=True)):
        await post_task(client, board, title=f"held {i}")
        r = await claim(client, board, agent, lease_s=lease)
        assert r.status_code == 200, r.text
        held.append(r.json())
    return held


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
    groups = app.state.services.board_writes
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
    held = await hold_tasks(client, board, agents, [60, 60, 60, 0.5])

    def done(i: int) -> Awaitable[httpx.Response]:
        return complete(client, held[i]["id"], agents[i], body={"summary": f"by {i}"})

    async with board_locked(database_url, board["id"]):
        writer = started(done(0))
        await asyncio.sleep(0.1)
        group = [started(done(i)) for i in (1, 2, 3)]
        await queued(app.state.services.board_writes, board["id"], 3)
        await asyncio.sleep(0.6)  # the last holder's lease runs out while it waits
    answers = [await writer] + [await r for r in group]
    assert [a.status_code for a in answers] == [200, 200, 200, 409], [a.text for a in answers]
    assert answers[3].json()["error"] == "LeaseLost"
    assert app.state.services.board_writes.groups == 1
    assert count_rows(db, "artifacts") == 3
    rows = db.execute("SELECT title, status, result_id IS NOT NULL FROM tasks ORDER BY title")
    assert [r[:1] + r[2:] for r in rows.fetchall()] == [
        ("held 0", True),
        ("held 1", True),
        ("held 2", True),
        ("held 3", False),
    ]
    completions = db.execute("SELECT count(*) FROM events WHERE kind = 'task.completed'").fetchone()
    assert completions == (3,)
    for i in range(3):
        task = answers[i].json()["task"]
        assert task["id"] == held[i]["id"] and task["status"] == "completed"
        assert task["result_id"] == answers[i].json()["artifact"]["id"]


async def test_claims_and_completions_that_arrive_together_commit_as_one_transaction(
    app: FastAPI,
    client: httpx.AsyncClient,
    actors: Actors,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    board = await actors.board()
    finishers = [await actors.agent() for _ in range(3)]
    claimers = [await actors.agent() for _ in range(2)]
    held = await hold_tasks(client, board, finishers, [60, 60, 60])
    await post_task(client, board, title="next 0")
    await post_task(client, board, title="next 1")
    writes = app.state.services.board_writes

    def done(i: int) -> Awaitable[httpx.Response]:
        return complete(client, held[i]["id"], finishers[i], body={"summary": f"by {i}"})

    async with board_locked(database_url, board["id"]):
        writer = started(done(0))
        await asyncio.sleep(0.1)  # it waits in its statement for the board's lock
        group = [started(done(1)), started(claim(client, board, claimers[0]))]
        group += [started(done(2)), started(claim(client, board, claimers[1]))]
        await queued(writes, board["id"], 4)
    answers = [await writer] + [await r for r in group]
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    assert writes.groups == 1 and writes.grouped == 4
    got = sorted(answers[i].json()["title"] for i in (2, 4))
    assert got == ["next 0", "next 1"]
    # one transaction: its events were committed together, the results' first
    rows = db.execute(
        "SELECT kind, xmin::text FROM events WHERE board_id = %s ORDER BY seq DESC LIMIT 6",
        (board["id"],),
    ).fetchall()
    assert [kind for kind, _ in reversed(rows)] == [
        "artifact.published",
        "artifact.published",
        "task.completed",
        "task.completed",
        "task.claimed",
        "task.claimed",
    ]
    assert len({xmin for _, xmin in rows}) == 1


async def test_a_failing_completion_in_a_group_with_claims_fails_alone(
    app: FastAPI,
    client: httpx.AsyncClient,
    actors: Actors,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    board = await actors.board()
    finishers = [await actors.agent() for _ in range(3)]
    claimer = await actors.agent()
    held = await hold_tasks(client, board, finishers, [60, 60, 0.5])
    await post_task(client, board, title="open")

    def done(i: int) -> Awaitable[httpx.Response]:
        return complete(client, held[i]["id"], finishers[i], body={"summary": f"by {i}"})

    async with board_locked(database_url, board["id"]):
        writer = started(done(0))
        await asyncio.sleep(0.1)
        group = [started(done(1)), started(done(2)), started(claim(client, board, claimer))]
        await queued(app.state.services.board_writes, board["id"], 3)
        await asyncio.sleep(0.6)  # the last finisher's lease runs out while it waits
    answers = [await writer] + [await r for r in group]
    assert [a.status_code for a in answers] == [200, 200, 409, 200], [a.text for a in answers]
    assert answers[2].json()["error"] == "LeaseLost"
    # the claim was written all the same: the lapsed lease is older than the open task,
    # so it is taken back and handed to the claimer as a second attempt
    assert answers[3].json()["id"] == held[2]["id"] and answers[3].json()["attempt"] == 2
    assert count_rows(db, "artifacts") == 2
    statuses = db.execute(
        "SELECT title, status FROM tasks WHERE board_id = %s ORDER BY title", (board["id"],)
    ).fetchall()
    assert statuses == [
        ("held 0", "completed"),
        ("held 1", "completed"),
        ("held 2", "leased"),
        ("open", "open"),
    ]


async def test_posts_that_arrive_together_share_a_transaction_and_keep_their_order(
    app: FastAPI,
    client: httpx.AsyncClient,
    actors: Actors,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    board = await actors.board()
    claimers = [await actors.agent() for _ in range(3)]
    writes = app.state.services.board_writes

    async with board_locked(database_url, board["id"]):
        writer = started(post_task(client, board, title="p0"))
        await asyncio.sleep(0.1)  # it waits in its statement for the board's lock
        group = [started(post_task(client, board, title=f"p{i}")) for i in (1, 2, 3)]
        await queued(writes, board["id"], 3)
        claimed = started(claim(client, board, claimers[0]))
        await queued(writes, board["id"], 4)
    posted = [await writer] + [await p for p in group]
    assert [p["title"] for p in posted] == ["p0", "p1", "p2", "p3"]
    assert (await claimed).json()["title"] == "p0"  # posted (and committed) first
    assert writes.groups == 1 and writes.grouped == 4
    rows = db.execute(
        "SELECT kind, data->>'title', xmin::text FROM events WHERE board_id = %s"
        " ORDER BY seq DESC LIMIT 4",
        (board["id"],),
    ).fetchall()
    kinds = [kind for kind, _, _ in reversed(rows)]
    assert kinds == ["task.posted"] * 3 + ["task.claimed"]
    assert len({xmin for _, _, xmin in rows}) == 1
    in_order = [title for _, title, _ in reversed(rows[1:])]  # as the group had them
    assert sorted(in_order) == ["p1", "p2", "p3"]
    # posted in one statement, they are still claimed oldest first, in the order they came
    titles = [(await claim(client, board, a)).json()["title"] for a in claimers[1:]]
    assert titles == in_order[:2]


async def test_a_conflicting_publish_in_a_mixed_group_fails_alone_and_the_rest_is_written(
    app: FastAPI,
    client: httpx.AsyncClient,
    actors: Actors,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    board = await actors.board()
    author, claimer = await actors.agent(), await actors.agent()
    writes = app.state.services.board_writes

    def publish(key: str, **fields: Any) -> Awaitable[httpx.Response]:
        return client.post(
            f"/v1/boards/{board['id']}/artifacts",
            json={"type": "finding", "key": key, "body": {"claim": key}, **fields},
            headers=author["headers"],
        )

    assert (await publish("plan")).status_code == 201
    await post_task(client, board, title="open")
    before = {t: count_rows(db, t) for t in ("artifacts", "tasks", "events")}

    async with board_locked(database_url, board["id"]):
        writer = started(publish("first"))
        await asyncio.sleep(0.1)  # it waits in its statement for the board's lock
        stale = started(publish("plan", expected_version=0))
        fresh = started(publish("plan", expected_version=1))
        posted = started(post_task(client, board, title="new"))
        claimed = started(claim(client, board, claimer))
        await queued(writes, board["id"], 4)
    assert (await writer).status_code == 201
    conflict, ok, new, taken = [await r for r in (stale, fresh, posted, claimed)]
    assert writes.groups == 1 and writes.grouped == 4
    assert conflict.status_code == 409, conflict.text
    assert conflict.json()["error"] == "VersionConflict"
    assert conflict.json()["current_version"] == 1
    assert ok.status_code == 201, ok.text
    assert (ok.json()["key"], ok.json()["version"]) == ("plan", 2)
    assert new["title"] == "new"
    assert taken.status_code == 200, taken.text
    assert taken.json()["title"] == "open"  # the oldest open task
    # exactly the successful writes: two versions, one task, and one event for each
    after = {t: count_rows(db, t) for t in ("artifacts", "tasks", "events")}
    assert after == {
        "artifacts": before["artifacts"] + 2,
        "tasks": before["tasks"] + 1,
        "events": before["events"] + 4,
    }
    versions = db.execute(
        "SELECT key, version FROM artifacts WHERE board_id = %s ORDER BY key, version",
        (board["id"],),
    ).fetchall()
    assert versions == [("first", 1), ("plan", 1), ("plan", 2)]
    tasks = db.execute(
        "SELECT title, status FROM tasks WHERE board_id = %s ORDER BY title", (board["id"],)
    ).fetchall()
    assert tasks == [("new", "open"), ("open", "leased")]
