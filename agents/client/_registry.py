"""The registry endpoints, on both clients: the service's health, and the agents, boards
and types that everything else on a board refers to."""

from collections.abc import Mapping, Sequence
from typing import Any

from agents.client._core import Id, Request, _items, _json, _one, _query, _seg, endpoint
from agents.client.models import (
    Agent,
    AgentCreated,
    Board,
    Health,
    TypeCheck,
    TypeDetail,
    TypeVersion,
)


class RegistryEndpoints:
    """Check the service; register and list agents, boards and the schemas of artifact types."""

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
        name: str,
        schema: Mapping[str, Any],
        *,
        description: str | None = None,
        compatibility: str | None = None,
    ) -> Request[TypeVersion]:
        """Register a JSON Schema as the type's next version (admin; unchanged: same version).

        IncompatibleSchema if it breaks the type's mode; `compatibility="none"` overrides
        that for this one change, other modes also become the type's mode."""
        body = _json(schema=dict(schema), description=description, compatibility=compatibility)
        return Request("PUT", f"/v1/types/{_seg(name)}", _one(TypeVersion), json=body, retry=True)

    @endpoint
    def check_type(
        name: str, schema: Mapping[str, Any], *, compatibility: str | None = None
    ) -> Request[TypeCheck]:
        """Judge a candidate schema for a type without registering it (admin)."""
        body = _json(schema=dict(schema), compatibility=compatibility)
        return Request("POST", f"/v1/types/{_seg(name)}/check", _one(TypeCheck), json=body)

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
