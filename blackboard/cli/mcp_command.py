"""`blackboard mcp --url URL --token TOKEN` — the board's MCP tools over stdio.

For MCP clients that only launch local servers: the same server as the service's `/mcp`
(`api.mcp.server`), with each call carried out over the REST API as the token's agent
(`agents.toolbox`). Subscriptions are left to the HTTP endpoint, which sees the feed.
"""

from typing import Annotated, Any

import typer

__all__ = ["register"]


async def serve_stdio(url: str, token: str) -> None:
    """Serve MCP on this process's stdin/stdout until the client closes them."""
    from mcp.server.stdio import stdio_server

    from agents.client import AsyncClient
    from agents.toolbox import Toolbox
    from api.mcp.backend import Backend
    from api.mcp.server import build_server

    async with AsyncClient(url, token) as client:
        toolbox = Toolbox(client)

        async def backend_for(_: Any) -> Backend:
            return toolbox

        server = build_server(backend_for)
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())


def mcp(
    url: Annotated[
        str, typer.Option(help="The service's base URL.", envvar="BLACKBOARD_URL")
    ] = "http://127.0.0.1:8000",
    token: Annotated[
        str, typer.Option(help="The agent's token.", envvar="BLACKBOARD_AGENT_TOKEN")
    ] = "",
) -> None:
    """Serve the board's MCP tools over stdio, calling the REST API as the token's agent."""
    import anyio

    if not token:
        raise typer.BadParameter("an agent token is needed (--token or BLACKBOARD_AGENT_TOKEN)")
    anyio.run(serve_stdio, url.rstrip("/"), token)


def register(app: typer.Typer) -> None:
    """Add the `mcp` command to the CLI."""
    app.command("mcp")(mcp)
