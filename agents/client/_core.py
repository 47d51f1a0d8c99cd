"""Every call of the REST API, written once, and the two thin clients that send them.

Design ("request spec + parser"): each endpoint is a plain function that turns arguments
into a `Request` — method, path, query, JSON body, headers, whether it may be resent, and
the function that parses the answer. The `endpoint` descriptor puts it on `Client` (which
sends it with `httpx.Client` and returns the parsed value) and on `AsyncClient` (which sends
it with `httpx.AsyncClient` and returns an awaitable of it), so a call is never written
twice. What the two clients share beyond that is I/O-free too: retry decisions
(`_clients.Retries`), SSE parsing and the reconnect bookkeeping of event streams (`_sse`);
each client only adds the few lines that send, sleep and read.
"""

import functools
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, ParamSpec, Self, TypeVar, overload
from urllib.parse import quote
from uuid import UUID

import httpx
from pydantic import BaseModel

from agents.client import errors
from agents.client.models import Abstention as AbstentionRecord
from agents.client.models import (
    AbstentionPage,
    Agent,
    AgentCreated,
    Artifact,
    ArtifactDraft,
    Board,
    Call,
    Claim,
    Event,
    Health,
    Lineage,
    Page,
    Run,
    RunDetail,
    Task,
    TaskCompleted,
    Turn,
    TurnDone,
    TypeDetail,
    TypeVersion,
)

if TYPE_CHECKING:
    from agents.client._clients import AsyncClient, Client

T = TypeVar("T")
P = ParamSpec("P")
M = TypeVar("M", bound=BaseModel)

Id = UUID | str
MetricPart = Literal[
    "roles", "abstentions", "claims", "tasks", "interactions", "entropy", "duplicates"
]
Body = Mapping[str, Any] | BaseModel
Draft = ArtifactDraft | Mapping[str, Any]
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


def _json_object(response: httpx.Response) -> dict[str, Any]:
    # Metrics come back as plain JSON: their shapes are documented in the OpenAPI spec, and
    # mirroring every one of them here as a model would only drift.
    data: dict[str, Any] = response.json()
    return data


def _compared(response: httpx.Response) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = response.json()["runs"]
    return runs


def _task_or_none(response: httpx.Response) -> Task | None:
    return None if response.status_code == 204 else Task.model_validate_json(response.content)


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


def _body(body: Body) -> dict[str, Any]:
    if isinstance(body, BaseModel):
        return body.model_dump(mode="json")
    return dict(body)


def _draft(draft: Draft) -> dict[str, Any]:
    if isinstance(draft, ArtifactDraft):
        return draft.to_json()
    return ArtifactDraft.model_validate(
        {**draft, "body": _body(draft["body"])} if "body" in draft else draft
    ).to_json()


def _ids(values: Sequence[Id] | None) -> list[str] | None:
    return None if values is None else [str(v) for v in values]


def _idempotent(key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": key or str(uuid.uuid4())}


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


# --- every endpoint of the contract ------------------------------------------------------


class Endpoints:
    """The REST API, one builder per endpoint; `Client` and `AsyncClient` inherit them."""

    # health and agents

    @endpoint
    def health() -> Request[Health]:
        """`GET /healthz`: ok when the service and its database answer."""
        return Request("GET", "/healthz", _one(Health), retry=True)

    @endpoint
    def register_agent(
        name: str,
        capabilities: Sequence[str] = (),
        *,
        description: str | None = None,
        model: str | None = None,
    ) -> Request[AgentCreated]:
        """Register an agent (admin); the answer carries its token, shown only this once."""
        body = _json(
            name=name, capabilities=list(capabilities), description=description, model=model
        )
        return Request("POST", "/v1/agents", _one(AgentCreated), json=body)

    @endpoint
    def list_agents(*, limit: int | None = None, after: str | None = None) -> Request[list[Agent]]:
        """List agents by name (`after`: the name to continue after)."""
        params = _query(limit=limit, after=after)
        return Request("GET", "/v1/agents", _items(Agent), params=params, retry=True)

    @endpoint
    def me() -> Request[Agent]:
        """The calling agent."""
        return Request("GET", "/v1/agents/me", _one(Agent), retry=True)

    # boards

    @endpoint
    def create_board(name: str, *, mission: str | None = None) -> Request[Board]:
        """Create a board (admin)."""
        return Request("POST", "/v1/boards", _one(Board), json=_json(name=name, mission=mission))

    @endpoint
    def list_boards(*, limit: int | None = None, after: str | None = None) -> Request[list[Board]]:
        """List boards by name (`after`: the name to continue after)."""
        params = _query(limit=limit, after=after)
        return Request("GET", "/v1/boards", _items(Board), params=params, retry=True)

    @endpoint
    def get_board(board_id: Id) -> Request[Board]:
        """One board, with the seq of its newest event."""
        return Request("GET", f"/v1/boards/{_seg(board_id)}", _one(Board), retry=True)

    # the type registry

    @endpoint
    def put_type(
        name: str, schema: Mapping[str, Any], *, description: str | None = None
    ) -> Request[TypeVersion]:
        """Register a JSON Schema as the type's next version (admin; unchanged: same version)."""
        body = _json(schema=dict(schema), description=description)
        return Request("PUT", f"/v1/types/{_seg(name)}", _one(TypeVersion), json=body, retry=True)

    @endpoint
    def list_types() -> Request[list[TypeVersion]]:
        """Every type at its newest version."""
        return Request("GET", "/v1/types", _items(TypeVersion), retry=True)

    @endpoint
    def get_type(name: str) -> Request[TypeDetail]:
        """A type's newest version and its version list."""
        return Request("GET", f"/v1/types/{_seg(name)}", _one(TypeDetail), retry=True)

    @endpoint
    def get_type_version(name: str, version: int) -> Request[TypeVersion]:
        """One version of a type."""
        path = f"/v1/types/{_seg(name)}/versions/{int(version)}"
        return Request("GET", path, _one(TypeVersion), retry=True)

    # artifacts

    @endpoint
    def publish(
        board_id: Id,
        type: str,
        body: Body,
        *,
        key: str | None = None,
        parents: Sequence[Id] | None = None,
        role: str | None = None,
        tags: Sequence[str] | None = None,
        expected_version: int | None = None,
        claim_id: Id | None = None,
        idempotency_key: str | None = None,
    ) -> Request[Artifact]:
        """Publish an artifact version. Sent with an Idempotency-Key (a fresh one unless
        given) and resent with the same key after a broken connection or a 5xx, so a retry
        never writes twice."""
        payload = _json(
            type=type,
            body=_body(body),
            key=key,
            parents=_ids(parents),
            role=role,
            tags=None if tags is None else list(tags),
            expected_version=expected_version,
            claim_id=claim_id,
        )
        path = f"/v1/boards/{_seg(board_id)}/artifacts"
        headers = _idempotent(idempotency_key)
        return Request("POST", path, _one(Artifact), json=payload, headers=headers, retry=True)

    @endpoint
    def publish_batch(
        board_id: Id, items: Sequence[Draft], *, idempotency_key: str | None = None
    ) -> Request[list[Artifact]]:
        """Publish up to 1,000 artifacts, all or none (idempotent and retried like publish)."""
        path = f"/v1/boards/{_seg(board_id)}/artifacts/batch"
        payload = {"items": [_draft(d) for d in items]}
        headers = _idempotent(idempotency_key)
        return Request("POST", path, _items(Artifact), json=payload, headers=headers, retry=True)

    @endpoint
    def list_artifacts(
        board_id: Id,
        *,
        type: str | None = None,
        key: str | None = None,
        author: Id | None = None,
        role: str | None = None,
        tag: str | None = None,
        latest: bool | None = None,
        as_of: int | None = None,
        after: int | None = None,
        limit: int | None = None,
    ) -> Request[Page[Artifact]]:
        """A page of artifacts in seq order (latest versions only unless `latest=False`;
        `as_of`: the board as it stood at that seq)."""
        params = _query(
            type=type,
            key=key,
            author=None if author is None else str(author),
            role=role,
            tag=tag,
            latest=latest,
            as_of=as_of,
            after=after,
            limit=limit,
        )
        path = f"/v1/boards/{_seg(board_id)}/artifacts"
        return Request("GET", path, _one(Page[Artifact]), params=params, retry=True)

    @endpoint
    def get_artifact(board_id: Id, artifact_id: Id) -> Request[Artifact]:
        """One artifact version."""
        path = f"/v1/boards/{_seg(board_id)}/artifacts/{_seg(artifact_id)}"
        return Request("GET", path, _one(Artifact), retry=True)

    @endpoint
    def history(board_id: Id, key: str) -> Request[list[Artifact]]:
        """Every version of a key, oldest first, retracted ones included and marked."""
        path = f"/v1/boards/{_seg(board_id)}/keys/{_seg(key)}/history"
        return Request("GET", path, _items(Artifact), retry=True)

    @endpoint
    def lineage(
        board_id: Id,
        artifact_id: Id,
        *,
        direction: Literal["up", "down"] = "up",
        depth: int | None = None,
    ) -> Request[Lineage]:
        """The artifact's ancestors (up) or descendants (down), and the links among them."""
        path = f"/v1/boards/{_seg(board_id)}/artifacts/{_seg(artifact_id)}/lineage"
        params = _query(direction=direction, depth=depth)
        return Request("GET", path, _one(Lineage), params=params, retry=True)

    @endpoint
    def retract(board_id: Id, artifact_id: Id, reason: str) -> Request[Artifact]:
        """Withdraw a version you published: it stays in history, marked."""
        path = f"/v1/boards/{_seg(board_id)}/artifacts/{_seg(artifact_id)}/retract"
        return Request("POST", path, _one(Artifact), json={"reason": reason})

    # events

    @endpoint
    def read_events(
        board_id: Id,
        *,
        after: int = 0,
        limit: int | None = None,
        kinds: Sequence[str] | None = None,
        types: Sequence[str] | None = None,
        wait: float | None = None,
    ) -> Request[Page[Event]]:
        """Events after a seq, oldest first; with `wait` (seconds), long-poll until one
        exists. Continue from `next_after`, which may pass the last item under a filter."""
        params = _query(after=after, limit=limit, kind=kinds, type=types, wait=wait)
        path = f"/v1/boards/{_seg(board_id)}/events"
        return Request(
            "GET", path, _one(Page[Event]), params=params, retry=True, wait_s=wait or 0.0
        )

    # role claims and abstentions

    @endpoint
    def claim_role(
        board_id: Id,
        role: str,
        *,
        scope: str | None = None,
        exclusive: bool | None = None,
        ttl_s: float | None = None,
        rationale: str | None = None,
        confidence: float | None = None,
    ) -> Request[Claim]:
        """Claim a role (optionally for a scope) with a lease; RoleTaken if someone holds it."""
        body = _json(
            role=role,
            scope=scope,
            exclusive=exclusive,
            ttl_s=ttl_s,
            rationale=rationale,
            confidence=confidence,
        )
        return Request("POST", f"/v1/boards/{_seg(board_id)}/claims", _one(Claim), json=body)

    @endpoint
    def renew_claim(claim_id: Id, *, ttl_s: float | None = None) -> Request[Claim]:
        """Extend your claim's lease; LeaseLost if it already ran out or was released."""
        path = f"/v1/claims/{_seg(claim_id)}/renew"
        return Request("POST", path, _one(Claim), json=_json(ttl_s=ttl_s))

    @endpoint
    def release_claim(claim_id: Id) -> Request[Claim]:
        """Release your claim; LeaseLost if it is no longer active."""
        return Request("DELETE", f"/v1/claims/{_seg(claim_id)}", _one(Claim))

    @endpoint
    def get_claim(claim_id: Id) -> Request[Claim]:
        """One claim."""
        return Request("GET", f"/v1/claims/{_seg(claim_id)}", _one(Claim), retry=True)

    @endpoint
    def list_claims(
        board_id: Id,
        *,
        active: bool | None = None,
        role: str | None = None,
        agent: Id | None = None,
        limit: int | None = None,
    ) -> Request[list[Claim]]:
        """The board's claims, newest first."""
        params = _query(
            active=active, role=role, agent=None if agent is None else str(agent), limit=limit
        )
        path = f"/v1/boards/{_seg(board_id)}/claims"
        return Request("GET", path, _items(Claim), params=params, retry=True)

    @endpoint
    def abstain(
        board_id: Id,
        reason: str,
        *,
        scope: str | None = None,
        role: str | None = None,
        confidence: float | None = None,
    ) -> Request[AbstentionRecord]:
        """Record that you decline a scope or role, and why."""
        body = _json(reason=reason, scope=scope, role=role, confidence=confidence)
        path = f"/v1/boards/{_seg(board_id)}/abstentions"
        return Request("POST", path, _one(AbstentionRecord), json=body)

    @endpoint
    def list_abstentions(
        board_id: Id,
        *,
        agent: Id | None = None,
        role: str | None = None,
        task: Id | None = None,
        after: int | None = None,
        limit: int | None = None,
    ) -> Request[AbstentionPage]:
        """Abstentions in seq order, with counts per agent and per role."""
        params = _query(
            agent=None if agent is None else str(agent),
            role=role,
            task=None if task is None else str(task),
            after=after,
            limit=limit,
        )
        path = f"/v1/boards/{_seg(board_id)}/abstentions"
        return Request("GET", path, _one(AbstentionPage), params=params, retry=True)

    # tasks

    @endpoint
    def post_task(
        board_id: Id,
        title: str,
        *,
        spec: Mapping[str, Any] | None = None,
        wants_type: str | None = None,
        required_capabilities: Sequence[str] | None = None,
        inputs: Sequence[Id] | None = None,
        max_attempts: int | None = None,
    ) -> Request[Task]:
        """Post a task that agents with the required capabilities can volunteer for."""
        body = _json(
            title=title,
            spec=None if spec is None else dict(spec),
            wants_type=wants_type,
            required_capabilities=None
            if required_capabilities is None
            else list(required_capabilities),
            inputs=_ids(inputs),
            max_attempts=max_attempts,
        )
        return Request("POST", f"/v1/boards/{_seg(board_id)}/tasks", _one(Task), json=body)

    @endpoint
    def claim_task(board_id: Id, *, lease_s: float | None = None) -> Request[Task | None]:
        """Lease the oldest open task you can do, or None when there is nothing for you."""
        path = f"/v1/boards/{_seg(board_id)}/tasks/claim"
        return Request("POST", path, _task_or_none, json=_json(lease_s=lease_s))

    @endpoint
    def heartbeat(task_id: Id, *, lease_s: float | None = None) -> Request[Task]:
        """Extend your lease on a task; LeaseLost if it already ran out."""
        path = f"/v1/tasks/{_seg(task_id)}/heartbeat"
        return Request("POST", path, _one(Task), json=_json(lease_s=lease_s))

    @endpoint
    def complete_task(
        task_id: Id, artifact: Draft, *, idempotency_key: str | None = None
    ) -> Request[TaskCompleted]:
        """Publish the result artifact and complete the task, atomically (idempotent and
        retried like publish)."""
        path = f"/v1/tasks/{_seg(task_id)}/complete"
        body = {"artifact": _draft(artifact)}
        headers = _idempotent(idempotency_key)
        return Request("POST", path, _one(TaskCompleted), json=body, headers=headers, retry=True)

    @endpoint
    def fail_task(
        task_id: Id, reason: str, *, retry: bool | None = None, retry_after_s: float | None = None
    ) -> Request[Task]:
        """Give up your attempt: back to the pool (after `retry_after_s`) or failed for good."""
        body = _json(reason=reason, retry=retry, retry_after_s=retry_after_s)
        return Request("POST", f"/v1/tasks/{_seg(task_id)}/fail", _one(Task), json=body)

    @endpoint
    def abstain_task(task_id: Id, reason: str, *, confidence: float | None = None) -> Request[Task]:
        """Decline a task: never offered to you again, back to the pool if it was yours."""
        body = _json(reason=reason, confidence=confidence)
        return Request("POST", f"/v1/tasks/{_seg(task_id)}/abstain", _one(Task), json=body)

    @endpoint
    def get_task(task_id: Id) -> Request[Task]:
        """A task with every attempt."""
        return Request("GET", f"/v1/tasks/{_seg(task_id)}", _one(Task), retry=True)

    @endpoint
    def list_tasks(
        board_id: Id, *, status: str | None = None, limit: int | None = None
    ) -> Request[list[Task]]:
        """The board's tasks, oldest first (status: open, leased, completed or failed)."""
        params = _query(status=status, limit=limit)
        path = f"/v1/boards/{_seg(board_id)}/tasks"
        return Request("GET", path, _items(Task), params=params, retry=True)

    # runs and turns

    @endpoint
    def start_run(
        board_id: Id,
        protocol: str,
        roster: Sequence[Id],
        goal: str,
        *,
        rounds: int | None = None,
        turn_timeout_s: float | None = None,
        max_turns: int | None = None,
        max_tokens: int | None = None,
        max_wall_s: float | None = None,
        view: Mapping[str, Any] | None = None,
    ) -> Request[Run]:
        """Start a run of a protocol with a roster of agents; a controller picks it up."""
        body = _json(
            protocol=protocol,
            roster=_ids(roster),
            goal=goal,
            rounds=rounds,
            turn_timeout_s=turn_timeout_s,
            max_turns=max_turns,
            max_tokens=max_tokens,
            max_wall_s=max_wall_s,
            view=None if view is None else dict(view),
        )
        return Request("POST", f"/v1/boards/{_seg(board_id)}/runs", _one(Run), json=body)

    @endpoint
    def get_run(run_id: Id) -> Request[RunDetail]:
        """A run with its turns, and the claims and abstentions made in it."""
        return Request("GET", f"/v1/runs/{_seg(run_id)}", _one(RunDetail), retry=True)

    @endpoint
    def run_calls(run_id: Id) -> Request[list[Call]]:
        """Every call of a run: its context manifest, model, tokens, latency and outcome."""
        return Request("GET", f"/v1/runs/{_seg(run_id)}/calls", _items(Call), retry=True)

    @endpoint
    def board_metrics(
        board_id: Id,
        part: MetricPart | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        window_s: int | None = None,
    ) -> Request[dict[str, Any]]:
        """The board's population metrics (all, or one `part`) as the service's JSON."""
        path = f"/v1/boards/{_seg(board_id)}/metrics" + (f"/{part}" if part else "")
        params = _query(
            since=since.isoformat() if since else None,
            until=until.isoformat() if until else None,
            window_s=window_s,
        )
        return Request("GET", path, _json_object, params=params, retry=True)

    @endpoint
    def run_metrics(run_id: Id) -> Request[dict[str, Any]]:
        """A run's population metrics as the service's JSON."""
        return Request("GET", f"/v1/runs/{_seg(run_id)}/metrics", _json_object, retry=True)

    @endpoint
    def compare_runs(run_ids: Sequence[Id]) -> Request[list[dict[str, Any]]]:
        """Runs side by side (in the order given): one summary per run."""
        params = _query(run_id=_ids(run_ids))
        return Request("GET", "/v1/runs/compare", _compared, params=params, retry=True)

    @endpoint
    def list_runs(board_id: Id, *, limit: int | None = None) -> Request[list[Run]]:
        """The board's runs, newest first."""
        path = f"/v1/boards/{_seg(board_id)}/runs"
        return Request("GET", path, _items(Run), params=_query(limit=limit), retry=True)

    @endpoint
    def my_turns(*, wait: float | None = None) -> Request[list[Turn]]:
        """Turns offered to you, each with its context bundle; `wait` long-polls for one."""
        return Request(
            "GET",
            "/v1/agents/me/turns",
            _items(Turn),
            params=_query(wait=wait),
            retry=True,
            wait_s=wait or 0.0,
        )

    @endpoint
    def get_turn(turn_id: Id) -> Request[Turn]:
        """One turn offered to you (any turn, for the operator)."""
        return Request("GET", f"/v1/turns/{_seg(turn_id)}", _one(Turn), retry=True)

    @endpoint
    def complete_turn(
        turn_id: Id,
        role: str,
        artifacts: Sequence[Draft],
        *,
        rationale: str | None = None,
        confidence: float | None = None,
    ) -> Request[TurnDone]:
        """Take your turn: the role you claim and what you publish in it."""
        body = _json(
            role=role,
            artifacts=[_draft(a) for a in artifacts],
            rationale=rationale,
            confidence=confidence,
        )
        return Request("POST", f"/v1/turns/{_seg(turn_id)}/complete", _one(TurnDone), json=body)

    @endpoint
    def abstain_turn(turn_id: Id, reason: str, *, confidence: float | None = None) -> Request[Turn]:
        """Decline your turn, saying why."""
        body = _json(reason=reason, confidence=confidence)
        return Request("POST", f"/v1/turns/{_seg(turn_id)}/abstain", _one(Turn), json=body)
