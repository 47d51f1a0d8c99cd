"""Tasks over the real API: claimed with SKIP LOCKED, leased, completed once or failed."""

import asyncio
from collections import Counter, defaultdict
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from blackboard.services import tasks
from tests.support.api import ADMIN, Actors, count_rows
from tests.support.tasks import claim, complete, post_task


async def test_32_agents_drain_1000_tasks_each_done_exactly_once(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board = await actors.board()
    agents = [await actors.agent() for _ in range(32)]
    posted = await asyncio.gather(*(post_task(client, board, title=f"t{i}") for i in range(1000)))
    holders: dict[str, list[str]] = defaultdict(list)
    completed_by: Counter[str] = Counter()

    async def worker(agent: dict[str, Any]) -> None:
        while True:
            r = await claim(client, board, agent)
            if r.status_code == 204:
                return
            assert r.status_code == 200, r.text
            task = r.json()
            holders[task["id"]].append(agent["id"])
            done = await complete(client, task["id"], agent, body={"summary": task["title"]})
            assert done.status_code == 200, done.text
            completed_by[agent["id"]] += 1

    await asyncio.gather(*(worker(a) for a in agents))
    assert set(holders) == {t["id"] for t in posted}
    assert all(len(h) == 1 for h in holders.values()), "a task was handed to two agents"
    assert sum(completed_by.values()) == 1000
    assert len(completed_by) > 1, "only one agent ever got work"
    rows = db.execute("SELECT status, count(*) FROM tasks GROUP BY status").fetchall()
    assert rows == [("completed", 1000)]
    assert count_rows(db, "artifacts") == 1000
    per_task = db.execute(
        "SELECT count(*) FROM task_attempts GROUP BY task_id HAVING count(*) <> 1"
    ).fetchall()
    assert per_task == []
    mismatched = db.execute(
        """SELECT count(*) FROM tasks t JOIN artifacts a ON a.id = t.result_id
           WHERE a.author_id <> t.holder_id OR a.body->>'summary' <> t.title"""
    ).fetchone()
    assert mismatched == (0,)
    # and the claims and completions that arrived together were written together
    assert app.state.services.board_writes.groups > 0


async def test_a_lapsed_lease_is_taken_back_before_newer_tasks_are_claimed(
    settings: Any,
) -> None:
    # No reaper in the window (it would take the lease back on its own): the claim must.
    from api import create_app

    app = create_app(settings.model_copy(update={"reaper_interval_s": 3600.0}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bb.test") as c:
            actors = Actors(c)
            board, silent, live = await actors.board(), await actors.agent(), await actors.agent()
            older = await post_task(c, board, title="older")
            assert (await claim(c, board, silent, lease_s=0.2)).json()["id"] == older["id"]
            newer = await post_task(c, board, title="newer")
            await asyncio.sleep(0.3)
            taken = await claim(c, board, live)
            assert taken.status_code == 200
            assert (taken.json()["id"], taken.json()["attempt"]) == (older["id"], 2)
            again = await claim(c, board, live)
            assert again.json()["id"] == newer["id"]
            events = (await c.get(f"/v1/boards/{board['id']}/events", headers=ADMIN)).json()
        kinds = [
            (e["kind"], e["subject_id"])
            for e in events["items"]
            if e["kind"].startswith("task.") and e["kind"] != "task.posted"
        ]
        assert kinds == [
            ("task.claimed", older["id"]),
            ("task.lease_expired", older["id"]),
            ("task.claimed", older["id"]),
            ("task.claimed", newer["id"]),
        ]


# A process completes the tasks it handed out without reading them first (the statement
# checks the lease); a task handed out by another process is read first. Both must refuse
# what they refuse alike: "another process" starts these tests' completions with a cold
# `tasks.KNOWN`, as a second `blackboard serve` would.
ELSEWHERE = pytest.mark.parametrize(
    "elsewhere", [False, True], ids=["claimed here", "claimed in another process"]
)


def handed_out(elsewhere: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if elsewhere:
        monkeypatch.setattr(tasks, "KNOWN", tasks.KnownTasks())


@ELSEWHERE
async def test_a_silent_holder_loses_the_task_and_its_late_complete_is_refused(
    client: httpx.AsyncClient,
    actors: Actors,
    db: psycopg.Connection[Any],
    elsewhere: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    board = await actors.board()
    silent, live = await actors.agent(), await actors.agent()
    task = await post_task(client, board, wants_type="result")
    first = await claim(client, board, silent, lease_s=0.2)
    assert first.status_code == 200 and first.json()["attempt"] == 1
    assert (await claim(client, board, live)).status_code == 204  # leased, not offered
    await asyncio.sleep(0.3)
    second = await claim(client, board, live)
    assert second.status_code == 200
    assert second.json()["id"] == task["id"] and second.json()["attempt"] == 2
    assert second.json()["lease_token"] > first.json()["lease_token"]
    handed_out(elsewhere, monkeypatch)
    late = await complete(client, task["id"], silent)
    assert late.status_code == 409 and late.json()["error"] == "LeaseLost"
    heartbeat = await client.post(
        f"/v1/tasks/{task['id']}/heartbeat", json={}, headers=silent["headers"]
    )
    assert heartbeat.status_code == 409
    assert count_rows(db, "artifacts") == 0
    done = await complete(client, task["id"], live)
    assert done.status_code == 200
    assert done.json()["task"]["status"] == "completed"
    assert done.json()["artifact"]["author_id"] == live["id"]
    assert count_rows(db, "artifacts") == 1
    detail = (await client.get(f"/v1/tasks/{task['id']}", headers=ADMIN)).json()
    assert [(a["attempt"], a["agent_id"], a["outcome"]) for a in detail["attempts"]] == [
        (1, silent["id"], "lease_expired"),
        (2, live["id"], "completed"),
    ]
    kinds = [
        e["kind"]
        for e in (await client.get(f"/v1/boards/{board['id']}/events", headers=ADMIN)).json()[
            "items"
        ]
        if e["kind"].startswith("task.")
    ]
    assert kinds == [
        "task.posted",
        "task.claimed",
        "task.lease_expired",
        "task.claimed",
        "task.completed",
    ]


async def test_heartbeat_keeps_the_lease(client: httpx.AsyncClient, actors: Actors) -> None:
    board = await actors.board()
    holder, other = await actors.agent(), await actors.agent()
    task = await post_task(client, board)
    assert (await claim(client, board, holder, lease_s=0.3)).status_code == 200
    for _ in range(3):
        await asyncio.sleep(0.15)
        hb = await client.post(
            f"/v1/tasks/{task['id']}/heartbeat", json={"lease_s": 0.3}, headers=holder["headers"]
        )
        assert hb.status_code == 200
    assert (await claim(client, board, other)).status_code == 204
    assert (await complete(client, task["id"], holder)).status_code == 200


async def test_a_task_that_fails_max_attempts_times_ends_failed_with_every_attempt(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    agent = await actors.agent()
    task = await post_task(client, board, max_attempts=3)
    for i in range(3):
        r = await claim(client, board, agent)
        assert r.status_code == 200, f"attempt {i + 1} was not offered"
        failed = await client.post(
            f"/v1/tasks/{task['id']}/fail",
            json={"reason": f"boom {i + 1}", "retry": True, "retry_after_s": 0},
            headers=agent["headers"],
        )
        assert failed.status_code == 200
    assert failed.json()["status"] == "failed"
    assert (await claim(client, board, agent)).status_code == 204
    detail = (await client.get(f"/v1/tasks/{task['id']}", headers=ADMIN)).json()
    assert detail["status"] == "failed" and detail["failures"] == 3
    assert [(a["outcome"], a["reason"]) for a in detail["attempts"]] == [
        ("failed", "boom 1"),
        ("failed", "boom 2"),
        ("failed", "boom 3"),
    ]
    listed = (
        await client.get(
            f"/v1/boards/{board['id']}/tasks", params={"status": "failed"}, headers=ADMIN
        )
    ).json()["items"]
    assert [t["id"] for t in listed] == [task["id"]]


async def test_retry_backoff_holds_the_task_back(client: httpx.AsyncClient, actors: Actors) -> None:
    board = await actors.board()
    agent = await actors.agent()
    task = await post_task(client, board)
    await claim(client, board, agent)
    await client.post(
        f"/v1/tasks/{task['id']}/fail",
        json={"reason": "flaky", "retry_after_s": 0.3},
        headers=agent["headers"],
    )
    assert (await claim(client, board, agent)).status_code == 204
    await asyncio.sleep(0.35)
    assert (await claim(client, board, agent)).status_code == 200


async def test_fail_without_retry_is_final(client: httpx.AsyncClient, actors: Actors) -> None:
    board = await actors.board()
    agent = await actors.agent()
    task = await post_task(client, board, max_attempts=5)
    await claim(client, board, agent)
    r = await client.post(
        f"/v1/tasks/{task['id']}/fail",
        json={"reason": "bad spec", "retry": False},
        headers=agent["headers"],
    )
    assert r.json()["status"] == "failed"


async def test_abstaining_agents_never_get_the_task_even_when_it_is_the_only_one(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    picky, holder_then_abstains, willing = (
        await actors.agent(),
        await actors.agent(),
        await actors.agent(),
    )
    task = await post_task(client, board)
    r = await client.post(
        f"/v1/tasks/{task['id']}/abstain", json={"reason": "not my field"}, headers=picky["headers"]
    )
    assert r.status_code == 200
    for _ in range(3):
        assert (await claim(client, board, picky)).status_code == 204
    got = await claim(client, board, holder_then_abstains)
    assert got.status_code == 200
    back = await client.post(
        f"/v1/tasks/{task['id']}/abstain",
        json={"reason": "on reflection, no"},
        headers=holder_then_abstains["headers"],
    )
    assert back.json()["status"] == "open" and back.json()["failures"] == 0
    assert (await claim(client, board, holder_then_abstains)).status_code == 204
    assert (await claim(client, board, picky)).status_code == 204
    assert (await claim(client, board, willing)).status_code == 200
    abst = (
        await client.get(
            f"/v1/boards/{board['id']}/abstentions", params={"task": task["id"]}, headers=ADMIN
        )
    ).json()
    assert {a["agent_id"] for a in abst["items"]} == {picky["id"], holder_then_abstains["id"]}


async def test_tasks_go_only_to_agents_with_the_required_capabilities(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    writer = await actors.agent(capabilities=["write"])
    coder = await actors.agent(capabilities=["code", "review"])
    coding = await post_task(client, board, title="fix bug", required_capabilities=["code"])
    writing = await post_task(client, board, title="docs", required_capabilities=["write"])
    got = await claim(client, board, writer)
    assert got.json()["id"] == writing["id"]
    assert (await claim(client, board, writer)).status_code == 204
    assert (await claim(client, board, coder)).json()["id"] == coding["id"]


@ELSEWHERE
async def test_complete_must_publish_the_wanted_type_and_writes_nothing_otherwise(
    client: httpx.AsyncClient,
    actors: Actors,
    db: psycopg.Connection[Any],
    elsewhere: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    board = await actors.board()
    agent, other = await actors.agent(), await actors.agent()
    task = await post_task(client, board, wants_type="result")
    await claim(client, board, agent)
    handed_out(elsewhere, monkeypatch)
    not_theirs = await complete(client, task["id"], other)
    assert not_theirs.status_code == 409 and not_theirs.json()["error"] == "LeaseLost"
    wrong = await complete(client, task["id"], agent, type="finding", body={"claim": "x"})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["path"] == "/artifact/type"
    invalid = await complete(client, task["id"], agent, body={"summary": ""})
    assert invalid.status_code == 422
    assert count_rows(db, "artifacts") == 0
    task_row = db.execute("SELECT status FROM tasks WHERE id = %s", (task["id"],)).fetchone()
    assert task_row == ("leased",)
    assert (await complete(client, task["id"], agent)).status_code == 200


async def test_presence_shows_when_agents_were_last_seen(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent()
    before = (await client.get("/v1/agents", headers=ADMIN)).json()["items"]
    assert [a["last_seen_at"] for a in before if a["id"] == agent["id"]] == [None]
    await client.get("/v1/agents/me", headers=agent["headers"])
    seen = None
    for _ in range(40):
        listed = (await client.get("/v1/agents", headers=ADMIN)).json()["items"]
        seen = next(a["last_seen_at"] for a in listed if a["id"] == agent["id"])
        if seen:
            break
        await asyncio.sleep(0.05)
    assert seen is not None


async def test_a_lease_that_runs_out_while_complete_waits_for_the_task_is_refused(
    client: httpx.AsyncClient, actors: Actors, database_url: str, db: psycopg.Connection[Any]
) -> None:
    """The lease is checked again under the task's row lock, by the clock: a completion
    that passed the first look but got the lock only after the lease ran out writes nothing."""
    board = await actors.board()
    holder = await actors.agent()
    task = await post_task(client, board)
    assert (await claim(client, board, holder, lease_s=0.5)).status_code == 200
    async with await psycopg.AsyncConnection.connect(database_url) as blocker:
        await blocker.execute("SELECT 1 FROM tasks WHERE id = %s FOR UPDATE", (task["id"],))
        late = asyncio.create_task(complete(client, task["id"], holder))
        await asyncio.sleep(0.8)  # the completion queues on the row while the lease runs out
        assert not late.done()
        await blocker.commit()
        refused = await late
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "LeaseLost"
    assert count_rows(db, "artifacts") == 0
    assert db.execute("SELECT status, result_id FROM tasks").fetchall() == [("leased", None)]
    kinds = db.execute("SELECT kind FROM events ORDER BY seq").fetchall()
    assert kinds == [("board.created",), ("task.posted",), ("task.claimed",)]


async def test_complete_logs_the_result_then_the_completion_with_consecutive_seqs(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board = await actors.board()
    holder = await actors.agent()
    task = await post_task(client, board)
    assert (await claim(client, board, holder)).status_code == 200
    done = await complete(client, task["id"], holder)
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["task"]["status"] == "completed"
    assert body["task"]["result_id"] == body["artifact"]["id"]
    assert body["task"]["lease_expires_at"] is None
    events = db.execute("SELECT seq, kind, subject_id::text FROM events ORDER BY seq").fetchall()
    assert events[-2:] == [
        (body["artifact"]["seq"], "artifact.published", body["artifact"]["id"]),
        (body["artifact"]["seq"] + 1, "task.completed", task["id"]),
    ]
    assert db.execute("SELECT last_seq FROM board_seqs").fetchone() == (events[-1][0],)
    assert db.execute("SELECT outcome FROM task_attempts").fetchall() == [("completed",)]


async def test_a_claim_notifies_listeners_once_and_only_when_it_logged_something(
    client: httpx.AsyncClient, actors: Actors, database_url: str
) -> None:
    board = await actors.board()
    agent = await actors.agent()
    await post_task(client, board)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as listen:
        await listen.execute("LISTEN bb_events")
        taken = await claim(client, board, agent)  # takes back no expired lease, leases one
        assert taken.status_code == 200
        assert (await claim(client, board, agent)).status_code == 204  # nothing at all
        heard = [n.payload async for n in listen.notifies(timeout=0.5)]
    seq = (await client.get(f"/v1/boards/{board['id']}", headers=ADMIN)).json()["last_seq"]
    assert heard == [f"{board['id']}:{seq}"]
