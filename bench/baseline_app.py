"""The bare baseline: the least a FastAPI + psycopg service can do per request.

- POST /insert (bench_core): parse a JSON body with pydantic, do one INSERT of a row like
  an artifact version (uuid, a few text/int columns and a ~1 KB jsonb body), and answer
  201 with the row.
- POST /publish and GET /stream (bench_live): the same INSERT with a NOTIFY carrying the
  new row's seq in the same statement, and Server-Sent Events fed by one LISTEN
  connection per process that writes each notification to every open stream (no re-read
  of a log, no filters, no auth).
- POST /claim and POST /tasks/{id}/complete (bench_tasks): the service's claim statement
  alone (CLAIM: SKIP LOCKED, lease, attempt row; no events, no auth), and one statement
  that completes the task and its attempt (no result artifact, no events).

Same stack and settings as the service (uvicorn, uvloop, httptools, orjson for jsonb, a
pool of 10 per worker), so the ratio service/baseline measures what the service adds on
top, and the baseline's own rate is a ceiling for any service on this stack and machine.

Run by harness.baseline_server as
    python bench/serve_baseline.py --port <port> --workers 2
(the service's own supervisor: a socket per worker) with BENCH_BASELINE_DATABASE_URL set;
the table (TABLE_DDL) must already exist, and the task endpoints use the service's own
`tasks` and `task_attempts` tables.
"""

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import orjson
from fastapi import FastAPI, HTTPException, Response
from fastapi.responses import StreamingResponse
from fastapi.sse import format_sse_event
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb, set_json_dumps, set_json_loads
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, Field

TABLE = "bench_baseline"
TABLE_DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id uuid PRIMARY KEY,
    board_id uuid NOT NULL,
    type text NOT NULL,
    key text NOT NULL,
    version integer NOT NULL,
    body jsonb NOT NULL,
    seq bigserial NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""
_INSERT = f"""
INSERT INTO {TABLE} (id, board_id, type, key, version, body)
VALUES (%s, %s, %s, %s, 1, %s)
RETURNING seq, created_at
"""
CHANNEL = "bench_baseline"
_PUBLISH = f"""
WITH written AS (
    INSERT INTO {TABLE} (id, board_id, type, key, version, body)
    VALUES (%s, %s, %s, %s, 1, %s)
    RETURNING seq
)
SELECT seq, pg_notify('{CHANNEL}', seq::text) FROM written
"""
_LAST_SEQ = f"SELECT coalesce(max(seq), 0) FROM {TABLE}"

# The service's claim (blackboard/store/tasks.py) without its events and its look for
# lapsed leases: the same function choosing the task, leasing it and opening its attempt
# (migration 0009), for one agent; it returns the id only. bench_tasks also runs it bare,
# over psycopg.
CLAIM = """
SELECT (task).id FROM blackboard_lease_tasks(
    %(board_id)s,
    jsonb_build_array(jsonb_build_object('agent_id', %(agent_id)s::uuid,
                                         'capabilities', '[]'::jsonb,
                                         'lease_s', %(lease_s)s::float8)))
"""
_COMPLETE = """
WITH done AS (
    UPDATE tasks SET status = 'completed', lease_expires_at = NULL, updated_at = now()
    WHERE id = %(task_id)s AND holder_id = %(agent_id)s AND status = 'leased'
    RETURNING id, attempt
), closed AS (
    UPDATE task_attempts a SET outcome = 'completed', ended_at = now()
    FROM done WHERE a.task_id = done.id AND a.attempt = done.attempt
)
SELECT id FROM done
"""
POOL_SIZE = 10  # the service's default pool_size per API process


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


set_json_dumps(_dumps)
set_json_loads(orjson.loads)


class Row(BaseModel):
    """What a client sends: like an artifact draft."""

    board_id: UUID
    type: str = Field(min_length=1, max_length=64)
    body: dict[str, Any]


class Inserted(Row):
    """What the endpoint answers: the row as written."""

    id: UUID
    key: str
    version: int
    seq: int
    created_at: datetime


async def _configure(conn: AsyncConnection[Any]) -> None:
    await conn.execute("SET TIME ZONE 'UTC'")


_pools: list[AsyncConnectionPool[AsyncConnection[Any]]] = []  # this process's one pool
_streams: set[asyncio.Queue[bytes]] = set()  # this process's open SSE streams


async def _listen(url: str) -> None:
    """This process's one LISTEN connection: each notification, as an SSE frame, to every
    open stream."""
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f"LISTEN {CHANNEL}")
        async for note in conn.notifies():
            frame = format_sse_event(id=note.payload, data_str=note.payload)
            for queue in _streams:
                queue.put_nowait(frame)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
        os.environ["BENCH_BASELINE_DATABASE_URL"],
        min_size=2,
        max_size=POOL_SIZE,
        # as the service's pool (store/database.py): each statement commits by itself, no
        # BEGIN/COMMIT round trips, and statements are prepared at once
        kwargs={"autocommit": True, "prepare_threshold": 0},
        configure=_configure,
        open=False,
        name="baseline",
    )
    await pool.open(wait=True, timeout=30)
    _pools.append(pool)
    listening = asyncio.create_task(_listen(os.environ["BENCH_BASELINE_DATABASE_URL"]))
    try:
        yield
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening
        _pools.remove(pool)
        await pool.close()


app = FastAPI(lifespan=lifespan)


async def _one(query: str, params: Any) -> Any:
    """Run one statement (it commits by itself); return its row, or None."""
    async with _pools[0].connection() as conn:
        cur = await conn.execute(query, params)
        return await cur.fetchone()


@app.post("/insert", status_code=201)
async def insert(row: Row) -> Inserted:
    """Insert one row and return it."""
    row_id = uuid4()
    written = await _one(_INSERT, (row_id, row.board_id, row.type, str(row_id), Jsonb(row.body)))
    assert written is not None
    seq, created_at = written
    return Inserted(
        **row.model_dump(),
        id=row_id,
        key=str(row_id),
        version=1,
        seq=seq,
        created_at=created_at,
    )


class ClaimRequest(BaseModel):
    """Who claims the next task of which board, for how long."""

    board_id: UUID
    agent_id: UUID
    lease_s: float = Field(gt=0, le=3600)


class CompleteRequest(BaseModel):
    """Who completes the task."""

    agent_id: UUID


class TaskRef(BaseModel):
    """The task claimed or completed."""

    id: UUID


@app.post("/claim", response_model=None)
async def claim(request: ClaimRequest) -> TaskRef | Response:
    """Lease the board's oldest open task to the agent; 204 if there is none."""
    row = await _one(CLAIM, request.model_dump())
    return Response(status_code=204) if row is None else TaskRef(id=row[0])


@app.post("/tasks/{task_id}/complete")
async def complete(task_id: UUID, request: CompleteRequest) -> TaskRef:
    """Complete a task the agent holds; 409 if it does not hold it."""
    row = await _one(_COMPLETE, {"task_id": task_id, "agent_id": request.agent_id})
    if row is None:
        raise HTTPException(409, "not leased to this agent")
    return TaskRef(id=row[0])


class Published(BaseModel):
    """Where the published row went."""

    id: UUID
    seq: int


@app.post("/publish", status_code=201)
async def publish(row: Row) -> Published:
    """Insert one row and NOTIFY its seq, in one statement."""
    row_id = uuid4()
    written = await _one(_PUBLISH, (row_id, row.board_id, row.type, str(row_id), Jsonb(row.body)))
    assert written is not None
    return Published(id=row_id, seq=written[0])


@app.get("/last_seq")
async def last_seq() -> int:
    """The newest seq so far (where a stream that wants every new row starts)."""
    row = await _one(_LAST_SEQ, None)
    assert row is not None
    return int(row[0])


@app.get("/stream")
async def stream() -> StreamingResponse:
    """Server-Sent Events: every row published from now on, `id` = its seq; what is queued
    goes out as one write, as the service's streams do."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    _streams.add(queue)

    async def frames() -> AsyncIterator[bytes]:
        try:
            while True:
                chunk = [await queue.get()]
                while not queue.empty():
                    chunk.append(queue.get_nowait())
                yield b"".join(chunk)
        finally:
            _streams.discard(queue)

    return StreamingResponse(frames(), media_type="text/event-stream")
