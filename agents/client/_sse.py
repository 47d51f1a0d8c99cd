"""Server-Sent Events, I/O-free: a line parser and the bookkeeping of a board's event stream
that reconnects with `Last-Event-ID` (both clients drive it; neither repeats it)."""

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote
from uuid import UUID

import httpx

from agents.client import errors
from agents.client.models import Event, InboxItem


@dataclass
class Message:
    """One dispatched Server-Sent Event."""

    data: str
    event: str = "message"
    id: str | None = None


@dataclass
class SSEParser:
    """Feed it lines (without their line ending); it returns each message as it completes.

    Follows the HTML spec's rules: `:` lines are comments, a blank line dispatches, one
    leading space after the colon is dropped, several `data:` lines join with newlines,
    and a message without data is not dispatched.
    """

    _data: list[str] = field(default_factory=list)
    _event: str = ""
    _id: str | None = None

    def feed(self, line: str) -> Message | None:
        """Take one line; return the message it completes, if any."""
        if line == "":
            message = None
            if self._data:
                message = Message("\n".join(self._data), self._event or "message", self._id)
            self._data, self._event = [], ""
            return message
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\x00" not in value:
            self._id = value
        return None

    def reset(self) -> None:
        """Forget a half-received message (the connection broke in the middle of it)."""
        self._data, self._event = [], ""


@dataclass
class Backoff:
    """Exponential backoff with jitter: base * 2**attempt, capped, times 0.5-1.0."""

    base: float = 0.25
    cap: float = 5.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt number `attempt + 1` (attempt counts from 0)."""
        return min(self.cap, self.base * 2.0**attempt) * (0.5 + random.random() / 2)


@dataclass
class EventStream:
    """A board's event stream across reconnections: what to ask for next, which events are
    new, and whether to try again after a broken connection.

    `last_seq` is the newest seq delivered; every (re)connection resumes after it with
    `Last-Event-ID`, and an event at or below it is never delivered twice. A connection
    that ends or breaks counts as a failure; `max_failures` in a row without receiving an
    event give up with `TransportError`. An error status other than 5xx (4xx: unknown
    board, bad token) is raised at once, typed.
    """

    board_id: UUID | str
    after: int | None = None
    kinds: Sequence[str] | None = None
    types: Sequence[str] | None = None
    keys: Sequence[str] | None = None
    key_prefix: str | None = None
    include_body: bool = False
    max_failures: int = 5
    backoff: Backoff = field(default_factory=Backoff)
    read_timeout: float = 60.0
    last_seq: int | None = None
    failures: int = 0
    parser: SSEParser = field(default_factory=SSEParser)

    def __post_init__(self) -> None:
        if self.last_seq is None:
            self.last_seq = self.after

    def request(self, http: httpx.Client | httpx.AsyncClient, timeout: float) -> httpx.Request:
        """The request for the next connection, resuming after the last seq seen."""
        self.parser.reset()
        params: list[tuple[str, str | int | float | bool | None]] = []
        if self.after is not None:
            params.append(("after", self.after))
        params += [("kind", k) for k in self.kinds or ()]
        params += [("type", t) for t in self.types or ()]
        params += [("key", k) for k in self.keys or ()]
        if self.key_prefix:
            params.append(("key_prefix", self.key_prefix))
        if self.include_body:
            params.append(("include", "body"))
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.last_seq is not None:
            headers["Last-Event-ID"] = str(self.last_seq)
        return http.build_request(
            "GET",
            f"/v1/boards/{quote(str(self.board_id), safe='')}/events/stream",
            params=params,
            headers=headers,
            timeout=httpx.Timeout(timeout, read=self.read_timeout),
        )

    def opened(self, response: httpx.Response) -> float | None:
        """After a response was read to its end if its status is an error: None to go on
        reading it, a delay before reconnecting (5xx), or a raised typed error (4xx)."""
        if response.status_code < 400:
            return None
        error = errors.from_response(response)
        if response.status_code < 500:
            raise error
        return self.failed(error)

    def line(self, line: str) -> Event | None:
        """Take one line of the stream; return a new event it completes, if any."""
        message = self.parser.feed(line)
        if message is None:
            return None
        event = Event.model_validate_json(message.data)
        if self.last_seq is not None and event.seq <= self.last_seq:
            return None  # already delivered before a reconnection
        self.last_seq = event.seq
        self.failures = 0
        return event

    def failed(self, cause: BaseException | None) -> float:
        """The connection ended or broke: the delay before the next attempt, or raise
        TransportError after too many failures in a row."""
        self.failures += 1
        if self.failures > self.max_failures:
            raise errors.TransportError(
                f"event stream of board {self.board_id}: gave up after"
                f" {self.max_failures} failed reconnections ({cause!r})"
            ) from cause
        return self.backoff.delay(self.failures - 1)


@dataclass
class InboxStream(EventStream):
    """The calling agent's inbox across boards. Every (re)connection starts with a fresh
    snapshot of what it can claim, so there is nothing to resume: no Last-Event-ID."""

    board_id: UUID | str = "me"

    def request(self, http: httpx.Client | httpx.AsyncClient, timeout: float) -> httpx.Request:
        """The request for the next connection."""
        self.parser.reset()
        return http.build_request(
            "GET",
            "/v1/agents/me/events/stream",
            headers={"Accept": "text/event-stream", "Cache-Control": "no-cache"},
            timeout=httpx.Timeout(timeout, read=self.read_timeout),
        )

    def item(self, line: str) -> InboxItem | None:
        """Take one line of the stream; return the inbox item it completes, if any."""
        message = self.parser.feed(line)
        if message is None:
            return None
        self.failures = 0
        data = json.loads(message.data)
        return InboxItem.model_validate({**data, "kind": message.event or "message", "data": data})
