"""The board's tools for LangChain and LangGraph agents (langchain-core only).

    tools = board_tools(AsyncClient(url, token), board_id)
    model = ChatOpenAI(model="...").bind_tools(tools)

The same names, argument schemas (less `board_id`, bound here) and error texts as the
MCP tools: a refused call is returned to the model as the tool's answer, starting with
the error's name, so that it can repair the call.
"""

import json
from typing import Any
from uuid import UUID

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from agents.client import AsyncClient
from agents.toolbox import Toolbox
from board_tools import TOOLS, Refusal, ToolSpec


def _schema_without_board(spec: ToolSpec) -> type[BaseModel]:
    """The tool's arguments less `board_id`, which the tool binds."""
    fields: dict[str, Any] = {
        name: (field.annotation, field)
        for name, field in spec.args.model_fields.items()
        if name != "board_id"
    }
    return create_model(
        spec.args.__name__, __config__=ConfigDict(extra="forbid"), __doc__=None, **fields
    )


def _invalid_arguments(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return Refusal.invalid_arguments(exc).text()
    return f"ValidationFailed: {exc}"


def _tool(toolbox: Toolbox, spec: ToolSpec, board_id: UUID) -> BaseTool:
    binds_board = "board_id" in spec.args.model_fields

    async def run(**kwargs: Any) -> str:
        if binds_board:
            kwargs["board_id"] = board_id
        try:
            args = spec.args.model_validate(kwargs)
            result = await toolbox.call(spec.name, args)
        except ValidationError as exc:
            raise ToolException(Refusal.invalid_arguments(exc).text()) from None
        except Refusal as refusal:
            raise ToolException(refusal.text()) from None
        return json.dumps(result, ensure_ascii=False)

    return StructuredTool.from_function(
        coroutine=run,
        name=spec.name,
        description=spec.description,
        args_schema=_schema_without_board(spec),
        handle_tool_error=True,  # a refusal is the model's to read, not an exception
        handle_validation_error=_invalid_arguments,
    )


def board_tools(client: AsyncClient, board_id: UUID | str) -> list[BaseTool]:
    """Every board tool, acting as `client`'s agent on board `board_id`."""
    toolbox = Toolbox(client)
    board = UUID(str(board_id))
    return [_tool(toolbox, spec, board) for spec in TOOLS]
