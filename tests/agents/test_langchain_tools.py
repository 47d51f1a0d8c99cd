"""`agents.langchain.board_tools`: a LangChain agent, driven by a scripted tool-calling
chat model, works on a board through the real service; a refusal reaches the model as
the tool's answer, in the words the MCP tools use, and the model repairs its call."""

from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool

from agents.client import AsyncClient
from agents.langchain import board_tools
from board_tools import TOOLS


def calls(*tool_calls: tuple[str, dict[str, Any]]) -> AIMessage:
    """A model turn that calls these tools."""
    return AIMessage(
        content="",
        tool_calls=[
            {"name": name, "args": args, "id": f"call-{i}", "type": "tool_call"}
            for i, (name, args) in enumerate(tool_calls)
        ],
    )


async def run_agent(
    model: GenericFakeChatModel, tools: list[BaseTool], task: str
) -> list[BaseMessage]:
    """The tool-calling loop: the model speaks, its tool calls run, until it stops calling."""
    by_name = {t.name: t for t in tools}
    messages: list[BaseMessage] = [HumanMessage(task)]
    while True:
        reply = await model.ainvoke(messages)
        messages.append(reply)
        if not isinstance(reply, AIMessage) or not reply.tool_calls:
            return messages
        for call in reply.tool_calls:
            messages.append(await by_name[call["name"]].ainvoke(call))


async def test_a_langchain_agent_publishes_after_repairing_a_refused_call(
    admin: AsyncClient, new_agent: Callable[..., Awaitable[AsyncClient]]
) -> None:
    board = await admin.create_board("pump")
    agent = await new_agent("langchain-agent")
    tools = board_tools(agent, board.id)
    assert [t.name for t in tools] == [spec.name for spec in TOOLS]
    assert "board_id" not in tools[0].args and "board_id" not in {
        name for t in tools for name in t.args
    }

    model = GenericFakeChatModel(
        messages=iter(
            [
                calls(("publish_artifact", {"type": "finding", "body": {"evidence": "noise"}})),
                calls(
                    (
                        "publish_artifact",
                        {"type": "finding", "key": "seal", "body": {"claim": "the seal leaks"}},
                    )
                ),
                AIMessage(content="Published the finding."),
            ]
        )
    )
    messages = await run_agent(model, tools, "Record what you found about the pump.")

    answers = [m for m in messages if isinstance(m, ToolMessage)]
    assert len(answers) == 2
    assert answers[0].status == "error"
    assert str(answers[0].content).startswith("SchemaViolation: ")
    assert "/body: 'claim' is a required property" in str(answers[0].content)
    assert answers[1].status == "success"
    published = (await admin.list_artifacts(board.id, key="seal")).items
    me = await agent.me()
    assert [(a.author_id, a.body["claim"]) for a in published] == [(me.id, "the seal leaks")]


async def test_arguments_of_the_wrong_type_are_refused_as_the_mcp_tools_refuse_them(
    admin: AsyncClient, new_agent: Callable[..., Awaitable[AsyncClient]]
) -> None:
    board = await admin.create_board("types")
    tools = {t.name: t for t in board_tools(await new_agent(), board.id)}
    answer = await tools["list_artifacts"].ainvoke(
        {"name": "list_artifacts", "args": {"limit": "many"}, "id": "c1", "type": "tool_call"}
    )
    assert str(answer.content).startswith("ValidationFailed: ")
    assert "/limit: " in str(answer.content)
