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


class StalledStreamGuard:
    """Pure ASGI middleware for paths ending in `/stream`."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/stream"):
            await self.app(scope, receive, send)
            return

        async def guarded_send(message: Message) -> None:
            if message["type"] != "http.response.body":
                await send(message)
                return
            try:
                # asyncio.timeout, not wait_for: no extra task per chunk
                async with asyncio.timeout(self.timeout_s):
                    await send(message)
            except TimeoutError:
                raise _Stalled from None

        try:
            await self.app(scope, receive, guarded_send)
        except* _Stalled:
            # Returning without finishing the response makes the server close the socket.
            log.info("dropped a stream subscriber that stopped reading: %s", scope["path"])
