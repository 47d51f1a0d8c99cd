"""The LISTEN side of LISTEN/NOTIFY: one autocommit connection per process, kept alive.

Notifications are hints (see store.events.CHANNEL). When the connection drops —
a restart, a failover, `pg_terminate_backend` — the listener reconnects with backoff
and tells its owner, who must assume it missed something and re-read.
"""

import asyncio
import logging
from collections.abc import Callable

import psycopg

from blackboard import telemetry

log = logging.getLogger(__name__)


class Listener:
    """Listens on one channel and hands each payload to `on_notify`."""

    def __init__(
        self,
        url: str,
        channel: str,
        *,
        on_notify: Callable[[str], None],
        on_reconnect: Callable[[], None],
        max_backoff_s: float = 5.0,
    ) -> None:
        self.url = url
        self.channel = channel
        self.on_notify = on_notify
        self.on_reconnect = on_reconnect
        self.max_backoff_s = max_backoff_s
        self.connected = asyncio.Event()
        self.reconnects = 0
        self.backend_pid: int | None = None

    async def run(self) -> None:
        """Listen until cancelled, reconnecting after every failure."""
        backoff = 0.05
        first = True
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, application_name="blackboard-listener"
                ) as conn:
                    await conn.execute(f'LISTEN "{self.channel}"')
                    self.backend_pid = conn.info.backend_pid
                    self.connected.set()
                    if not first:
                        self.reconnects += 1
                        telemetry.LISTEN_RECONNECTS.inc()
                        log.warning("LISTEN connection re-established")
                    # Anything may have been committed while we were away: re-read.
                    self.on_reconnect()
                    first = False
                    backoff = 0.05
                    async for notify in conn.notifies():
                        self.on_notify(notify.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.connected.clear()
                log.warning("LISTEN connection lost (%s); retrying in %.2fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
