"""Telling a database that went away from a query that failed.

Requests learn that PostgreSQL is gone when their connection breaks or none can be had
within the pool's timeout. The first such failure opens an outage (one log line, one
count, the up gauge at 0); the first unit of work that succeeds again closes it (one
log line with its length). Everything in between is the same outage.
"""

import logging
import time
from collections.abc import AsyncIterator
from typing import TypeVar

import psycopg
from psycopg_pool import PoolTimeout

from blackboard import telemetry

log = logging.getLogger(__name__)
T = TypeVar("T")

# SQLSTATE classes and codes that say the server, not the statement, is the problem:
# 08 connection exceptions; 57P01-57P03 shut down by an operator or a crash, or starting.
_SERVER_GONE = ("08", "57P01", "57P02", "57P03")


def is_unavailable(exc: BaseException) -> bool:
    """Return whether `exc` means the database cannot be reached now (not a bad query)."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, psycopg.InterfaceError):
        return True  # a connection that closed under us
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state.startswith(_SERVER_GONE)


class Outages:
    """Whether the database is reachable, as the process's own work finds out."""

    def __init__(self) -> None:
        self.down_since: float | None = None
        telemetry.DATABASE_UP.set(1)

    def failed(self, exc: BaseException) -> bool:
        """Record a failure if it is an outage's; return whether it was one."""
        if not is_unavailable(exc):
            return False
        if self.down_since is None:
            self.down_since = time.monotonic()
            telemetry.DATABASE_OUTAGES.inc()
            telemetry.DATABASE_UP.set(0)
            log.warning("database unavailable, answering 503 until it is back: %s", exc)
        return True

    def answered(self) -> None:
        """Record that the database answered: ends the outage, if there is one."""
        if self.down_since is None:
            return
        lasted = time.monotonic() - self.down_since
        self.down_since = None
        telemetry.DATABASE_UP.set(1)
        log.warning("database available again after %.1f s", lasted)


async def until_unavailable(items: AsyncIterator[T]) -> AsyncIterator[T]:
    """Yield `items` until the database goes away; then end, as a finished stream does.

    A stream cut off by an exception is a broken response to its client (and a logged
    error here); ended, its client reconnects and resumes with Last-Event-ID."""
    try:
        async for item in items:
            yield item
    except psycopg.Error as exc:
        if not is_unavailable(exc):
            raise
        log.info("a stream ended: the database is unavailable (%s)", exc)
