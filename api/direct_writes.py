"""Writing a stream's chunks straight to its connection, without waiting.

A board's feed writes each new batch of frames to every caught-up stream subscriber in
one loop (blackboard/services/feed.py). Through ASGI, every write is an awaited `send`,
so it would take a task per subscriber, woken per event: several times the cost of the
write itself. ASGI has no write that does not wait, so this reaches past it into uvicorn's
httptools protocol, the one `blackboard serve` runs, and writes to its transport as its
own `send` would: one HTTP/1.1 chunk, only while the transport takes more.

Under any other server or protocol there is no direct writer, and every chunk goes
through `send` (the stall guard's, see api/stream_guard.py), as it always can.
"""

from starlette.types import Scope
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from api.stream_guard import SERVER_SEND

_framed: tuple[bytes, bytes] = (b"", b"")
"""The last chunk written and its HTTP framing: the feed writes the same chunk to every
subscriber of a board in turn."""


class DirectWriter:
    """Writes chunks of one chunked response body to its connection, now or not at all."""

    def __init__(self, cycle: RequestResponseCycle) -> None:
        self._cycle = cycle

    def __call__(self, chunk: bytes) -> bool:
        """Write `chunk`; False if the connection cannot take it now (its client is not
        reading fast enough, or has gone): the caller sends it through ASGI instead."""
        cycle = self._cycle
        if (
            cycle.flow.write_paused
            or cycle.disconnected
            or cycle.response_complete
            or cycle.chunked_encoding is not True  # set once the response has started
            or cycle.transport.is_closing()
        ):
            return False
        global _framed
        framed = _framed  # read once: another thread's loop may replace it meanwhile
        if framed[0] is not chunk:
            framed = _framed = chunk, b"%x\r\n%b\r\n" % (len(chunk), chunk)
        cycle.transport.write(framed[1])
        return True


def direct_writer(scope: Scope) -> DirectWriter | None:
    """The direct writer of a GET request's response, if its server has one."""
    cycle = getattr(scope.get(SERVER_SEND), "__self__", None)
    if scope.get("method") != "GET" or not isinstance(cycle, RequestResponseCycle):
        return None
    return DirectWriter(cycle)
