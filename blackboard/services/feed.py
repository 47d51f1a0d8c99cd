"""Live board feeds: wake waiters on NOTIFY, and read each new event once per process.

Every long-poll and SSE subscriber of a board reads through its `BoardFeed`. When a
notification says the board moved, the first reader fetches the new events from the
database into a bounded window of recent events; every other subscriber is served from
that window. So 100 subscribers cost one query per burst, not 100. A subscriber that is
further behind than the window (a reconnect after a long time, a slow client) reads from
the database directly until it catches up; it never holds anyone else up, and nothing
is ever pushed into a per-subscriber buffer, so a stalled client costs no memory.

When a notification comes for a board that has subscribers waiting, the feed reads the
new events itself and wakes them only then: each wakes once, to events that are already
in the window. (Woken at once, every subscriber queued for the read, and those behind a
read that a newer notification overtook read again: a few reads per event instead of one.)

A stream subscriber that has been sent everything does not even wake: it parks at the
board's head with a writer to its connection, and the feed's read writes the new frames
to it (see `park`, and services/parking.py).

Waiters also wake every `fallback_s` and re-read (for the parked, the feed re-reads), so
a lost notification (or a dropped LISTEN connection) delays delivery by at most that long
and never loses an event.

The process listens for notifications only while someone in it follows a board (see
`following`, and store/listener.py); meanwhile every read goes to the database.
"""

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import Any
from uuid import UUID

from blackboard.records import Event
from blackboard.services.event_filter import EventFilter
from blackboard.services.parking import Parking, Write
from blackboard.store import artifacts as artifact_store
from blackboard.store import events as event_store
from blackboard.store.database import Database
from blackboard.store.events import CHANNEL
from blackboard.store.listener import Listener

log = logging.getLogger(__name__)

WINDOW = 2_000  # recent events kept per board in each process
FETCH = 1_000
BATCH = 500  # events per write of a stream at most
KEEP_LISTENING_S = 10.0
"""How long a process goes on listening after its last follower left: followers come and
go (a long-poll after another), and a pause makes the next one's first wait read the
database."""


@dataclass
class BoardFeed:
    """One board's recent events and the signal that there are newer ones."""

    hint: int = 0  # the newest seq any notification mentioned
    # the hint as of the last read of the database: a newer one is news that nobody has
    # read yet, even when it came while nobody was waiting
    read_hint: int = 0
    head: int | None = None  # the newest seq read into `recent`
    recent: deque[Event] = field(default_factory=lambda: deque(maxlen=WINDOW))
    # each recent event as its subscribers are sent it (see Feeds.frames), encoded once per
    # process rather than once per subscriber
    encoded: dict[int, bytes] = field(default_factory=dict)
    # bodies of recently published versions, for readers that ask for them (by version id)
    bodies: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    # the frames of what a read after a cursor with a filter and limit returns (and the
    # seq it read up to), for the current `head`: the subscribers woken together are
    # mostly at the same cursor, so each batch is walked, filtered and joined once
    joined: dict[tuple[int, EventFilter, int], tuple[bytes, int]] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    refreshed_at: float = 0.0
    # the fallback poll of everyone waiting now: one timer per board, not one per waiter
    fallback: asyncio.TimerHandle | None = None
    waiting: int = 0  # subscribers waiting for newer events right now, parked ones too
    parked: Parking = field(default_factory=Parking)  # stream subscribers written to
    reading: "asyncio.Task[None] | None" = None  # the feed's own read after a notification

    def wake(self) -> None:
        """Release everyone waiting on this board but the parked (they are written to)."""
        if self.fallback is not None:
            self.fallback.cancel()
            self.fallback = None
        self.changed.set()
        self.changed = asyncio.Event()


class Feeds:
    """All board feeds of this process, fed by the LISTEN connection."""

    def __init__(
        self,
        db: Database,
        *,
        fallback_s: float = 1.0,
        encode: Callable[[Event], bytes] = lambda event: event.model_dump_json().encode(),
    ) -> None:
        self.db = db
        self.fallback_s = fallback_s
        self._encode = encode
        self._boards: dict[UUID, BoardFeed] = {}
        self.any_changed = asyncio.Event()
        self.subscribers = 0  # open streams (a gauge)
        self.followers = 0  # everyone waiting for news, streams included (see `following`)
        self.followed = asyncio.Event()  # set while there are followers
        self._unfollowed_at = time.monotonic()
        self.keep_listening_s = KEEP_LISTENING_S
        self.listening = False  # whether notifications arrive (set by the listener)

    @contextmanager
    def following(self) -> Iterator[None]:
        """Count the caller among those who wait for news (a stream, a long-poll, an inbox,
        webhook deliveries) for the duration: the process listens for notifications while
        there is anyone."""
        self.follow()
        try:
            yield
        finally:
            self.unfollow()

    def follow(self) -> None:
        """Start following (see `following`)."""
        self.followers += 1
        self.followed.set()

    def unfollow(self) -> None:
        """Stop following (see `following`)."""
        self.followers -= 1
        if not self.followers:
            self.followed.clear()
            self._unfollowed_at = time.monotonic()

    def wanted(self) -> bool:
        """Whether the process should listen: someone follows, or did a moment ago."""
        return (
            bool(self.followers) or time.monotonic() - self._unfollowed_at < self.keep_listening_s
        )

    def on_listen(self) -> None:
        """Notifications arrive from now on; anything before may have gone unnoticed:
        make every feed re-read."""
        self.listening = True
        for board_id, feed in self._boards.items():
            self._fall_back(board_id, feed)
        self._wake_any()

    def on_unlisten(self) -> None:
        """Notifications stopped: hints no longer tell whether a feed is current."""
        self.listening = False

    def listener(self, url: str) -> Listener:
        """Return the LISTEN connection that feeds these boards (to be run)."""
        return Listener(
            url,
            CHANNEL,
            on_notify=self.on_notify,
            on_listen=self.on_listen,
            on_unlisten=self.on_unlisten,
            wanted=self.wanted,
            followed=self.followed,
        )

    def board(self, board_id: UUID) -> BoardFeed:
        """Return the feed of one board."""
        feed = self._boards.get(board_id)
        if feed is None:
            feed = self._boards[board_id] = BoardFeed()
        return feed

    def boards(self) -> list[tuple[UUID, BoardFeed]]:
        """Return every board feed this process knows of."""
        return list(self._boards.items())

    def _wake_any(self) -> None:
        self.any_changed.set()
        self.any_changed = asyncio.Event()

    def on_notify(self, payload: str) -> None:
        """Handle a NOTIFY payload '<board_id>:<seq>' (malformed ones are ignored)."""
        board_text, _, seq_text = payload.partition(":")
        try:
            board_id, seq = UUID(board_text), int(seq_text)
        except ValueError:
            return
        feed = self.board(board_id)
        if seq > feed.hint:
            feed.hint = seq
            if not feed.waiting:
                feed.wake()  # nobody to serve: whoever reads next reads the database
            else:  # a read under way goes on until it has this seq too
                self._read_in(board_id, feed)
        self._wake_any()

    def _read_in(self, board_id: UUID, feed: BoardFeed) -> None:
        if feed.reading is None:
            feed.reading = asyncio.create_task(self._read_ahead(board_id, feed))

    def _arm_fallback(self, board_id: UUID, feed: BoardFeed) -> None:
        """Make sure the board's fallback poll is due within `fallback_s`."""
        if feed.fallback is None:
            loop = asyncio.get_running_loop()
            feed.fallback = loop.call_later(self.fallback_s, self._fall_back, board_id, feed)

    def _fall_back(self, board_id: UUID, feed: BoardFeed) -> None:
        """The fallback poll: waiters read the database again, and the feed reads it for
        the parked (one read, rather than every parked subscriber woken to read)."""
        feed.refreshed_at = 0.0
        feed.wake()
        if feed.parked:
            self._read_in(board_id, feed)

    async def _read_ahead(self, board_id: UUID, feed: BoardFeed) -> None:
        """Read the board's new events into the window, write them to its parked
        subscribers, then wake its waiters."""
        try:
            while True:
                before = feed.head
                await self._refresh(board_id, feed)
                assert feed.head is not None
                feed.parked.push(
                    feed.head,
                    lambda after, only: self._window_frames(
                        feed, after=after, limit=BATCH, only=only
                    ),
                )
                feed.wake()
                if feed.parked:  # the wake-up stopped their fallback poll's countdown
                    self._arm_fallback(board_id, feed)
                # done when it has what was notified, or when nothing newer came (a seq
                # from elsewhere than our writes: the waiters' fallback reads take over)
                if feed.hint <= feed.head or feed.head == before:
                    break
        except Exception:  # the waiters, woken, read the database themselves
            log.exception("reading board %s after a notification failed", board_id)
            feed.parked.release_all()
            feed.wake()
        finally:
            feed.reading = None

    def nothing_after(self, board_id: UUID, seq: int) -> bool:
        """Whether a read after `seq` would find nothing now: this process has read every
        event notified so far, and none is newer than `seq`. (Any later notification
        wakes the board's waiters.)"""
        feed = self.board(board_id)
        return self.listening and feed.head is not None and feed.head <= seq and feed.hint <= seq

    async def wait(self, board_id: UUID, after: int, timeout_s: float) -> None:
        """Return when the board may have events newer than `after`, or after `timeout_s`
        (at most the fallback interval: a wait for longer returns then too)."""
        feed = self.board(board_id)
        # Newer than `after` and not to be waited for: what the window holds, or what a
        # notification told of since the last database read (perhaps while nobody waited,
        # so that its wake-up woke nobody).
        if feed.hint > after and (
            feed.head is None or feed.head > after or feed.hint > feed.read_hint
        ):
            return
        changed = feed.changed
        if timeout_s >= self.fallback_s:
            # Every subscriber waits once per event on a busy board: they share one timer
            # (a timer each, set and cancelled per event, was a few per cent of a streaming
            # process's CPU). A waiter that joins late is woken early, and reads again.
            self._arm_fallback(board_id, feed)
            feed.waiting += 1
            try:
                await changed.wait()
            finally:
                feed.waiting -= 1
            return
        feed.waiting += 1
        try:
            # asyncio.timeout, not wait_for: no extra task per wait (once per event per
            # subscriber on a busy board)
            async with asyncio.timeout(max(0.0, timeout_s)):
                await changed.wait()
        except TimeoutError:
            feed.refreshed_at = 0.0  # the fallback poll: look at the database again
        finally:
            feed.waiting -= 1

    async def park(
        self,
        board_id: UUID,
        *,
        cursor: int,
        only: EventFilter,
        write: Write,
        timeout_s: float | None,
    ) -> int:
        """Wait at the head of the board (see `nothing_after`) while the feed writes each
        new batch of matching frames with `write`. Return the cursor written up to, once
        the subscriber must go on by itself: its connection could not take a batch, it
        fell behind the window, a read failed, or nothing was written for `timeout_s`
        (for a keep-alive; the feed's own fallback poll reads for the parked)."""
        feed = self.board(board_id)
        parked = feed.parked.add(only, write, cursor)
        feed.waiting += 1
        self._arm_fallback(board_id, feed)
        try:
            # asyncio.wait, not a timeout: it leaves the future to be waited on again
            while not parked.released.done():
                if timeout_s is None:
                    await parked.released
                    break
                quiet_for = time.monotonic() - parked.written_at
                if quiet_for >= timeout_s:
                    break
                await asyncio.wait([parked.released], timeout=timeout_s - quiet_for)
        finally:
            feed.waiting -= 1
            feed.parked.remove(only, parked)
        return parked.cursor

    def _current(self, feed: BoardFeed) -> bool:
        # Without notifications, a hint says nothing: only the database knows.
        fresh = time.monotonic() - feed.refreshed_at < self.fallback_s
        return self.listening and feed.head is not None and feed.hint <= feed.head and fresh

    async def _refresh(self, board_id: UUID, feed: BoardFeed) -> None:
        if self._current(feed):  # the common case for all but the first subscriber
            return
        async with feed.lock:
            if self._current(feed):  # another subscriber read it while we queued
                return
            seen = feed.hint
            async with self.db.connection() as conn:
                if feed.head is None:
                    feed.head = await event_store.last_seq(conn, board_id=board_id)
                while True:
                    batch = await event_store.read(
                        conn, board_id=board_id, after=feed.head, limit=FETCH
                    )
                    if batch:
                        feed.joined.clear()
                    feed.recent.extend(batch)
                    feed.encoded.update((e.seq, self._encode(e)) for e in batch)
                    if batch:
                        feed.head = batch[-1].seq
                    if len(batch) < FETCH:
                        break
            feed.hint = max(feed.hint, feed.head)
            feed.read_hint = max(seen, feed.head)
            feed.refreshed_at = time.monotonic()
            # seqs enter `encoded` in order, so the ones that left `recent` are its first
            while len(feed.encoded) > len(feed.recent):
                del feed.encoded[next(iter(feed.encoded))]

    async def frames(
        self, board_id: UUID, *, after: int, limit: int, only: EventFilter
    ) -> tuple[bytes, int]:
        """`read`, the events as their frames (`encode`, from the per-process cache when
        recent) joined into one write: for a stream, what it sends."""
        feed = self.board(board_id)
        await self._refresh(board_id, feed)
        found = self._window_frames(feed, after=after, limit=limit, only=only)
        if found is not None:
            return found
        events, scanned = await self._read_database(board_id, after=after, limit=limit, only=only)
        return b"".join([self._encode(e) for e in events]), scanned

    def _window_frames(
        self, feed: BoardFeed, *, after: int, limit: int, only: EventFilter
    ) -> tuple[bytes, int] | None:
        """`frames` from the window, or None if it starts after `after`."""
        key = (after, only, limit)
        found = feed.joined.get(key)
        if found is not None:
            return found
        assert feed.head is not None
        if after + 1 < self._first(feed):
            return None
        events, scanned = self._window_read(feed, after=after, limit=limit, only=only)
        encoded = feed.encoded
        frames = b"".join([encoded.get(e.seq) or self._encode(e) for e in events])
        feed.joined[key] = frames, scanned  # from the window: the same for everyone
        return frames, scanned

    @staticmethod
    def _first(feed: BoardFeed) -> int:
        assert feed.head is not None
        return feed.recent[0].seq if feed.recent else feed.head + 1

    async def read(
        self, board_id: UUID, *, after: int, limit: int, only: EventFilter
    ) -> tuple[list[Event], int]:
        """Return up to `limit` matching events after `after`, and the seq read up to.

        The second value may pass the last returned event when the events in between did
        not match the filter: a reader can move its cursor there without missing anything.
        """
        feed = self.board(board_id)
        await self._refresh(board_id, feed)
        assert feed.head is not None
        if after + 1 < self._first(feed):
            return await self._read_database(board_id, after=after, limit=limit, only=only)
        return self._window_read(feed, after=after, limit=limit, only=only)

    @staticmethod
    def _window_read(
        feed: BoardFeed, *, after: int, limit: int, only: EventFilter
    ) -> tuple[list[Event], int]:
        assert feed.head is not None
        matched: list[Event] = []
        scanned = after
        # A live subscriber is near the head: walk in from the newer end (a deque's
        # indexing and islice start from the older end, which costs the whole window).
        newer = list(islice(reversed(feed.recent), max(0, feed.head - after)))
        for event in reversed(newer):
            if len(matched) == limit:
                break
            scanned = event.seq
            if only.matches(event):
                matched.append(event)
        return matched, scanned

    async def with_bodies(self, board_id: UUID, events: list[Event]) -> list[Event]:
        """The events, each `artifact.published` one with its version's `body` in its data
        (read from the database once per process while the event is recent)."""
        feed = self.board(board_id)
        wanted = [e.subject_id for e in events if e.kind == "artifact.published"]
        missing = [i for i in wanted if i is not None and i not in feed.bodies]
        if missing:
            async with self.db.connection() as conn:
                feed.bodies.update(await artifact_store.bodies(conn, ids=missing))
            while len(feed.bodies) > WINDOW:  # oldest first: dicts keep insertion order
                del feed.bodies[next(iter(feed.bodies))]
        return [
            e.model_copy(update={"data": {**e.data, "body": feed.bodies.get(e.subject_id)}})
            if e.kind == "artifact.published" and e.subject_id is not None
            else e
            for e in events
        ]

    async def _read_database(
        self, board_id: UUID, *, after: int, limit: int, only: EventFilter
    ) -> tuple[list[Event], int]:
        async with self.db.connection() as conn:
            # The board's seq first: every event up to it is committed, so a filtered read
            # that finds fewer than `limit` matches has seen everything up to it.
            upto = await event_store.last_seq(conn, board_id=board_id)
            events = await event_store.read(
                conn,
                board_id=board_id,
                after=after,
                limit=limit,
                kinds=sorted(only.kinds) if only.kinds is not None else None,
                types=sorted(only.types) if only.types is not None else None,
                keys=sorted(only.keys) if only.keys is not None else None,
                key_prefix=only.key_prefix,
                upto=upto,
            )
        scanned = events[-1].seq if len(events) == limit else max(upto, after)
        return events, scanned
