"""Stopping background tasks without ever hanging a shutdown."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)


async def cancel_and_wait(tasks: Iterable["asyncio.Task[Any]"], *, grace_s: float = 10.0) -> None:
    """Cancel `tasks` and wait until they have ended, for at most `grace_s` seconds.

    A task can miss a single cancellation (psycopg-pool has swallowed one delivered while a
    connection was being made, psycopg/psycopg#1345), and a loop that then goes back to sleep
    would hang the shutdown for ever, so every task still running is cancelled again each
    half-second. Past the grace period the stragglers are left behind with a warning.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace_s
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        remaining = deadline - loop.time()
        if remaining <= 0:
            log.warning("%d background task(s) did not stop: %s", len(pending), pending)
            return
        _, pending = await asyncio.wait(pending, timeout=min(0.5, remaining))


async def every(interval_s: float, work: Callable[[], Awaitable[object]], *, name: str) -> None:
    """Run `work` every `interval_s` seconds until cancelled; a run that fails is logged
    (as `name`) and the next one comes on schedule."""
    while True:
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; retrying in %.1fs", name, interval_s)
        await asyncio.sleep(interval_s)
