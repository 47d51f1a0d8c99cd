"""How every call of the REST API is written once, for both clients to send.

Design ("request spec + parser"): each endpoint is a plain function that turns arguments
into a `Request` — method, path, query, JSON body, headers, whether it may be resent, and
the function that parses the answer. The `endpoint` descriptor puts it on `Client` (which
sends it with `httpx.Client` and returns the parsed value) and on `AsyncClient` (which sends
it with `httpx.AsyncClient` and returns an awaitable of it), so a call is never written
twice. The builders live in one part per concern (`_registry`, `_artifacts`, `_claims`,
`_tasks`, `_runs`, `_webhooks`), each a mixin both clients inherit, so no module holds the
whole contract. What the two clients share beyond that is I/O-free too: retry decisions
(`_clients.Retries`), SSE parsing and the reconnect bookkeeping of event streams (`_sse`);
each client only adds the few lines that send, sleep and read.
"""

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, Self, TypeVar, overload
from urllib.parse import quote
from uuid import UUID

import httpx
from pydantic import BaseModel

from agents.client import errors

if TYPE_CHECKING:
    from agents.client._clients import AsyncClient, Client

T = TypeVar("T")
P = ParamSpec("P")
M = TypeVar("M", bound=BaseModel)

Id = UUID | str
QueryValue = str | int | float | bool | None


# --- the request description -------------------------------------------------------------


@dataclass(frozen=True)
class Request(Generic[T]):
    """One HTTP exchange described without doing it, and how to read its answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: list[tuple[str, QueryValue]] = field(default_factory=list)
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    retry: bool = False  # safe to send again as it is (a read, or carries an Idempotency-Key)
    wait_s: float = 0.0  # the server may hold the answer this long (long-polls)

    def build(self, http: httpx.Client | httpx.AsyncClient, timeout: float) -> httpx.Request:
        """The httpx request, with the read timeout stretched by any long-poll wait."""
        return http.build_request(
            self.method,
            self.path,
            params=self.params or None,
            json=self.json,
            headers=self.headers or None,
            timeout=httpx.Timeout(timeout, read=timeout + self.wait_s),
        )

    def answer(self, response: httpx.Response) -> T:
        """The parsed answer, or the typed error the response carries."""
        if response.status_code >= 400:
            raise errors.from_response(response)
        return self.parse(response)


def _one(cls: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: cls.model_validate_json(response.content)


def _items(cls: type[M]) -> Callable[[httpx.Response], list[M]]:
    return lambda response: [cls.model_validate(item) for item in response.json()["items"]]


def _seg(value: Id | str) -> str:
    """One path segment, escaped (so a key with `/` in it stays one segment)."""
    return quote(str(value), safe="")


def _query(**values: QueryValue | Sequence[str] | UUID | None) -> list[tuple[str, QueryValue]]:
    """Query parameters without the unset ones; sequences repeat the name."""
    params: list[tuple[str, QueryValue]] = []
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, UUID):
            params.append((name, str(value)))
        elif isinstance(value, str | int | float | bool):
            params.append((name, value))
        else:
            params.extend((name, v) for v in value)
    return params


def _json(**values: Any) -> dict[str, Any]:
    """A request body without the unset fields (so the service's defaults apply)."""
    return {k: str(v) if isinstance(v, UUID) else v for k, v in values.items() if v is not None}


def _ids(values: Sequence[Id] | None) -> list[str] | None:
    return None if values is None else [str(v) for v in values]


# --- the descriptor that makes one builder a method of both clients ----------------------


class endpoint(Generic[P, T]):
    """Turn a request builder into a method: sync on `Client`, awaitable on `AsyncClient`."""

    def __init__(self, build: Callable[P, Request[T]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: "Client", owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(self, obj: "AsyncClient", owner: type[Any]) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, obj: Any, owner: type[Any]) -> Any:
        if obj is None:
            return self
        build, send = self.build, obj._send

        @functools.wraps(build)
        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            return send(build(*args, **kwargs))

        return method
