"""The coordination tools over MCP: claims, tasks, turns and the event long-poll, each
as the service's own rules have it."""

import asyncio
from typing import Any

from tests.support.api import ADMIN
from tests.support.mcp_clients import McpClients
from tests.support.mcp_scene import error_text, finding, make_scene


async def test_claims_are_renewed_released_and_then_free_for_another(
    service: Any, mcp_client: McpClients
) -> None:
    scene = await make_scene(service.url)
    role = {"board_id": scene.board["id"], "role": "editor", "ttl_s": 30}
    async with mcp_client(scene.a["token"]) as a, mcp_client(scene.b["token"]) as b:
        claim = (await a.call_tool("claim_role", role)).structured_content
        renewed = await a.call_tool("renew_claim", {"claim_id": claim["id"], "ttl_s": 120})
        assert renewed.structured_content["expires_at"] > claim["expires_at"]
        not_hers = await b.call_tool("release_claim", {"claim_id": claim["id"]})
        assert error_text(not_hers).startswith("Forbidden: this claim belongs to another agent")
        await a.call_tool("release_claim", {"claim_id": claim["id"]})
        again = await a.call_tool("release_claim", {"claim_id": claim["id"]})
        assert error_text(again).startswith("LeaseLost: ")
        taken = await b.call_tool("claim_role", role)
        abstained = await b.call_tool(
            "abstain", {"board_id": scene.board["id"], "role": "reviewer", "reason": "not mine"}
        )
    assert not taken.is_error and taken.structured_content["agent_id"] == scene.b["id"]
    assert abstained.structured_content["reason"] == "not mine"


async def test_a_task_is_posted_claimed_and_completed_with_its_result(
    service: Any, mcp_client: McpClients
) -> None:
    scene = await make_scene(service.url)
    board_id = scene.board["id"]
    async with mcp_client(scene.a["token"]) as a, mcp_client(scene.b["token"]) as b:
        nothing = await b.call_tool("claim_task", {"board_id": board_id})
        assert not nothing.is_error and nothing.structured_content is None
        posted = await a.call_tool(
            "post_task", {"board_id": board_id, "title": "check the seal", "wants_type": "finding"}
        )
        task = (await b.call_tool("claim_task", {"board_id": board_id})).structured_content
        assert task["id"] == posted.structured_content["id"]
        wrong = await b.call_tool(
            "complete_task", {"task_id": task["id"], "artifact": {"type": "finding", "body": {}}}
        )
        assert error_text(wrong).startswith("SchemaViolation: ")
        done = await b.call_tool(
            "complete_task",
            {"task_id": task["id"], "artifact": finding(board_id) | {"board_id": None}},
        )
        assert error_text(done).startswith("ValidationFailed: ")  # no board_id in an artifact
        done = await b.call_tool(
            "complete_task",
            {"task_id": task["id"], "artifact": {"type": "finding", "body": {"claim": "dry"}}},
        )
    assert done.structured_content["task"]["status"] == "completed"
    assert done.structured_content["artifact"]["author_id"] == scene.b["id"]


async def test_read_events_waits_for_the_next_event(service: Any, mcp_client: McpClients) -> None:
    scene = await make_scene(service.url)
    board_id = scene.board["id"]
    async with mcp_client(scene.a["token"]) as a, mcp_client(scene.b["token"]) as b:
        head = await a.call_tool("read_events", {"board_id": board_id})
        after = head.structured_content["next_after"]
        waiting = asyncio.create_task(
            a.call_tool(
                "read_events",
                {"board_id": board_id, "after": after, "kinds": ["artifact.published"], "wait": 20},
            )
        )
        await asyncio.sleep(0.5)
        assert not waiting.done()
        await b.call_tool("publish_artifact", finding(board_id, key="pump/seal"))
        heard = await asyncio.wait_for(waiting, timeout=15)
    [event] = heard.structured_content["items"]
    assert event["kind"] == "artifact.published" and event["data"]["key"] == "pump/seal"


async def test_reads_follow_only_the_keys_asked_for_with_their_bodies(
    service: Any, mcp_client: McpClients
) -> None:
    scene = await make_scene(service.url)
    board_id = scene.board["id"]
    async with mcp_client(scene.a["token"]) as a:
        for key in ("pump/seal", "pump/valve", "tank/level"):
            await a.call_tool("publish_artifact", finding(board_id, key=key))
        one = await a.call_tool(
            "read_events", {"board_id": board_id, "keys": ["pump/valve"], "include": "body"}
        )
        pumps = await a.call_tool("read_events", {"board_id": board_id, "key_prefix": "pump/"})
        listed = await a.call_tool(
            "list_artifacts", {"board_id": board_id, "keys": ["tank/level", "pump/seal"]}
        )
        unknown = await a.call_tool("read_events", {"board_id": board_id, "include": "all"})
    [event] = one.structured_content["items"]
    assert event["data"]["key"] == "pump/valve"
    assert event["data"]["body"] == finding(board_id)["body"]
    assert [e["data"]["key"] for e in pumps.structured_content["items"]] == [
        "pump/seal",
        "pump/valve",
    ]
    assert all("body" not in e["data"] for e in pumps.structured_content["items"])
    assert sorted(i["key"] for i in listed.structured_content["items"]) == [
        "pump/seal",
        "tank/level",
    ]
    assert error_text(unknown).startswith("ValidationFailed: ")


async def test_an_external_agent_takes_and_declines_its_turns(
    service: Any, mcp_client: McpClients
) -> None:
    scene = await make_scene(service.url)
    async with scene.rest() as rest:
        r = await rest.post(
            f"/v1/boards/{scene.board['id']}/runs",
            json={"goal": "Boil water", "protocol": "solo", "roster": [scene.a["id"]], "rounds": 2},
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text
        run_id = r.json()["id"]
        async with mcp_client(scene.a["token"]) as a:
            [first] = (await a.call_tool("my_turns", {"wait": 20})).structured_content["items"]
            bad = await a.call_tool(
                "complete_turn", {"turn_id": first["id"], "role": "researcher", "artifacts": []}
            )
            assert error_text(bad).startswith("ValidationFailed: ")
            assert "/artifacts: " in error_text(bad)
            done = await a.call_tool(
                "complete_turn",
                {
                    "turn_id": first["id"],
                    "role": "researcher",
                    "artifacts": [{"type": "finding", "body": {"claim": "100 C"}}],
                },
            )
            [second] = (await a.call_tool("my_turns", {"wait": 20})).structured_content["items"]
            declined = await a.call_tool(
                "abstain_turn", {"turn_id": second["id"], "reason": "nothing to add"}
            )
        run = (await rest.get(f"/v1/runs/{run_id}", headers=ADMIN)).json()
    assert done.structured_content["turn"]["status"] == "completed"
    assert [x["body"] for x in done.structured_content["artifacts"]] == [{"claim": "100 C"}]
    assert declined.structured_content["manifest"]["outcome"] == "abstained"
    assert [t["status"] for t in run["turns"]] == ["completed", "abstained"]
