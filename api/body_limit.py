"""Refuse bodies whose declared Content-Length is over the limit, before reading them.

FastAPI's own `max_body_size` counts the bytes of streamed (chunked) bodies and its
413 goes through our error handlers; but a too-large *declared* length is rejected by
Starlette in plain text before any handler runs. This answers that case in the
documented error shape instead.
"""

import json

from starlette.types import ASGIApp, Receive, Scope, Send


class DeclaredSizeLimit:
    """Pure ASGI middleware: 413 in the error shape when Content-Length exceeds the limit."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"content-length":
                    if not value.isdigit() or int(value) > self.max_body_bytes:
                        await self._reject(send)
                        return
                    break
        await self.app(scope, receive, send)

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            {
                "error": "PayloadTooLarge",
                "detail": f"the request body is larger than {self.max_body_bytes} bytes",
                "max_bytes": self.max_body_bytes,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
