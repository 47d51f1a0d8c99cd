"""The hot statements are planned once per connection, not on every execution.

PostgreSQL plans a prepared statement for the values at hand on its first five
executions, then keeps one plan for any values if that plan looks no dearer. When it
does not (an estimate that depends on a list's length, say), every execution is planned
anew: 0.7 ms for the statement that completes tasks, a quarter of what the database
spent per task. These tests run each hot statement on one connection and ask PostgreSQL
which plans it used.
"""

from typing import Any
from uuid import UUID

import httpx
import psycopg
from psycopg.rows import dict_row

from blackboard.drafts import ArtifactDraft
from blackboard.services import artifacts
from blackboard.services.schemas import SchemaCache
from blackboard.store import agents as agent_store
from blackboard.store import tasks as task_store
from blackboard.store.artifact_writes import TaskDone
from blackboard.store.database import configure
from tests.support.api import Actors
from tests.support.tasks import claim, post_task

RUNS = 8  # the first five plan for their values; the rest should reuse one plan


async def connection(url: str) -> psycopg.AsyncConnection[Any]:
    """A connection like the pool's: autocommit, rows as dicts, statements prepared at once."""
    conn = await psycopg.AsyncConnection.connect(
        url, autocommit=True, row_factory=dict_row, prepare_threshold=0
    )
    await configure(conn)
    return conn


async def plans(conn: psycopg.AsyncConnection[Any], marker: str) -> tuple[int, int]:
    """(generic, custom) plans used by this connection's prepared statement containing `marker`."""
    cur = await conn.execute(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
        (f"%{marker}%",),
    )
    rows = await cur.fetchall()
    assert len(rows) == 1, rows
    return rows[0]["generic_plans"], rows[0]["custom_plans"]


def busy(db: psycopg.Connection[Any], board_id: str, agent_id: str) -> None:
    """Give the board what a busy one has: thousands of done tasks (plans differ by size)."""
    db.execute(
        """INSERT INTO tasks (id, board_id, title, max_attempts, attempt, status, holder_id,
                              lease_token, created_at)
           SELECT gen_random_uuid(), %s, 'done ' || i, 3, 1, 'completed', %s, 1,
                  now() - interval '1 day'
           FROM generate_series(1, 5000) AS i""",
        (board_id, agent_id),
    )
    db.execute(
        """INSERT INTO task_attempts (task_id, attempt, agent_id, lease_token, outcome)
           SELECT id, 1, holder_id, 1, 'completed' FROM tasks WHERE status = 'completed'"""
    )


async def test_completing_tasks_and_publishing_reuse_one_plan(
    client: httpx.AsyncClient, actors: Actors, database_url: str, db: psycopg.Connection[Any]
) -> None:
    board = await actors.board()
    holder = await actors.agent()
    busy(db, board["id"], holder["id"])
    held = []
    for i in range(RUNS):
        await post_task(client, board, title=f"t{i}")
        held.append((await claim(client, board, holder)).json()["id"])
    conn = await connection(database_url)
    try:
        agent = await agent_store.get(conn, agent_id=UUID(holder["id"]))
        assert agent is not None
        schemas = SchemaCache()
        for task_id in held:
            draft = ArtifactDraft(type="result", body={"summary": "done"}, parents=[])
            await artifacts.publish(
                conn,
                board_id=UUID(board["id"]),
                author=agent,
                drafts=[draft],
                idempotency_key=None,
                schemas=schemas,
                completing=TaskDone(task_id=UUID(task_id), holder_id=agent.id),
            )
        assert await plans(conn, "held AS") == (RUNS - 5, 5)
        for i in range(RUNS):
            draft = ArtifactDraft(type="finding", body={"claim": f"c{i}"})
            await artifacts.publish(
                conn,
                board_id=UUID(board["id"]),
                author=agent,
                drafts=[draft],
                idempotency_key=None,
                schemas=schemas,
            )
        assert await plans(conn, "WITH drafts AS") == (RUNS - 5, 5)
    finally:
        await conn.close()


async def test_claiming_reuses_one_plan(
    client: httpx.AsyncClient, actors: Actors, database_url: str, db: psycopg.Connection[Any]
) -> None:
    board = await actors.board()
    agent = await actors.agent()
    busy(db, board["id"], agent["id"])
    for i in range(RUNS):
        await post_task(client, board, title=f"t{i}")
    conn = await connection(database_url)
    try:
        for _ in range(RUNS):
            tasks, _ = await task_store.claim_next(
                conn,
                board_id=UUID(board["id"]),
                claimants=[task_store.Claimant(UUID(agent["id"]), [], 60.0)],
            )
            assert tasks[0] is not None
        assert await plans(conn, "WITH lapsed AS") == (RUNS - 5, 5)
    finally:
        await conn.close()
