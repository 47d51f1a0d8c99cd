"""The connection pool and the transaction boundary.

Hot paths use psycopg directly (named SQL in the repository modules) rather than the
ORM: a publish is a handful of statements and the pool hands out connections that
already have prepared statements, which is what keeps HTTP publish near raw-INSERT speed.
"""

import functools
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from psycopg import AsyncConnection, AsyncRawCursor
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import set_json_dumps, set_json_loads
from psycopg_pool import AsyncConnectionPool

from blackboard.errors import Retry

Conn = AsyncConnection[DictRow]
T = TypeVar("T")


def sqlalchemy_url(url: str) -> str:
    """Return `url` with the psycopg 3 driver named, as SQLAlchemy wants it."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


async def configure(conn: AsyncConnection[Any]) -> None:
    """Set a new connection up as every pooled one is (our statements rely on it)."""
    # orjson's bytes as they are, on our connections only: psycopg sends bytes, and decoding
    # a big parameter (a batch publish sends one) only for psycopg to encode it again is two
    # copies for nothing.
    set_json_dumps(orjson.dumps, conn)
    set_json_loads(orjson.loads, conn)
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
            configure=configure,
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
    """A query with %(name)s placeholders and its parameters, to run with `execute`."""

    query: str
    params: dict[str, Any]


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@functools.cache  # our statements are a fixed few
def _numbered(query: str) -> tuple[str, tuple[str, ...]]:
    """The query with PostgreSQL's own $n placeholders, and the name each number stands for.

    psycopg converts named placeholders on every execution of a query over 4 KB (it caches
    only shorter ones), and the answers of turns and tasks are longer statements than that,
    run on every turn and task. Converted once here, they run through a raw cursor, which
    converts nothing."""
    numbers: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        return f"${numbers.setdefault(match.group(1), len(numbers) + 1)}"

    return _PLACEHOLDER.sub(number, query).replace("%%", "%"), tuple(numbers)


async def execute(conn: Conn, statement: Statement) -> AsyncRawCursor[DictRow]:
    """Run the statement; return its cursor."""
    query, names = _numbered(statement.query)
    cursor = AsyncRawCursor(conn, row_factory=dict_row)
    await cursor.execute(query, [statement.params[name] for name in names])
    return cursor


async def together(conn: Conn, statements: Sequence[Statement]) -> list[list[DictRow]]:
    """Run the statements as one transaction, in one round trip; return each one's rows.
    All or nothing: if one fails, none is written, and its error is raised.

    On an autocommit connection, statements sent in one pipeline share the transaction
    that the pipeline's closing Sync commits: no BEGIN or COMMIT to wait for, so a lock
    the first statement takes is not held across a round trip to this process."""
    async with conn.pipeline():
        cursors = [await execute(conn, s) for s in statements]
    return [await cursor.fetchall() for cursor in cursors]
