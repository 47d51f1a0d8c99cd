"""The connection pool and the transaction boundary.

Hot paths use psycopg directly (named SQL in the repository modules) rather than the
ORM: a publish is a handful of statements and the pool hands out connections that
already have prepared statements, which is what keeps HTTP publish near raw-INSERT speed.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from psycopg import AsyncConnection
from psycopg import _queries as psycopg_queries
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import set_json_dumps, set_json_loads
from psycopg_pool import AsyncConnectionPool

from blackboard.errors import Retry

Conn = AsyncConnection[DictRow]
T = TypeVar("T")


# orjson's bytes as they are: psycopg sends bytes, and decoding a big parameter (a batch
# publish sends ~0.5 MB in one) only for psycopg to encode it again is two copies for nothing.
set_json_dumps(orjson.dumps)
set_json_loads(orjson.loads)

# psycopg converts a query's %(name)s placeholders to $n anew on every execution for
# statements over 4 KB (it caches only shorter ones, against ORM-generated queries of
# endless variety). Ours are a fixed few, and the longest — a turn's or a task's answer in
# one statement — are the ones run on every turn and task: 0.1-0.2 ms each to convert.
# (A private knob: should it go away, queries are merely converted every time again.)
psycopg_queries.MAX_CACHED_STATEMENT_LENGTH = max(
    psycopg_queries.MAX_CACHED_STATEMENT_LENGTH, 16_384
)


def sqlalchemy_url(url: str) -> str:
    """Return `url` with the psycopg 3 driver named, as SQLAlchemy wants it."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


async def _configure(conn: AsyncConnection[Any]) -> None:
    # Timestamps leave the database in UTC so they serialise as RFC 3339 `Z`.
    await conn.execute("SET TIME ZONE 'UTC'")


class Database:
    """A pool of async connections to one PostgreSQL database."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            url,
            min_size=min(2, pool_size),
            max_size=pool_size,
            # Autocommit: a single statement is its own transaction (no BEGIN/COMMIT round
            # trips); `transaction()` opens an explicit one when several must be atomic.
            # prepare_threshold=0: our statements are few and repeated; planning the big
            # CTEs once per connection instead of five times keeps the first uses fast too.
            kwargs={"row_factory": dict_row, "autocommit": True, "prepare_threshold": 0},
            configure=_configure,
            open=False,
            name="blackboard",
        )

    async def open(self) -> None:
        """Open the pool and wait until at least one connection works."""
        await self.pool.open(wait=True, timeout=30)

    async def close(self) -> None:
        """Close the pool."""
        await self.pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """Yield a connection inside a transaction: commit on success, roll back on error."""
        async with self.pool.connection() as conn, conn.transaction():
            yield conn

    async def run(
        self, work: Callable[[Conn], Awaitable[T]], *, atomic: bool = True, attempts: int = 3
    ) -> T:
        """Run `work` (in one transaction if `atomic`), again from the start if it raises
        `Retry`. Non-atomic work is for services that make their own writes atomic."""
        for attempt in range(attempts):
            try:
                if atomic:
                    async with self.transaction() as conn:
                        return await work(conn)
                async with self.connection() as conn:
                    return await work(conn)
            except Retry:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        """Yield a pooled connection in autocommit mode: each statement commits by itself."""
        async with self.pool.connection() as conn:
            yield conn


@dataclass(frozen=True)
class Statement:
    """A query and its parameters, to run later (see `together`)."""

    query: str
    params: dict[str, Any]


async def together(conn: Conn, statements: Sequence[Statement]) -> list[list[DictRow]]:
    """Run the statements as one transaction, in one round trip; return each one's rows.
    All or nothing: if one fails, none is written, and its error is raised.

    On an autocommit connection, statements sent in one pipeline share the transaction
    that the pipeline's closing Sync commits: no BEGIN or COMMIT to wait for, so a lock
    the first statement takes is not held across a round trip to this process."""
    async with conn.pipeline():
        cursors = [await conn.execute(s.query, s.params) for s in statements]
    return [await cursor.fetchall() for cursor in cursors]
