"""The board's tools carried out over the REST API: one HTTP exchange per call, answered
with the REST JSON. Serves `blackboard mcp` (stdio) and the LangChain tools."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx
from pydantic import BaseModel

from agents.client import APIError, AsyncClient, Request, TransportError
from board_tools import Refusal


@dataclass(frozen=True)
class Route:
    """Where a tool's call goes: method, path (its `{fields}` filled from the arguments);
    the other arguments go in the query (GET, DELETE) or the JSON body (POST)."""

    method: str
    path: str
    renamed: tuple[tuple[str, str], ...] = ()  # argument -> query parameter


ROUTES: dict[str, Route] = {
    "list_boards": Route("GET", "/v1/boards"),
    "list_types": Route("GET", "/v1/types"),
    "get_type": Route("GET", "/v1/types/{name}"),
    "publish_artifact": Route("POST", "/v1/boards/{board_id}/artifacts"),
    "get_artifact": Route("GET", "/v1/boards/{board_id}/artifacts/{artifact_id}"),
    "list_artifacts": Route("GET", "/v1/boards/{board_id}/artifacts", (("keys", "key"),)),
    "key_history": Route("GET", "/v1/boards/{board_id}/keys/{key}/history"),
    "read_events": Route(
        "GET",
        "/v1/boards/{board_id}/events",
        (("kinds", "kind"), ("types", "type"), ("keys", "key")),
    ),
    "claim_role": Route("POST", "/v1/boards/{board_id}/claims"),
    "renew_claim": Route("POST", "/v1/claims/{claim_id}/renew"),
    "release_claim": Route("DELETE", "/v1/claims/{claim_id}"),
    "abstain": Route("POST", "/v1/boards/{board_id}/abstentions"),
    "post_task": Route("POST", "/v1/boards/{board_id}/tasks"),
    "claim_task": Route("POST", "/v1/boards/{board_id}/tasks/claim"),
    "complete_task": Route("POST", "/v1/tasks/{task_id}/complete"),
    "my_turns": Route("GET", "/v1/agents/me/turns"),
    "complete_turn": Route("POST", "/v1/turns/{turn_id}/complete"),
    "abstain_turn": Route("POST", "/v1/turns/{turn_id}/abstain"),
}


def _answer(response: httpx.Response) -> Any:
    return response.json() if response.content else None  # 204: nothing for you


def request_for(tool: str, args: BaseModel) -> Request[Any]:
    """The REST request that carries out `tool` with `args`."""
    route = ROUTES[tool]
    fields = args.model_dump(mode="json", exclude_unset=True)
    path = route.path
    for name in list(fields):
        if "{" + name + "}" in path:
            path = path.replace("{" + name + "}", quote(str(fields.pop(name)), safe=""))
    if route.method == "POST":
        return Request("POST", path, _answer, json=fields)
    renames = dict(route.renamed)
    params: list[tuple[str, Any]] = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            params.append((renames.get(name, name), item))
    wait = float(fields.get("wait", 0))
    return Request(route.method, path, _answer, params=params, retry=True, wait_s=wait)


class Toolbox:
    """The board's tools for the agent whose token `client` carries."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client

    async def _send(self, request: Request[Any]) -> Any:
        try:
            return await self.client._send(request)
        except APIError as exc:
            raise Refusal.from_body(
                {**exc.body, "error": exc.error, "detail": exc.detail}, exc.status
            ) from None
        except TransportError as exc:
            raise Refusal("Unavailable", f"the service could not be reached: {exc}") from None

    async def call(self, tool: str, args: BaseModel) -> Any:
        """Run `tool`; the REST error answer becomes a `Refusal`."""
        return await self._send(request_for(tool, args))

    async def board(self, board_id: UUID) -> dict[str, Any]:
        """The board's REST JSON."""
        found: dict[str, Any] = await self._send(
            Request("GET", f"/v1/boards/{board_id}", _answer, retry=True)
        )
        return found
