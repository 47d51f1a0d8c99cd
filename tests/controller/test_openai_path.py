"""The `openai:` model spec end to end: langchain-openai's ChatOpenAI, built from an agent's
spec by the controller, talks real HTTP to an OpenAI-compatible server inside a real run;
its malformed first answer goes through the repair step, and the repaired one is published."""

from typing import Any

import httpx
import pytest

from blackboard.controller.llm import SYSTEM_PROMPT, TurnDecision
from tests.support.api import ADMIN, Actors
from tests.support.openai_compatible import chat_server, decision
from tests.support.runs import finished, start


async def test_an_openai_model_repairs_its_first_answer_in_a_real_run(
    client: httpx.AsyncClient, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BB_TEST_OPENAI_KEY", "sk-test-123")
    repaired = decision(
        action="act",
        role="researcher",
        rationale="the goal asks for the boiling point",
        artifacts=[{"type": "finding", "body": {"claim": "water boils at 100 C at sea level"}}],
    )
    malformed = 'Sure! {"action": "act", "role": "researcher", "artifacts": [{"type": "finding"'
    async with chat_server([malformed, repaired]) as chat:
        spec = f"openai:local-model?base_url={chat.url}&api_key_env=BB_TEST_OPENAI_KEY"
        r = await client.post(
            "/v1/agents",
            json={"name": "openai-agent", "capabilities": ["research"], "model": spec},
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text
        agent: dict[str, Any] = r.json()
        board = await actors.board()
        run = await start(client, board, protocol="solo", roster=[agent["id"]])
        detail = await finished(client, run["id"])

    # the model was called twice over HTTP: the answer, then the repair
    assert len(chat.requests) == 2
    first, second = chat.requests
    assert first["model"] == "local-model"
    assert chat.headers[0]["authorization"] == "Bearer sk-test-123"
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert first["messages"][0]["content"] == SYSTEM_PROMPT
    # structured output as langchain-openai sends it: a JSON Schema response format
    for request in (first, second):
        asked = request["response_format"]
        assert asked["type"] == "json_schema"
        assert asked["json_schema"]["name"] == "TurnDecision"
        assert asked["json_schema"]["schema"] == TurnDecision.model_json_schema()
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user"]
    assert second["messages"][2]["content"] == malformed
    assert "could not be accepted" in second["messages"][3]["content"]
    assert "not valid JSON" in second["messages"][3]["content"]

    # and the run recorded the repaired call and published its answer
    assert detail["run"]["status"] == "completed", detail["run"]
    calls = (await client.get(f"/v1/runs/{run['id']}/calls", headers=ADMIN)).json()["items"]
    assert calls[0]["status"] == "completed"
    assert calls[0]["model"] == spec
    assert calls[0]["call"]["repaired"] is True
    assert calls[0]["tokens_in"] > 0
    published = (await client.get(f"/v1/boards/{board['id']}/artifacts", headers=ADMIN)).json()[
        "items"
    ]
    findings = [a for a in published if a["type"] == "finding"]
    assert [(a["author_id"], a["body"]["claim"]) for a in findings] == [
        (agent["id"], "water boils at 100 C at sea level")
    ]
