"""Disconnect stream subscribers that stop reading.

A stream is pulled, not pushed: the server reads the next events only when the previous
ones were handed to the socket, so a slow client costs no growing buffer. But a client
that stops reading altogether would pin its connection forever. When sending one chunk
of a stream takes longer than `timeout_s`, this middleware drops the connection; the
client can reconnect and resume with `Last-Event-ID`.
"""

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


class _Stalled(Exception):
    pass


class _Watchdog:
    """One stream's guard: a timer per stream, re-armed once per `timeout_s`, rather than
    a timeout per chunk (set and cancelled for every write of every subscriber, that was
    a few per cent of a busy streaming process's CPU)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.loop = asyncio.get_running_loop()
        self.task: asyncio.Task[object] | None = None
        self.sending: tuple[asyncio.Task[object], float] | None = None
        self.fired = False
        self.timer = self.loop.call_later(timeout_s, self._check)

    def _check(self) -> None:
        if self.sending is None:
            self.timer = self.loop.call_later(self.timeout_s, self._check)
            return
        task, since = self.sending
        left = since + self.timeout_s - self.loop.time()
        if left > 0:
            self.timer = self.loop.call_later(left, self._check)
            return
        # what asyncio.timeout does: cancel the task, and tell that cancel from others
        self.fired = True
        task.cancel()

    async def send(self, send: Send, message: Message) -> None:
        # one task writes a response's body: look it up once, not per write
        task = self.task
        if task is None:
            task = self.task = asyncio.current_task()
            assert task is not None
        self.sending = (task, self.loop.time())
        cancelling = task.cancelling()  # cancels already asked for are not ours
        try:
            await send(message)
        except asyncio.CancelledError:
            if self.fired and task.uncancel() <= cancelling:
                raise _Stalled from None
            raise
        finally:
            self.sending = None

    def stop(self) -> None:
        self.timer.cancel()


BODY_SEND = "blackboard.body_send"
SERVER_SEND = "blackboard.server_send"


class StalledStreamGuard:
    """Pure ASGI middleware for paths ending in `/stream`, outermost of all.

    It also puts a sender of body chunks in the scope (`BODY_SEND`): the server's own send
    under the watchdog. A stream writes every event to every subscriber; through the
    `send` its route is given, each write would also pass the wrappers of every middleware
    inside this one, which only watch for the response's start. And it puts the server's
    send itself there (`SERVER_SEND`), for writes that cannot wait (api/direct_writes.py):
    those never stall."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/stream"):
            await self.app(scope, receive, send)
            return
        watchdog = _Watchdog(self.timeout_s)

        async def guarded_send(message: Message) -> None:
            if message["type"] != "http.response.body":
                await send(message)
            else:
                await watchdog.send(send, message)

        async def body_send(message: Message) -> None:
            await watchdog.send(send, message)

        scope[BODY_SEND] = body_send
        scope[SERVER_SEND] = send
        try:
            await self.app(scope, receive, guarded_send)
        except* _Stalled:
            # Returning without finishing the response makes the server close the socket.
            log.info("dropped a stream subscriber that stopped reading: %s", scope["path"])
        finally:
            watchdog.stop()
