"""The board as an MCP server: tools, resources and the `join_board` prompt, over any
`Backend`. The protocol plumbing is the `mcp` SDK's low-level `Server`; this module says
what each request means for the board."""

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import mcp_types as types
import orjson
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

import blackboard
from api.mcp import prompts, resources
from api.mcp.backend import Backend
from board_tools import BY_NAME, TOOLS, Refusal

BackendFor = Callable[[ServerRequestContext[Any]], Awaitable[Backend]]
"""The backend that acts as the request's caller."""

ListenFn = Callable[
    [ServerRequestContext[Any], types.SubscriptionsListenRequestParams],
    Awaitable[types.SubscriptionsListenResult],
]


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def tool_result(value: Any) -> types.CallToolResult:
    """A tool's REST JSON as structured content and as text."""
    if value is None:
        return types.CallToolResult(content=[types.TextContent(type="text", text="null")])
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=_json_text(value))],
        structured_content=value,
    )


def refused(refusal: Refusal) -> types.CallToolResult:
    """A refused call: a tool error whose text starts with the error's name."""
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=refusal.text())],
        structured_content=refusal.body(),
        is_error=True,
    )


def _tools() -> list[types.Tool]:
    return [
        types.Tool(
            name=spec.name,
            description=spec.description,
            input_schema=spec.args.model_json_schema(),
            annotations=types.ToolAnnotations(read_only_hint=spec.read_only),
        )
        for spec in TOOLS
    ]


def build_server(backend_for: BackendFor, listen: ListenFn | None = None) -> Server[Any]:
    """An MCP server whose every request is carried out by `backend_for(request)`;
    `subscriptions/listen` is served by `listen` where given."""
    listed = types.ListToolsResult(tools=_tools())
    input_schemas = {tool.name: tool.input_schema for tool in listed.tools}

    async def list_tools(
        _: ServerRequestContext[Any], __: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return listed

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        spec = BY_NAME.get(params.name)
        if spec is None:
            raise MCPError(types.INVALID_PARAMS, f"Unknown tool: {params.name}")
        try:
            args = spec.args.model_validate(params.arguments or {})
        except ValidationError as exc:
            return refused(Refusal.invalid_arguments(exc))
        backend = await backend_for(ctx)
        try:
            return tool_result(await backend.call(spec.name, args))
        except Refusal as refusal:
            return refused(refusal)

    async def list_templates(
        _: ServerRequestContext[Any], __: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(resource_templates=resources.TEMPLATES)

    async def list_resources(
        _: ServerRequestContext[Any], __: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=[])  # every resource is a template's

    async def read_resource(
        ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        try:
            value = await resources.read(await backend_for(ctx), uri)
        except Refusal as refusal:
            raise MCPError(types.INVALID_PARAMS, refusal.text(), data=refusal.body()) from None
        return types.ReadResourceResult(
            contents=[
                types.TextResourceContents(
                    uri=uri, text=_json_text(value), mime_type="application/json"
                )
            ]
        )

    async def list_prompts(
        _: ServerRequestContext[Any], __: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        return types.ListPromptsResult(prompts=[prompts.JOIN_BOARD])

    async def get_prompt(
        ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        if params.name != prompts.JOIN_BOARD.name:
            raise MCPError(types.INVALID_PARAMS, f"Unknown prompt: {params.name}")
        raw = (params.arguments or {}).get("board_id", "")
        try:
            board_id = UUID(raw)
        except ValueError:
            raise MCPError(types.INVALID_PARAMS, "board_id must be a board's id") from None
        try:
            return await prompts.join_board(await backend_for(ctx), board_id)
        except Refusal as refusal:
            raise MCPError(types.INVALID_PARAMS, refusal.text(), data=refusal.body()) from None

    return Server(
        "blackboard",
        version=blackboard.__version__,
        instructions=prompts.INSTRUCTIONS,
        # looked up on every call (its Mcp-Param headers); without it, the SDK would list
        # and serialize every tool to find one schema
        get_tool_input_schema=input_schemas.get,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
        on_subscriptions_listen=listen,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
    )
