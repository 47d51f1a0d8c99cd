"""The in-service backend: each tool calls the service-layer function its REST route
calls, as the agent whose bearer token came with the request, so every rule is the
service's one implementation."""

import json
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ValidationError

from api.deps import Principal, admitted
from api.routes.runs import TurnDone
from api.routes.types import type_detail
from api.schemas import TaskCompleted
from api.services import Services
from blackboard.drafts import (
    AbstentionDraft,
    ArtifactDraft,
    ClaimDraft,
    RenewDraft,
    TaskClaimDraft,
    TaskDraft,
    TurnAbstention,
    TurnCompletion,
)
from blackboard.errors import BlackboardError, InvalidInput
from blackboard.records import Agent
from blackboard.services import abstentions, artifacts, boards, claims, events, schemas, tasks
from blackboard.services import turns as turn_service
from blackboard.services.event_filter import EventFilter
from blackboard.store.artifacts import ArtifactFilter, Listing
from blackboard.store.database import Database
from board_tools import Refusal
from board_tools import args as a
from board_tools.refusal import pointer


def refusal_of(exc: BlackboardError) -> Refusal:
    """A domain error as the REST API states it (`api.errors`), for a model to read."""
    errors = exc.errors if isinstance(exc, InvalidInput) else []
    return Refusal(
        type(exc).__name__,
        exc.detail,
        [{"path": e.path, "message": e.message} for e in errors],
        {
            k: v if isinstance(v, int | float | bool | None) else str(v)
            for k, v in exc.extra.items()
        },
    )


def _plain(extra: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, int | float | bool | None) else str(v) for k, v in extra.items()}


def _nul_at(value: Any, at: tuple[int | str, ...] = ()) -> tuple[int | str, ...] | None:
    """Where a NUL character is in the arguments (PostgreSQL text cannot hold one)."""
    if isinstance(value, str):
        return at if "\x00" in value else None
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for k, v in items:
        found = _nul_at(v, (*at, k))
        if found is not None:
            return found
    return None


def _draft(model: type[BaseModel], fields: dict[str, Any]) -> Any:
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise Refusal.invalid_arguments(exc) from None


def _json(value: BaseModel) -> Any:
    return value.model_dump(mode="json")


class ServiceBackend:
    """Tool calls carried out in this process for `principal`."""

    def __init__(self, services: Services, principal: Principal) -> None:
        self.services = services
        self.principal = principal
        self.db: Database = services.database

    @property
    def agent(self) -> Agent:
        """The calling agent (Forbidden for the operator, as over REST)."""
        agent = admitted(self.principal, "agent").agent
        assert agent is not None
        return agent

    async def call(self, tool: str, args: BaseModel) -> Any:
        """Run `tool`; a domain error becomes the refusal REST would answer."""
        nul = _nul_at(args.model_dump(mode="json"))
        if nul is not None:
            raise Refusal(
                "ValidationFailed",
                "an argument contains the NUL character",
                [{"path": pointer(nul), "message": "must not contain the NUL character"}],
            )
        try:
            # each tool is the method of its name (names come from the catalogue)
            run: Callable[[Any], Awaitable[Any]] = getattr(self, tool)
            return await run(args)
        except BlackboardError as exc:
            raise refusal_of(exc) from None

    async def board(self, board_id: UUID) -> dict[str, Any]:
        """The board's REST JSON."""
        try:
            async with self.db.connection() as conn:
                return dict(_json(await boards.get(conn, board_id=board_id)))
        except BlackboardError as exc:
            raise refusal_of(exc) from None

    async def list_boards(self, args: a.ListBoards) -> Any:
        async with self.db.connection() as conn:
            found = await boards.list_boards(conn, limit=args.limit, after=args.after)
        return {"items": [_json(b) for b in found]}

    async def list_types(self, _: a.ListTypes) -> Any:
        async with self.db.connection() as conn:
            return {"items": [_json(t) for t in await schemas.list_types(conn)]}

    async def get_type(self, args: a.GetType) -> Any:
        return _json(await type_detail(self.db, args.name))

    async def publish_artifact(self, args: a.PublishArtifact) -> Any:
        draft = _draft(ArtifactDraft, args.model_dump(exclude={"board_id"}, exclude_unset=True))
        agent, services = self.agent, self.services
        published = await self.db.run(
            lambda conn: artifacts.publish(
                conn,
                board_id=args.board_id,
                author=agent,
                drafts=[draft],
                idempotency_key=None,
                schemas=services.schemas,
                grouped=services.board_writes,
            ),
            atomic=False,  # as the REST route: one statement, or its own transaction
        )
        return _json(published.artifacts[0])

    async def get_artifact(self, args: a.GetArtifact) -> Any:
        async with self.db.connection() as conn:
            found = await artifacts.get(conn, board_id=args.board_id, artifact_id=args.artifact_id)
        return _json(found)

    async def list_artifacts(self, args: a.ListArtifacts) -> Any:
        listing = Listing(
            ArtifactFilter(
                type=args.type,
                keys=args.keys,
                key_prefix=args.key_prefix,
                author_id=args.author,
                role=args.role,
                tag=args.tag,
            ),
            latest=args.latest,
            as_of=args.as_of,
            after=args.after,
            limit=args.limit,
        )
        async with self.db.connection() as conn:
            page = await artifacts.list_page(conn, board_id=args.board_id, listing=listing)
        return json.loads(page)

    async def key_history(self, args: a.KeyHistory) -> Any:
        async with self.db.connection() as conn:
            found = await artifacts.history(conn, board_id=args.board_id, key=args.key)
        return {"items": [_json(x) for x in found]}

    async def read_events(self, args: a.ReadEvents) -> Any:
        only = EventFilter(
            kinds=frozenset(args.kinds) if args.kinds else None,
            types=frozenset(args.types) if args.types else None,
            keys=frozenset(args.keys) if args.keys else None,
            key_prefix=args.key_prefix,
        )
        items, cursor = await events.read(
            self.db,
            self.services.feeds,
            board_id=args.board_id,
            after=args.after,
            limit=args.limit,
            only=only,
            wait_s=args.wait,
            with_body=args.include == "body",
        )
        return {"items": [_json(e) for e in items], "next_after": cursor}

    async def claim_role(self, args: a.ClaimRole) -> Any:
        draft = _draft(ClaimDraft, args.model_dump(exclude={"board_id"}, exclude_unset=True))
        agent = self.agent
        return _json(
            await self.db.run(
                lambda conn: claims.claim_role(
                    conn, board_id=args.board_id, agent=agent, draft=draft
                )
            )
        )

    async def renew_claim(self, args: a.RenewClaim) -> Any:
        draft = _draft(RenewDraft, args.model_dump(exclude={"claim_id"}, exclude_unset=True))
        agent = self.agent
        return _json(
            await self.db.run(
                lambda conn: claims.renew(
                    conn, claim_id=args.claim_id, agent=agent, ttl_s=draft.ttl_s
                )
            )
        )

    async def release_claim(self, args: a.ReleaseClaim) -> Any:
        agent = self.agent
        return _json(
            await self.db.run(
                lambda conn: claims.release(conn, claim_id=args.claim_id, agent=agent)
            )
        )

    async def abstain(self, args: a.Abstain) -> Any:
        draft = _draft(AbstentionDraft, args.model_dump(exclude={"board_id"}, exclude_unset=True))
        agent = self.agent
        return _json(
            await self.db.run(
                lambda conn: abstentions.abstain(
                    conn,
                    board_id=args.board_id,
                    agent=agent,
                    reason=draft.reason,
                    scope=draft.scope,
                    role=draft.role,
                    confidence=draft.confidence,
                )
            )
        )

    async def post_task(self, args: a.PostTask) -> Any:
        draft = _draft(TaskDraft, args.model_dump(exclude={"board_id"}, exclude_unset=True))
        services, poster = self.services, self.principal.agent
        return _json(
            await self.db.run(
                lambda conn: tasks.post(
                    conn,
                    board_id=args.board_id,
                    poster=poster,
                    draft=draft,
                    grouped=services.board_writes,
                ),
                atomic=False,
            )
        )

    async def claim_task(self, args: a.ClaimTask) -> Any:
        draft = _draft(TaskClaimDraft, args.model_dump(exclude={"board_id"}, exclude_unset=True))
        agent, services = self.agent, self.services
        task = await self.db.run(
            lambda conn: tasks.claim_next(
                conn,
                board_id=args.board_id,
                agent=agent,
                lease_s=draft.lease_s,
                grouped=services.board_writes,
            ),
            atomic=False,
        )
        return None if task is None else _json(task)

    async def complete_task(self, args: a.CompleteTask) -> Any:
        draft = _draft(ArtifactDraft, args.artifact.model_dump(exclude_unset=True))
        agent, services = self.agent, self.services
        task, artifact = await self.db.run(
            lambda conn: tasks.complete(
                conn,
                task_id=args.task_id,
                agent=agent,
                artifact=draft,
                schemas=services.schemas,
                idempotency_key=None,
                grouped=services.board_writes,
            ),
            atomic=False,
        )
        return _json(TaskCompleted(task=task, artifact=artifact))

    async def my_turns(self, args: a.MyTurns) -> Any:
        offered = await turn_service.offered_within(
            self.db, self.services.feeds, agent=self.agent, wait_s=args.wait
        )
        return {"items": [_json(t) for t in offered]}

    async def complete_turn(self, args: a.CompleteTurn) -> Any:
        draft = _draft(TurnCompletion, args.model_dump(exclude={"turn_id"}, exclude_unset=True))
        agent, services = self.agent, self.services
        turn, published = await self.db.run(
            lambda conn: turn_service.complete(
                conn,
                turn_id=args.turn_id,
                agent=agent,
                role=draft.role,
                drafts=draft.artifacts,
                rationale=draft.rationale,
                confidence=draft.confidence,
                schemas=services.schemas,
            ),
            atomic=False,
        )
        return _json(TurnDone(turn=turn, artifacts=published))

    async def abstain_turn(self, args: a.AbstainTurn) -> Any:
        draft = _draft(TurnAbstention, args.model_dump(exclude={"turn_id"}, exclude_unset=True))
        agent = self.agent
        return _json(
            await self.db.run(
                lambda conn: turn_service.abstain(
                    conn,
                    turn_id=args.turn_id,
                    agent=agent,
                    reason=draft.reason,
                    confidence=draft.confidence,
                ),
                atomic=False,
            )
        )
