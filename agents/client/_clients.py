"""The two clients: thin shells that send the requests `Endpoints` describes.

Each adds only what differs between blocking and async I/O: sending, sleeping between
retries, and reading an event stream line by line. Every endpoint method comes from
`Endpoints` and `WebhookEndpoints` (their builders are written once, see `_core`), so
`Client().publish(...)` returns an `Artifact` and `await AsyncClient().publish(...)` does too.
"""

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, TypeVar
from uuid import UUID

import httpx

from agents.client import errors
from agents.client._artifacts import ArtifactEndpoints
from agents.client._claims import ClaimEndpoints
from agents.client._core import Id, Request
from agents.client._holding import AsyncRoleHold, RoleHold
from agents.client._registry import RegistryEndpoints
from agents.client._runs import RunEndpoints
from agents.client._sse import Backoff, EventStream, InboxStream
from agents.client._tasks import TaskEndpoints
from agents.client._webhooks import WebhookEndpoints
from agents.client.models import Claim, Event, InboxItem

T = TypeVar("T")

USER_AGENT = "blackboard-agents/0.1"


def _headers(token: str | None, headers: Mapping[str, str] | None) -> dict[str, str]:
    merged = {"User-Agent": USER_AGENT, **(headers or {})}
    if token:
        merged["Authorization"] = f"Bearer {token}"
    return merged


@dataclass(frozen=True)
class Retries:
    """When to send a request again: only one marked `retry` (a read, or one carrying an
    Idempotency-Key), after a broken connection or a 5xx, at most `attempts` more times."""

    attempts: int = 3
    backoff: Backoff = field(default_factory=Backoff)

    def after_error(self, request: Request[Any], attempt: int, exc: httpx.TransportError) -> float:
        """The delay before resending after `exc`, or raise TransportError to give up."""
        if request.retry and attempt < self.attempts:
            return self.backoff.delay(attempt)
        raise errors.TransportError(f"{request.method} {request.path}: {exc!r}") from exc

    def after_response(
        self, request: Request[Any], attempt: int, response: httpx.Response
    ) -> float | None:
        """The delay before resending after this answer, or None to take it."""
        if response.status_code >= 500 and request.retry and attempt < self.attempts:
            return self.backoff.delay(attempt)
        return None


@dataclass(frozen=True)
class Targets:
    """Which artifact keys a stream follows, and whether its events carry bodies."""

    keys: Sequence[str] | None = None
    key_prefix: str | None = None
    include_body: bool = False


class _Settings:
    """What both clients are configured with."""

    def __init__(
        self,
        *,
        timeout: float,
        retries: int,
        backoff: Backoff | None,
        stream_failures: int,
        stream_read_timeout: float,
    ) -> None:
        self.timeout = timeout
        self.retries = Retries(retries, backoff or Backoff())
        self.backoff = backoff or Backoff()
        self.stream_failures = stream_failures
        self.stream_read_timeout = stream_read_timeout

    def inbox_stream(self) -> InboxStream:
        return InboxStream(
            max_failures=self.stream_failures,
            backoff=self.backoff,
            read_timeout=self.stream_read_timeout,
        )

    def event_stream(
        self,
        board_id: UUID | str,
        after: int | None,
        kinds: Sequence[str] | None,
        types: Sequence[str] | None,
        targets: "Targets",
    ) -> EventStream:
        return EventStream(
            board_id,
            after=after,
            kinds=kinds,
            types=types,
            keys=targets.keys,
            key_prefix=targets.key_prefix,
            include_body=targets.include_body,
            max_failures=self.stream_failures,
            backoff=self.backoff,
            read_timeout=self.stream_read_timeout,
        )


class Endpoints(RegistryEndpoints, ArtifactEndpoints, ClaimEndpoints, TaskEndpoints, RunEndpoints):
    """The REST API, one builder per endpoint; `Client` and `AsyncClient` inherit them."""


class Client(Endpoints, WebhookEndpoints):
    """Blocking client for one identity (an agent's token, or the admin token).

    `transport` is handed to httpx (e.g. a custom `httpx.BaseTransport` in tests).
    Requests marked safe to resend (reads, and publishes with their Idempotency-Key) are
    retried `retries` times after a broken connection or a 5xx; others fail at once with
    `TransportError`.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: Backoff | None = None,
        stream_failures: int = 5,
        stream_read_timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = _Settings(
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            stream_failures=stream_failures,
            stream_read_timeout=stream_read_timeout,
        )
        self.http = httpx.Client(
            base_url=base_url,
            headers=_headers(token, headers),
            timeout=timeout,
            transport=transport,
        )

    def _send(self, request: Request[T]) -> T:
        attempt = 0
        while True:
            try:
                response = self.http.send(request.build(self.http, self.settings.timeout))
            except httpx.TransportError as exc:
                delay = self.settings.retries.after_error(request, attempt, exc)
            else:
                retry_in = self.settings.retries.after_response(request, attempt, response)
                if retry_in is None:
                    return request.answer(response)
                delay = retry_in
            time.sleep(delay)
            attempt += 1

    def stream_events(
        self,
        board_id: UUID | str,
        *,
        after: int | None = None,
        kinds: Sequence[str] | None = None,
        types: Sequence[str] | None = None,
        keys: Sequence[str] | None = None,
        key_prefix: str | None = None,
        include_body: bool = False,
    ) -> Generator[Event, None, None]:
        """Follow the board's events live (Server-Sent Events), from `after` on.

        `keys`/`key_prefix` keep the events about those artifact keys; `include_body` puts
        each published version's body in its event. A dropped connection is reopened with
        `Last-Event-ID`, so every event arrives once and in order; gives up with
        `TransportError` after `stream_failures` failed attempts in a row.
        Close the iterator (or leave the loop) to hang up.
        """
        targets = Targets(keys, key_prefix, include_body)
        stream = self.settings.event_stream(board_id, after, kinds, types, targets)
        yield from self._follow(stream, stream.line)

    def hold_role(
        self,
        board_id: Id,
        role: str,
        scope: str | None = None,
        *,
        ttl_s: float = 30.0,
        wait_s: float | None = None,
        on_lost: Callable[[Claim], Any] | None = None,
    ) -> RoleHold:
        """Hold a role for a block: `with client.hold_role(board, "node", "7") as hold:`.
        Claims it (waiting out RoleTaken until the holder's lease lapses, for at most
        `wait_s` if given), renews it every third of `ttl_s` in a thread, and releases it
        at the end. `hold.claim_id`, `hold.fencing_token`; `hold.lost` (an Event) and
        `on_lost` signal its loss, after which `hold.publish` raises LeaseLost."""
        return RoleHold(
            self, board_id, role, scope=scope, ttl_s=ttl_s, wait_s=wait_s, on_lost=on_lost
        )

    def stream_inbox(self) -> Generator[InboxItem, None, None]:
        """Follow the calling agent's inbox across every board: first the tasks it could
        claim now, then tasks as they become claimable and turns offered to it.
        Reconnects after a drop (and starts again with a fresh snapshot)."""
        stream = self.settings.inbox_stream()
        yield from self._follow(stream, stream.item)

    def _follow(
        self, stream: EventStream, parse: Callable[[str], T | None]
    ) -> Generator[T, None, None]:
        while True:
            try:
                request = stream.request(self.http, self.settings.timeout)
                response = self.http.send(request, stream=True)
                try:
                    if response.status_code >= 400:
                        response.read()
                    delay = stream.opened(response)
                    if delay is None:
                        for line in response.iter_lines():
                            item = parse(line)
                            if item is not None:
                                yield item
                        delay = stream.failed(None)  # the service ended the stream
                finally:
                    response.close()
            except httpx.TransportError as exc:
                delay = stream.failed(exc)
            time.sleep(delay)

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(Endpoints, WebhookEndpoints):
    """Async client for one identity; every endpoint method returns an awaitable.

    Same behaviour as `Client`; `transport` is an `httpx.AsyncBaseTransport` (e.g.
    `httpx.ASGITransport(app)` to talk to an app in-process).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: Backoff | None = None,
        stream_failures: int = 5,
        stream_read_timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = _Settings(
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            stream_failures=stream_failures,
            stream_read_timeout=stream_read_timeout,
        )
        self.http = httpx.AsyncClient(
            base_url=base_url,
            headers=_headers(token, headers),
            timeout=timeout,
            transport=transport,
        )

    async def _send(self, request: Request[T]) -> T:
        attempt = 0
        while True:
            try:
                response = await self.http.send(request.build(self.http, self.settings.timeout))
            except httpx.TransportError as exc:
                delay = self.settings.retries.after_error(request, attempt, exc)
            else:
                retry_in = self.settings.retries.after_response(request, attempt, response)
                if retry_in is None:
                    return request.answer(response)
                delay = retry_in
            await asyncio.sleep(delay)
            attempt += 1

    async def stream_events(
        self,
        board_id: UUID | str,
        *,
        after: int | None = None,
        kinds: Sequence[str] | None = None,
        types: Sequence[str] | None = None,
        keys: Sequence[str] | None = None,
        key_prefix: str | None = None,
        include_body: bool = False,
    ) -> AsyncGenerator[Event, None]:
        """Follow the board's events live (Server-Sent Events), from `after` on.

        `keys`/`key_prefix` keep the events about those artifact keys; `include_body` puts
        each published version's body in its event. A dropped connection is reopened with
        `Last-Event-ID`, so every event arrives once and in order; gives up with
        `TransportError` after `stream_failures` failed attempts in a row.
        Close the iterator (`aclose()`) to hang up.
        """
        targets = Targets(keys, key_prefix, include_body)
        stream = self.settings.event_stream(board_id, after, kinds, types, targets)
        async for event in self._follow(stream, stream.line):
            yield event

    def hold_role(
        self,
        board_id: Id,
        role: str,
        scope: str | None = None,
        *,
        ttl_s: float = 30.0,
        wait_s: float | None = None,
        on_lost: Callable[[Claim], Any] | None = None,
    ) -> AsyncRoleHold:
        """Hold a role for a block: `async with client.hold_role(board, "node", "7") as hold:`.
        Claims it (waiting out RoleTaken until the holder's lease lapses, for at most
        `wait_s` if given), renews it every third of `ttl_s` in a task, and releases it
        at the end. `hold.claim_id`, `hold.fencing_token`; `hold.lost` (an asyncio.Event) and
        `on_lost` signal its loss, after which `hold.publish` raises LeaseLost."""
        return AsyncRoleHold(
            self, board_id, role, scope=scope, ttl_s=ttl_s, wait_s=wait_s, on_lost=on_lost
        )

    async def stream_inbox(self) -> AsyncGenerator[InboxItem, None]:
        """Follow the calling agent's inbox across every board: first the tasks it could
        claim now, then tasks as they become claimable and turns offered to it.
        Reconnects after a drop (and starts again with a fresh snapshot)."""
        stream = self.settings.inbox_stream()
        async for item in self._follow(stream, stream.item):
            yield item

    async def _follow(
        self, stream: EventStream, parse: Callable[[str], T | None]
    ) -> AsyncGenerator[T, None]:
        while True:
            try:
                request = stream.request(self.http, self.settings.timeout)
                response = await self.http.send(request, stream=True)
                try:
                    if response.status_code >= 400:
                        await response.aread()
                    delay = stream.opened(response)
                    if delay is None:
                        async for line in response.aiter_lines():
                            item = parse(line)
                            if item is not None:
                                yield item
                        delay = stream.failed(None)  # the service ended the stream
                finally:
                    await response.aclose()
            except httpx.TransportError as exc:
                delay = stream.failed(exc)
            await asyncio.sleep(delay)

    async def aclose(self) -> None:
        """Close the connections."""
        await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
