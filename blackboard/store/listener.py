"""The LISTEN side of LISTEN/NOTIFY: one autocommit connection per process, kept alive.

Notifications are hints (see store.events.CHANNEL). When the connection drops —
a restart, a failover, `pg_terminate_backend` — the listener reconnects with backoff
and tells its owner, who must assume it missed something and re-read.

It listens only while its owner wants it to (someone in the process waits for news):
every write to any board notifies every listening connection, and each notification
wakes its backend and this process. A process that serves only writes and plain reads
(most API processes behind a load balancer, most of the time) would pay that for
nothing: about 7% of a task's CPU, API and database together, at 16 agents.
"""

import asyncio
import logging
from collections.abc import Callable

import psycopg

from blackboard import telemetry

log = logging.getLogger(__name__)


class Listener:
    """Listens on one channel while `wanted()`, and hands each payload to `on_notify`.

    `on_listen` is called once a LISTEN is in effect (first, after a reconnect, after a
    pause): whatever was committed before may have gone unnoticed. `on_unlisten` is called
    when notifications stop (a pause, a lost connection). `followed` is set when `wanted()`
    may have become true, so that listening starts at once rather than at the next check.
    """

    def __init__(
        self,
        url: str,
        channel: str,
        *,
        on_notify: Callable[[str], None],
        on_listen: Callable[[], None],
        on_unlisten: Callable[[], None] = lambda: None,
        wanted: Callable[[], bool] = lambda: True,
        followed: asyncio.Event | None = None,
        check_s: float = 1.0,
        max_backoff_s: float = 5.0,
    ) -> None:
        self.url = url
        self.channel = channel
        self.on_notify = on_notify
        self.on_listen = on_listen
        self.on_unlisten = on_unlisten
        self.wanted = wanted
        self.followed = followed or asyncio.Event()
        self.check_s = check_s
        self.max_backoff_s = max_backoff_s
        self.connected = asyncio.Event()
        self.listening = False
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
                    self.backend_pid = conn.info.backend_pid
                    self.connected.set()
                    if not first:
                        self.reconnects += 1
                        telemetry.LISTEN_RECONNECTS.inc()
                        log.warning("LISTEN connection re-established")
                    first = False
                    backoff = 0.05
                    await self._serve(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.connected.clear()
                self._stop_listening()
                log.warning("LISTEN connection lost (%s); retrying in %.2fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)

    async def _serve(self, conn: psycopg.AsyncConnection[object]) -> None:
        """Listen while wanted, forwarding notifications; pause while not."""
        while True:
            if self.wanted():
                if not self.listening:
                    await conn.execute(f'LISTEN "{self.channel}"')
                    self.listening = True
                    self.on_listen()
                # ends every `check_s` to see whether it is still wanted; a dead
                # connection raises here
                async for notify in conn.notifies(timeout=self.check_s):
                    self.on_notify(notify.payload)
                continue
            if self.listening:
                await conn.execute(f'UNLISTEN "{self.channel}"')
                self._stop_listening()
            try:
                await asyncio.wait_for(self.followed.wait(), timeout=self.check_s)
            except TimeoutError:
                await conn.execute("SELECT 1")  # still there? (a dead connection raises)

    def _stop_listening(self) -> None:
        if self.listening:
            self.listening = False
            self.on_unlisten()
