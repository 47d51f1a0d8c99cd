"""Agents and boards made over REST, for MCP tests to act on."""

import itertools
from dataclasses import dataclass
from typing import Any

import httpx
from mcp_types import CallToolResult

from tests.support.api import ADMIN

_names = itertools.count()


@dataclass
class Scene:
    """A board and two agents (`a`, `b`) on a running service, with their tokens."""

    url: str
    board: dict[str, Any]
    a: dict[str, Any]
    b: dict[str, Any]

    def rest(self) -> httpx.AsyncClient:
        """A REST client on the same service."""
        return httpx.AsyncClient(base_url=self.url, timeout=30)


async def make_scene(url: str, mission: str = "Map the failure modes of the pump.") -> Scene:
    """Create a board and two agents over REST."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as h:
        made = []
        for role in ("a", "b"):
            r = await h.post("/v1/agents", json={"name": f"{role}-{next(_names)}"}, headers=ADMIN)
            assert r.status_code == 201, r.text
            made.append(r.json())
        r = await h.post(
            "/v1/boards", json={"name": f"board-{next(_names)}", "mission": mission}, headers=ADMIN
        )
        assert r.status_code == 201, r.text
        return Scene(url, r.json(), made[0], made[1])


def error_text(result: CallToolResult) -> str:
    """The text of a refused call (asserting that it was refused)."""
    assert result.is_error, result
    text = result.content[0]
    assert text.type == "text"
    return text.text


def finding(board_id: str, **extra: Any) -> dict[str, Any]:
    """publish_artifact arguments for a valid finding."""
    return {"board_id": board_id, "type": "finding", "body": {"claim": "the seal leaks"}, **extra}
