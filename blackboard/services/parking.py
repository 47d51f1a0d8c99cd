"""Stream subscribers parked at the head of a board, written to by its feed.

A stream subscriber that has been sent everything does not wait to be woken: it parks
with a writer to its connection, and when the board's feed has read new events it writes
them to every parked subscriber in one loop (`Parking.push`). Woken instead, each
subscriber's task would look up and send the same bytes: several times the cost of the
write itself, per subscriber per event.

A subscriber is released to read for itself, as one that is behind does, when its
connection cannot take a write now (its client reads slowly), when more came at once than
one write holds, or when it fell behind the feed's window.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from blackboard import telemetry
from blackboard.services.event_filter import EventFilter

Write = Callable[[bytes], bool]
"""Write a chunk to a subscriber's connection now, without waiting: False if it cannot
take one (its buffer is full, or it has gone)."""

Frames = Callable[[int, EventFilter], tuple[bytes, int] | None]
"""The frames of what is new after a cursor for a filter, and the seq they go up to; None
if the cursor is behind what the feed holds."""


@dataclass(eq=False)
class Parked:
    """One parked subscriber."""

    write: Write
    cursor: int  # the seq it has been sent everything up to
    released: asyncio.Future[None]
    written_at: float = field(default_factory=time.monotonic)  # or parked at

    def release(self) -> None:
        if not self.released.done():
            self.released.set_result(None)


class Parking:
    """The parked subscribers of one board, by filter: those of one filter are mostly at
    the same cursor, so their frames are looked up once."""

    def __init__(self) -> None:
        self._groups: dict[EventFilter, dict[Parked, None]] = {}

    def __bool__(self) -> bool:
        return bool(self._groups)

    def add(self, only: EventFilter, write: Write, cursor: int) -> Parked:
        parked = Parked(write, cursor, asyncio.get_running_loop().create_future())
        self._groups.setdefault(only, {})[parked] = None
        return parked

    def remove(self, only: EventFilter, parked: Parked) -> None:
        group = self._groups[only]
        del group[parked]
        if not group:
            del self._groups[only]

    def release_all(self) -> None:
        for group in self._groups.values():
            for parked in group:
                parked.release()

    def push(self, head: int, frames: Frames) -> None:
        """Write to every parked subscriber what is new up to `head`."""
        written = released = 0
        now = time.monotonic()
        for only, group in self._groups.items():
            after, found = -1, None
            for parked in group:
                if parked.released.done():
                    continue
                if parked.cursor != after:
                    after = parked.cursor
                    found = frames(after, only)
                # behind what the feed holds, or its connection cannot take the write
                if found is None or (found[0] and not parked.write(found[0])):
                    parked.release()
                    released += 1
                    continue
                chunk, upto = found
                if chunk:
                    written += 1
                    parked.written_at = now
                parked.cursor = upto
                if upto < head:  # more than one write's worth: let it catch up
                    parked.release()
                    released += 1
        telemetry.SSE_DIRECT_WRITES.inc(written)
        telemetry.SSE_CATCH_UPS.inc(released)
