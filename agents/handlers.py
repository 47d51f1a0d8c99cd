"""What an agent's handlers see and give back: the `Context` they may take, the drafts they
may return, `Abstain` to decline; and how the runtime calls them (agents/runtime.py).
"""

import asyncio
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel

from agents.client import (
    Agent as AgentRecord,
)
from agents.client import (
    ArtifactDraft,
    AsyncClient,
    AsyncRoleHold,
)
from artifacts import STANDARD_TYPES

Draft = ArtifactDraft | Mapping[str, Any] | BaseModel
"""What a handler may return as an artifact to publish."""

Handler = Callable[..., Any]
H = TypeVar("H", bound=Handler)

_TYPE_OF_MODEL = {model: name for name, model in STANDARD_TYPES.items()}


class Abstain(Exception):
    """Raised by a handler to decline a task or turn outside its competence, saying why."""

    def __init__(self, reason: str, *, confidence: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.confidence = confidence


@dataclass(frozen=True)
class Context:
    """What a handler may use besides its item: the client, who it is, and the board."""

    client: AsyncClient
    me: AgentRecord
    board_id: UUID

    def hold_role(
        self, role: str, scope: str | None = None, *, ttl_s: float = 30.0
    ) -> AsyncRoleHold:
        """Hold a role on this board for a block (`async with ctx.hold_role("node", "7") as
        hold:`), as `AsyncClient.hold_role` does: write guarded keys with `hold.publish`."""
        return self.client.hold_role(self.board_id, role, scope, ttl_s=ttl_s)


def to_draft(value: Draft, *, wants_type: str | None = None) -> ArtifactDraft:
    """Turn a handler's answer into an `ArtifactDraft` (see the module docstring)."""
    if isinstance(value, ArtifactDraft):
        return value
    if isinstance(value, BaseModel):
        type_ = _TYPE_OF_MODEL.get(type(value)) or wants_type
        if type_ is None:
            raise ValueError(f"cannot tell the artifact type of a {type(value).__name__}")
        return ArtifactDraft(type=type_, body=value.model_dump(mode="json"))
    if "type" not in value:
        if wants_type is None:
            raise ValueError("an artifact draft needs a 'type' (the task wants none)")
        return ArtifactDraft(type=wants_type, body=dict(value))
    body = value.get("body")
    fields = dict(value)
    if isinstance(body, BaseModel):
        fields["body"] = body.model_dump(mode="json")
    return ArtifactDraft.model_validate(fields)


async def call_handler(handler: Handler, item: Any, ctx: Context) -> Any:
    """Call a handler with the item (and the context if it takes two arguments)."""
    params = [
        p
        for p in inspect.signature(handler).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    args = (item, ctx) if len(params) >= 2 else (item,)
    if inspect.iscoroutinefunction(handler):
        return await handler(*args)
    result = await asyncio.to_thread(handler, *args)
    if inspect.isawaitable(result):
        return await result
    return result
