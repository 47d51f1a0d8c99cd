"""The board over MCP streamable HTTP, driven by the `mcp` SDK's own client against the real
service: two agents with their own tokens, acting through the service's rules."""

import asyncio
import json
from typing import Any
from uuid import UUID

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourceUpdated

from api.mcp.resources import artifact_uri, board_uri, key_uri
from tests.support.api import ADMIN_TOKEN
from tests.support.mcp_clients import McpClients
from tests.support.mcp_scene import error_text, finding, make_scene


async def test_an_agent_publishes_and_another_lists_it_as_rest_shows_it(
    service: Any, mcp_client: McpClients
) -> None:
    scene = await make_scene(service.url)
    board_id = scene.board["id"]
    async with mcp_client(scene.a["token"]) as a, mcp_client(scene.b["token"]) as b:
        published = await a.call_tool("publish_artifact", finding(board_id, key="pump/seal"))
        assert not published.is_error, published
        artifact = published.structured_content
        assert artifact["author_id"] == scene.a["id"]
        assert artifact["key"] == "pump/seal" and artifact["version"] == 1
        assert json.loads(published.content[0].text) == artifact  # the same JSON as text

        listed = await b.call_tool("list_artifacts", {"board_id": board_id, "type": "finding"})
    async with scene.rest() as rest:
        over_rest = await rest.get(
            f"/v1/boards/{board_id}/artifacts",
            params={"type": "finding"},
            headers={"Authorization": f"Bearer {scene.b['token']}"},
        )
    assert listed.structured_content == over_rest.json()
    assert [x["id"] for x in listed.structured_content["items"]] == [artifact["id"]]


async def test_a_schema_violation_is_a_tool_error_naming_each_problem_and_writes_nothing(
    service: Any, mcp_client: McpClients
) -> None:
    scene = await make_scene(service.url)
    board_id = scene.board["id"]
    async with mcp_client(scene.a["token"]) as a:
        bad_body = await a.call_tool(
            "publish_artifact", {"board_id": board_id, "type": "finding", "body": {"claim": 7}}
        )
        bad_args = await a.call_tool(
            "publish_artifact", {"board_id": "not-a-board", "type": "finding", "body": []}
        )
        listed = await a.call_tool("list_artifacts", {"board_id": board_id})
    text = error_text(bad_body)
    assert text.startswith("SchemaViolation: ")
    assert "/body/claim: 7 is not of type 'string'" in text
    text = error_text(bad_args)
    assert text.startswith("ValidationFailed: ")
    assert "\n/board_id: " in text and "\n/body: " in text
    assert listed.structured_content["items"] == []


async def test_two_agents_racing_for_a_role_one_gets_it_the_other_reads_role_taken(
    service: Any, mcp_client: McpClients
) -> None:
    scene = await make_scene(service.url)
    claim = {"board_id": scene.board["id"], "role": "reviewer", "ttl_s": 30}
    async with mcp_client(scene.a["token"]) as a, mcp_client(scene.b["token"]) as b:
        results = await asyncio.gather(
            a.call_tool("claim_role", claim), b.call_tool("claim_role", claim)
        )
        won = [r for r in results if not r.is_error]
        lost = [r for r in results if r.is_error]
        assert len(won) == 1 and len(lost) == 1, results
        assert error_text(lost[0]).startswith("RoleTaken: ")

        # the loser cannot publish under the winner's claim
        winner = a if won[0] is results[0] else b
        loser = b if winner is a else a
        fenced = await loser.call_tool(
            "publish_artifact",
            finding(scene.board["id"], key="review", claim_id=won[0].structured_content["id"]),
        )
        assert error_text(fenced).startswith("StaleClaim: ")  # another agent's claim
        written = await winner.call_tool(
            "list_artifacts", {"board_id": scene.board["id"], "keys": ["review"]}
        )
        assert written.structured_content["items"] == []


async def test_resources_read_the_board_a_key_and_an_artifact(
    service: Any, mcp_client: McpClients
) -> None:
    scene = await make_scene(service.url)
    board_id = scene.board["id"]
    async with mcp_client(scene.a["token"]) as a:
        templates = await a.list_resource_templates()
        assert {t.uri_template for t in templates.resource_templates} == {
            "blackboard://boards/{board_id}",
            "blackboard://boards/{board_id}/keys/{key}",
            "blackboard://boards/{board_id}/artifacts/{artifact_id}",
        }
        await a.call_tool("publish_artifact", finding(board_id, key="pump/seal"))
        second = await a.call_tool(
            "publish_artifact", finding(board_id, key="pump/seal", expected_version=1)
        )
        key = await a.read_resource(key_uri(board_id, "pump/seal"))
        board = await a.read_resource(board_uri(board_id))
        one = await a.read_resource(
            f"blackboard://boards/{board_id}/artifacts/{second.structured_content['id']}"
        )
        with pytest.raises(MCPError, match="NotFound"):
            await a.read_resource(key_uri(board_id, "nothing/here"))
    current = json.loads(key.contents[0].text)
    assert (current["key"], current["version"]) == ("pump/seal", 2)
    overview = json.loads(board.contents[0].text)
    assert overview["board"]["mission"] == "Map the failure modes of the pump."
    assert overview["counts"]["keys_by_type"] == {"finding": 1}
    assert "finding" in {t["name"] for t in overview["types"]}
    assert json.loads(one.contents[0].text)["id"] == second.structured_content["id"]


async def test_a_subscriber_to_a_key_hears_of_its_new_version(
    service: Any, mcp_client: McpClients
) -> None:
    scene = await make_scene(service.url)
    board_id = scene.board["id"]
    watched, other = key_uri(board_id, "pump/seal"), key_uri(board_id, "pump/motor")
    async with (
        mcp_client(scene.a["token"]) as a,
        mcp_client(scene.b["token"]) as b,
        a.listen(resource_subscriptions=[watched]) as subscription,
    ):
        await b.call_tool("publish_artifact", finding(board_id, key="pump/motor"))
        await b.call_tool("publish_artifact", finding(board_id, key="pump/seal"))
        event = await asyncio.wait_for(anext(aiter(subscription)), timeout=10)
    # only the watched key: the other publish came first and was not delivered
    assert event == ResourceUpdated(uri=watched)
    assert other != watched


async def test_join_board_prompt_states_mission_types_and_rules(
    service: Any, mcp_client: McpClients
) -> None:
    scene = await make_scene(service.url, mission="Find why the pump fails.")
    async with mcp_client(scene.a["token"]) as a:
        listed = await a.list_prompts()
        assert [p.name for p in listed.prompts] == ["join_board"]
        prompt = await a.get_prompt("join_board", {"board_id": scene.board["id"]})
    text = prompt.messages[0].content.text  # type: ignore[union-attr]
    assert "Find why the pump fails." in text
    assert "### finding" in text and '"claim"' in text  # the type with its schema
    assert "Claim before you write a guarded key" in text
    assert "Abstain" in text


async def test_without_a_valid_token_mcp_answers_401_in_the_error_shape(service: Any) -> None:
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient(base_url=service.url) as h:
        missing = await h.post("/mcp", json=call, headers=headers)
        wrong = await h.post(
            "/mcp", json=call, headers={**headers, "Authorization": "Bearer bbagent_nobody"}
        )
    for r in (missing, wrong):
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert r.json()["error"] == "Unauthenticated"


async def test_bad_input_gets_a_tool_or_protocol_error_never_a_500_or_a_write(
    service: Any, mcp_client: McpClients, db: Any
) -> None:
    scene = await make_scene(service.url)
    board_id = scene.board["id"]
    async with mcp_client(scene.a["token"]) as a:
        with pytest.raises(MCPError, match="Unknown tool"):
            await a.call_tool("drop_board", {"board_id": board_id})
        wrong_types = await a.call_tool("list_artifacts", {"board_id": board_id, "limit": "lots"})
        nul = await a.call_tool("key_history", {"board_id": board_id, "key": "a\x00b"})
        unknown_arg = await a.call_tool("list_types", {"verbose": True})
        too_long = await a.call_tool("publish_artifact", finding(board_id, key="k" * 300))
    assert error_text(wrong_types).startswith("ValidationFailed: ")
    assert "/limit: " in error_text(wrong_types)
    assert error_text(nul).startswith("ValidationFailed: ") and "/key: " in error_text(nul)
    assert error_text(unknown_arg).startswith("ValidationFailed: ")
    assert error_text(too_long).startswith("ValidationFailed: ")
    assert "/key: " in error_text(too_long)

    async with mcp_client(ADMIN_TOKEN) as operator:
        forbidden = await operator.call_tool("publish_artifact", finding(board_id))
    assert error_text(forbidden).startswith("Forbidden: ")

    oversized = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": "publish_artifact",
            "arguments": finding(board_id) | {"body": {"claim": "x" * 400_000}},
        },
    }
    async with httpx.AsyncClient(base_url=service.url) as h:
        r = await h.post(
            "/mcp",
            json=oversized,
            headers={
                "Authorization": f"Bearer {scene.a['token']}",
                "Accept": "application/json, text/event-stream",
                "Mcp-Protocol-Version": "2026-07-28",
            },
        )
    assert r.status_code == 413 and r.json()["error"] == "PayloadTooLarge"
    assert db.execute("SELECT count(*) FROM artifacts").fetchone()[0] == 0


async def test_a_handshake_era_client_works_without_sessions(service: Any) -> None:
    scene = await make_scene(service.url)
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {scene.a['token']}"}, timeout=30)
    transport = streamable_http_client(f"{service.url}/mcp", http_client=http)
    async with http, Client(transport, mode="legacy") as legacy:
        assert legacy.protocol_version == "2025-11-25"
        published = await legacy.call_tool("publish_artifact", finding(scene.board["id"]))
        refused = await legacy.call_tool("claim_role", {"board_id": scene.board["id"]})
    assert published.structured_content["author_id"] == scene.a["id"]
    assert error_text(refused).startswith("ValidationFailed: ")
    assert "/role: Field required" in error_text(refused)


async def test_a_subscriber_to_an_artifact_hears_of_its_retraction(
    service: Any, mcp_client: McpClients
) -> None:
    scene = await make_scene(service.url)
    board_id = scene.board["id"]
    async with mcp_client(scene.a["token"]) as a:
        published = await a.call_tool("publish_artifact", finding(board_id, key="pump/seal"))
        artifact_id = published.structured_content["id"]
        uri = artifact_uri(UUID(board_id), UUID(artifact_id))
        async with a.listen(resource_subscriptions=[uri]) as subscription, scene.rest() as rest:
            r = await rest.post(
                f"/v1/boards/{board_id}/artifacts/{artifact_id}/retract",
                json={"reason": "wrong pump"},
                headers={"Authorization": f"Bearer {scene.a['token']}"},
            )
            assert r.status_code == 200, r.text
            event = await asyncio.wait_for(anext(aiter(subscription)), timeout=10)
        reread = await a.read_resource(uri)
    assert event == ResourceUpdated(uri=uri)
    assert json.loads(reread.contents[0].text)["retracted"]["reason"] == "wrong pump"
