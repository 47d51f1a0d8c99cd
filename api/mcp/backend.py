"""What the MCP server needs from whoever carries out its calls.

Two kinds of backend serve the same tools: the service's own (`service.py`: the
service-layer functions the REST routes call, as the calling agent) and the REST API
reached over HTTP (`blackboard mcp`, for clients that only launch local servers).
"""

from typing import Any, Protocol
from uuid import UUID

from pydantic import BaseModel


class Backend(Protocol):
    """Carries out tool calls for one caller; refuses with `board_tools.Refusal`."""

    async def call(self, tool: str, args: BaseModel) -> Any:
        """Run tool `tool` with validated `args`; return its REST JSON (None: no content)."""
        ...

    async def board(self, board_id: UUID) -> dict[str, Any]:
        """The board's REST JSON."""
        ...
