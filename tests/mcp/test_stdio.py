"""`blackboard mcp` over stdio, driven by the SDK's client as an MCP client launches a
local server: the same tools, carried out over the REST API of a real service."""

import json
import sys
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from tests.support.mcp_scene import error_text, finding, make_scene

BLACKBOARD = str(Path(sys.executable).parent / "blackboard")


def stdio_server(url: str, token: str) -> StdioServerParameters:
    """The command an MCP client would be configured to launch."""
    return StdioServerParameters(command=BLACKBOARD, args=["mcp", "--url", url, "--token", token])


async def test_stdio_serves_the_same_tools_through_the_rest_api(service: Any) -> None:
    scene = await make_scene(service.url)
    board_id = scene.board["id"]
    async with Client(stdio_server(service.url, scene.a["token"])) as a:
        tools = await a.list_tools()
        published = await a.call_tool("publish_artifact", finding(board_id, key="pump/seal"))
        violation = await a.call_tool(
            "publish_artifact", {"board_id": board_id, "type": "finding", "body": {}}
        )
        wrong_type = await a.call_tool("list_artifacts", {"board_id": board_id, "limit": "x"})
        key = await a.read_resource(f"blackboard://boards/{board_id}/keys/pump%2Fseal")
        prompt = await a.get_prompt("join_board", {"board_id": board_id})
    assert len(tools.tools) == 18 and "claim_role" in {t.name for t in tools.tools}
    assert published.structured_content["author_id"] == scene.a["id"]
    assert error_text(violation).startswith("SchemaViolation: ")
    assert "/body: 'claim' is a required property" in error_text(violation)
    assert error_text(wrong_type).startswith("ValidationFailed: ")
    assert json.loads(key.contents[0].text)["id"] == published.structured_content["id"]
    assert "Map the failure modes of the pump." in prompt.messages[0].content.text  # type: ignore[union-attr]

    async with scene.rest() as rest:
        over_rest = await rest.get(
            f"/v1/boards/{board_id}/artifacts/{published.structured_content['id']}",
            headers={"Authorization": f"Bearer {scene.b['token']}"},
        )
    assert over_rest.json() == published.structured_content


async def test_stdio_with_a_wrong_token_refuses_every_call(service: Any) -> None:
    async with Client(stdio_server(service.url, "bbagent_nobody")) as nobody:
        refused = await nobody.call_tool("list_boards", {})
    assert error_text(refused).startswith("Unauthenticated: ")
