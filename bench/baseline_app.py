"""The baseline for bench_core: the least a FastAPI + psycopg service can do per publish.

One endpoint, POST /insert: parse a JSON body with pydantic, do one INSERT of a row like
an artifact version (uuid, a few text/int columns and a ~1 KB jsonb body) through an
async connection pool, and answer 201 with the row. Same stack and settings as the
service (uvicorn, uvloop, httptools, orjson for jsonb, a pool of 10 per worker), so the
ratio publish/baseline measures what the service adds on top.

Run by bench_core.py as
    uvicorn baseline_app:app --app-dir bench --workers 2 --loop uvloop --http httptools
with BENCH_BASELINE_DATABASE_URL set; the table (TABLE_DDL) must already exist.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import orjson
from fastapi import FastAPI
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
    await conn.commit()


_pools: list[AsyncConnectionPool[AsyncConnection[Any]]] = []  # this process's one pool


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
        os.environ["BENCH_BASELINE_DATABASE_URL"],
        min_size=2,
        max_size=POOL_SIZE,
        configure=_configure,
        open=False,
        name="baseline",
    )
    await pool.open(wait=True, timeout=30)
    _pools.append(pool)
    try:
        yield
    finally:
        _pools.remove(pool)
        await pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/insert", status_code=201)
async def insert(row: Row) -> Inserted:
    """Insert one row in its own transaction and return it."""
    row_id = uuid4()
    async with _pools[0].connection() as conn:
        cur = await conn.execute(
            _INSERT, (row_id, row.board_id, row.type, str(row_id), Jsonb(row.body))
        )
        written = await cur.fetchone()
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
