"""A2A over real HTTP, driven by a2a-sdk's own client: discover the card, hand work to a
board, follow it on a stream while agents do it over REST, cancel, and stay out of other
callers' tasks."""

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest
from a2a.client import A2ACardResolver
from a2a.types.a2a_pb2 import (
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    TaskState,
)
from a2a.utils.errors import (
    InvalidParamsError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)
from google.protobuf.json_format import MessageToDict

import artifacts
from blackboard.config import Settings
from tests.support.a2a import (
    a2a_client,
    first_task,
    headers,
    message,
    new_board,
    register,
    send_message_rpc,
)
from tests.support.api import ADMIN, count_rows
from tests.support.servers import serve_app


async def work_one(base_url: str, board_id: str, agent: dict[str, Any], summary: str) -> str:
    """An agent takes the next task over REST and completes it; returns the task id."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as c:
        for _ in range(200):
            r = await c.post(f"/v1/boards/{board_id}/tasks/claim", headers=agent["headers"])
            if r.status_code == 200:
                break
            assert r.status_code == 204, r.text
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("no task to claim")
        task_id: str = r.json()["id"]
        r = await c.post(
            f"/v1/tasks/{task_id}/complete",
            json={
                "artifact": {"type": "result", "key": "result/answer", "body": {"summary": summary}}
            },
            headers=agent["headers"],
        )
        assert r.status_code == 200, r.text
        return task_id


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # A long fallback poll: a stream that keeps up does so through NOTIFY, not by polling.
    return settings.model_copy(update={"fallback_poll_s": 30.0})


async def test_the_card_says_what_the_board_does_and_how_to_reach_it(live_server: Any) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        card = await A2ACardResolver(http, live_server.url).get_agent_card()
        raw = (await http.get(f"{live_server.url}/.well-known/agent-card.json")).json()
    # what a 0.3 client reads
    assert (raw["url"], raw["preferredTransport"]) == (f"{live_server.url}/a2a", "JSONRPC")
    assert card.name == "Blackboard"
    assert {s.id for s in card.skills} == set(artifacts.STANDARD_TYPES)
    assert card.capabilities.streaming
    assert {(i.url, i.protocol_binding, i.protocol_version) for i in card.supported_interfaces} == {
        (f"{live_server.url}/a2a", "JSONRPC", "1.0"),
        (f"{live_server.url}/a2a", "JSONRPC", "0.3"),
    }
    [scheme] = card.security_schemes.values()
    assert scheme.http_auth_security_scheme.scheme.lower() == "bearer"
    [requirement] = card.security_requirements
    assert set(requirement.schemes) == set(card.security_schemes)


async def test_a_client_follows_its_task_to_the_result_while_agents_work_elsewhere(
    live_server: Any, settings: Settings, db: psycopg.Connection[Any]
) -> None:
    """The stream is served by one process; the agents talk to another, on the same
    database: what the stream shows came through the board's event feed."""
    async with (
        serve_app(settings) as elsewhere,
        httpx.AsyncClient(base_url=live_server.url, timeout=30) as c,
    ):
        poster, declining, worker = await register(c), await register(c), await register(c)
        board_id = await new_board(c)
        seen: list[StreamResponse] = []
        async with a2a_client(live_server.url, poster["token"]) as client:
            stream = client.send_message(
                message(board_id, "Boiling point of water\nat sea level, in C", unit="C")
            )
            seen.append(await anext(stream))
            task_id = seen[0].task.id
            async with httpx.AsyncClient(base_url=elsewhere.url, timeout=30) as other:
                r = await other.post(
                    f"/v1/tasks/{task_id}/abstain",
                    json={"reason": "not my field", "confidence": 0.9},
                    headers=declining["headers"],
                )
                assert r.status_code == 200, r.text
            worked = asyncio.create_task(work_one(elsewhere.url, board_id, worker, "100 C"))
            async for response in stream:
                seen.append(response)
            assert await worked == task_id
            fetched = await client.get_task(GetTaskRequest(id=task_id))

    task = seen[0].task
    assert task.context_id == board_id
    assert task.status.state == TaskState.TASK_STATE_SUBMITTED
    assert task.metadata["title"] == "Boiling point of water"
    assert task.metadata["wants_type"] == "result"
    assert MessageToDict(task.metadata["spec"]) == {
        "text": "Boiling point of water\nat sea level, in C"
    }
    updates = [
        r.status_update.status.state if r.HasField("status_update") else "artifact"
        for r in seen[1:]
    ]
    assert updates == [
        TaskState.TASK_STATE_SUBMITTED,  # the abstention, as a status message
        TaskState.TASK_STATE_WORKING,
        "artifact",
        TaskState.TASK_STATE_COMPLETED,
    ]
    assert "not my field" in seen[1].status_update.status.message.parts[0].text
    artifact = seen[3].artifact_update.artifact
    assert MessageToDict(artifact.parts[0].data) == {"summary": "100 C"}
    assert artifact.parts[0].media_type == "application/json"
    assert artifact.metadata["type"] == "result"
    assert artifact.metadata["key"] == "result/answer"
    assert artifact.metadata["version"] == 1
    result_id = db.execute("SELECT result_id FROM tasks WHERE id = %s", (task_id,)).fetchone()
    assert result_id is not None and artifact.artifact_id == str(result_id[0])

    assert fetched.status.state == TaskState.TASK_STATE_COMPLETED
    assert [a.artifact_id for a in fetched.artifacts] == [artifact.artifact_id]
    assert ["not my field" in m.parts[0].text for m in fetched.history] == [True]


async def test_a_subscriber_sees_a_task_posted_without_a_stream_through_to_its_end(
    live_server: Any,
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        poster, worker = await register(c), await register(c)
        board_id = await new_board(c)
        async with a2a_client(live_server.url, poster["token"], streaming=False) as client:
            task = await first_task(client, message(board_id, "Summarise the findings"))
        assert task.status.state == TaskState.TASK_STATE_SUBMITTED
        async with a2a_client(live_server.url, poster["token"]) as client:
            subscription = client.subscribe(SubscribeToTaskRequest(id=task.id))
            first = await anext(subscription)
            assert first.task.status.state == TaskState.TASK_STATE_SUBMITTED
            worked = asyncio.create_task(work_one(live_server.url, board_id, worker, "done"))
            states = [
                r.status_update.status.state
                async for r in subscription
                if r.HasField("status_update")
            ]
            await worked
            assert states == [TaskState.TASK_STATE_WORKING, TaskState.TASK_STATE_COMPLETED]
            with pytest.raises(UnsupportedOperationError, match="completed"):
                await anext(client.subscribe(SubscribeToTaskRequest(id=task.id)))


async def test_the_poster_cancels_an_open_task_and_it_is_logged(
    live_server: Any, db: psycopg.Connection[Any]
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        poster, worker = await register(c), await register(c)
        board_id = await new_board(c)
        async with a2a_client(live_server.url, poster["token"], streaming=False) as client:
            task = await first_task(client, message(board_id, "Never mind this one"))
            cancelled = await client.cancel_task(CancelTaskRequest(id=task.id))
            assert cancelled.status.state == TaskState.TASK_STATE_CANCELED
            with pytest.raises(TaskNotCancelableError) as again:
                await client.cancel_task(CancelTaskRequest(id=task.id))
            assert again.value.data == {
                "error": "Conflict",
                "detail": "only an open task can be cancelled; this one is cancelled",
                "task_id": task.id,
                "status": "cancelled",
            }
        r = await c.post(f"/v1/boards/{board_id}/tasks/claim", headers=worker["headers"])
        assert r.status_code == 204, "a cancelled task was handed out"
        assert (await c.get(f"/v1/tasks/{task.id}", headers=ADMIN)).json()["status"] == "cancelled"
    kinds = db.execute(
        "SELECT kind, actor_id FROM events WHERE subject_id = %s ORDER BY seq", (task.id,)
    ).fetchall()
    assert [k for k, _ in kinds] == ["task.posted", "task.cancelled"]
    assert str(kinds[1][1]) == poster["id"]


async def test_a_leased_task_cannot_be_cancelled(live_server: Any) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        poster, worker = await register(c), await register(c)
        board_id = await new_board(c)
        async with a2a_client(live_server.url, poster["token"], streaming=False) as client:
            task = await first_task(client, message(board_id, "Take it"))
            r = await c.post(f"/v1/boards/{board_id}/tasks/claim", headers=worker["headers"])
            assert r.status_code == 200, r.text
            with pytest.raises(TaskNotCancelableError):
                await client.cancel_task(CancelTaskRequest(id=task.id))
            got = await client.get_task(GetTaskRequest(id=task.id))
            assert got.status.state == TaskState.TASK_STATE_WORKING


async def test_another_caller_can_neither_read_nor_cancel_a_task_it_did_not_post(
    live_server: Any, db: psycopg.Connection[Any]
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        poster, stranger = await register(c), await register(c)
        board_id = await new_board(c)
        async with a2a_client(live_server.url, poster["token"], streaming=False) as client:
            task = await first_task(client, message(board_id, "Mine"))
        async with a2a_client(live_server.url, stranger["token"]) as client:
            with pytest.raises(TaskNotFoundError) as read:
                await client.get_task(GetTaskRequest(id=task.id))
            assert read.value.data is not None and read.value.data["error"] == "NotFound"
            with pytest.raises(TaskNotFoundError):
                await client.cancel_task(CancelTaskRequest(id=task.id))
            with pytest.raises(TaskNotFoundError):
                await anext(client.subscribe(SubscribeToTaskRequest(id=task.id)))
            listed = await client.list_tasks(ListTasksRequest())
            assert list(listed.tasks) == []
            with pytest.raises(TaskNotFoundError):
                await client.get_task(GetTaskRequest(id="not-a-task-id"))
        r = await c.post(f"/v1/tasks/{task.id}/cancel", headers=stranger["headers"])
        assert r.status_code == 403 and r.json()["error"] == "Forbidden"
    row = db.execute("SELECT status FROM tasks WHERE id = %s", (task.id,)).fetchone()
    assert row == ("open",)


async def test_list_tasks_pages_through_the_callers_tasks_newest_first(live_server: Any) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        poster, other = await register(c), await register(c)
        board_id, other_board = await new_board(c), await new_board(c)
        async with a2a_client(live_server.url, poster["token"], streaming=False) as client:
            posted = [(await first_task(client, message(board_id, f"t{i}"))).id for i in range(5)]
            await first_task(client, message(other_board, "elsewhere"))
            async with a2a_client(live_server.url, other["token"], streaming=False) as theirs:
                await first_task(theirs, message(board_id, "theirs"))
            pages: list[list[str]] = []
            token = ""
            while True:
                page = await client.list_tasks(
                    ListTasksRequest(context_id=board_id, page_size=2, page_token=token)
                )
                assert page.total_size == 5
                pages.append([t.id for t in page.tasks])
                token = page.next_page_token
                if not token:
                    break
            cancelled = await client.cancel_task(CancelTaskRequest(id=posted[0]))
            only = await client.list_tasks(ListTasksRequest(status=TaskState.TASK_STATE_CANCELED))
            with pytest.raises(InvalidParamsError):
                await client.list_tasks(ListTasksRequest(page_token="not-a-token"))
    assert pages == [posted[::-1][0:2], posted[::-1][2:4], posted[::-1][4:]]
    assert [t.id for t in only.tasks] == [cancelled.id]


async def test_a_message_without_a_board_is_refused_and_posts_nothing(
    live_server: Any, db: psycopg.Connection[Any]
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        poster = await register(c)
        board_id = await new_board(c)
        async with a2a_client(live_server.url, poster["token"], streaming=False) as client:
            with pytest.raises(InvalidParamsError) as missing:
                await first_task(client, message(None, "Which board?"))
            with pytest.raises(InvalidParamsError) as unknown_board:
                await first_task(client, message(str(uuid4()), "No such board"))
            with pytest.raises(InvalidParamsError) as unknown_type:
                await first_task(client, message(board_id, "Odd", wants_type="no-such-type"))
            with pytest.raises(InvalidParamsError) as no_text:
                await first_task(client, message(board_id, "   "))
    assert missing.value.data is not None
    assert missing.value.data["error"] == "ValidationFailed"
    assert "contextId" in missing.value.data["detail"]
    assert missing.value.data["errors"][0]["path"] == "/message/contextId"
    assert unknown_board.value.data is not None
    assert unknown_board.value.data["error"] == "NotFound"
    assert unknown_type.value.data is not None
    assert unknown_type.value.data["error"] == "InvalidInput"
    assert no_text.value.data is not None and "title" in no_text.value.data["detail"]
    assert count_rows(db, "tasks") == 0


async def test_callers_without_an_agent_token_are_refused(live_server: Any) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "ListTasks",
        "params": {},
    }
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        anonymous = await c.post("/a2a", json=body)
        wrong = await c.post("/a2a", json=body, headers=headers("not-a-token"))
        admin = await c.post("/a2a", json=body, headers=ADMIN)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.json()["id"] == 7
    assert anonymous.json()["error"]["data"][0]["metadata"]["error"] == "Unauthenticated"
    assert wrong.status_code == 401
    assert admin.status_code == 403
    assert admin.json()["error"]["data"][0]["metadata"]["error"] == "Forbidden"


async def test_the_0_3_method_names_post_a_task_too(live_server: Any) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        poster = await register(c)
        board_id = await new_board(c)
        r = await c.post(
            "/a2a",
            json={
                "jsonrpc": "2.0",
                "id": "1",
                "method": "message/send",
                "params": {
                    "message": {
                        "kind": "message",
                        "messageId": uuid4().hex,
                        "role": "user",
                        "contextId": board_id,
                        "parts": [{"kind": "text", "text": "An old client's task"}],
                    }
                },
            },
            headers=poster["headers"],
        )
        assert r.status_code == 200, r.text
        result = r.json()["result"]
        assert result["status"]["state"] == "submitted"
        listed = await c.get(f"/v1/boards/{board_id}/tasks", headers=ADMIN)
        [task] = listed.json()["items"]
        assert task["id"] == result["id"] and task["title"] == "An old client's task"


async def test_bad_requests_get_json_rpc_errors_and_change_nothing(
    live_server: Any, db: psycopg.Connection[Any]
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        poster = await register(c)
        board_id = await new_board(c)
        call = {**poster["headers"], "A2A-Version": "1.0"}
        events_before = count_rows(db, "events")

        async def rpc(body: Any) -> dict[str, Any]:
            if isinstance(body, bytes):
                r = await c.post("/a2a", content=body, headers=call)
            else:
                r = await c.post("/a2a", json=body, headers=call)
            assert r.status_code == 200, r.text
            error: dict[str, Any] = r.json()["error"]
            return error

        def send(parts: list[Any], **message: Any) -> dict[str, Any]:
            return send_message_rpc(board_id, parts, **message)

        assert (await rpc(b"{not json"))["code"] == -32700
        assert (await rpc({"jsonrpc": "2.0", "id": 1, "method": "Nope"}))["code"] == -32601
        assert (await rpc({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": 5}}))[
            "code"
        ] in (-32602, -32001)
        listed = {"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {"pageSize": 1000}}
        assert (await rpc(listed))["code"] == -32602
        raw_part = await rpc(send([{"raw": "aGVsbG8=", "mediaType": "text/plain"}]))
        assert raw_part["code"] == -32602
        assert raw_part["data"][0]["metadata"]["errors"][0]["path"] == "/message/parts/0"
        list_data = await rpc(send([{"text": "t"}, {"data": [1, 2]}]))
        assert list_data["code"] == -32602
        follow_up = await rpc(send([{"text": "t"}], taskId=str(uuid4())))
        assert follow_up["code"] == -32602
        too_long = await rpc(send([{"text": "x" * 600}]))
        assert too_long["data"][0]["metadata"]["errors"][0]["path"] == "/message/parts"
        bad_attempts = await rpc(send([{"text": "t"}], metadata={"max_attempts": 0}))
        assert bad_attempts["data"][0]["metadata"]["errors"][0]["path"] == (
            "/message/metadata/max_attempts"
        )
        text_only = send([{"text": "t"}])
        text_only["params"]["configuration"] = {"acceptedOutputModes": ["text/plain"]}
        assert (await rpc(text_only))["code"] == -32005
        push = {"jsonrpc": "2.0", "id": 1, "method": "GetTaskPushNotificationConfig",
                "params": {"taskId": str(uuid4()), "id": "x"}}  # fmt: skip
        assert (await rpc(push))["code"] == -32003
    assert count_rows(db, "tasks") == 0
    assert count_rows(db, "events") == events_before


def readme_example() -> str:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    match = re.search(r"<!-- a2a-example[^>]*-->\n```python\n(.*?)```", text, re.S)
    assert match, "the README lost its A2A example"
    return match.group(1)


async def test_the_readme_a2a_example_runs(live_server: Any) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        poster, worker = await register(c), await register(c)
        board_id = await new_board(c)
    env = {**os.environ, "BB_URL": live_server.url, "BB_TOKEN": poster["token"]}
    env["BB_BOARD"] = board_id
    example = asyncio.create_task(
        asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", readme_example()],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    )
    task_id = await work_one(live_server.url, board_id, worker, "100 C")
    result = await example
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"posted {task_id}", "TASK_STATE_WORKING"]
    assert lines[2].startswith("result {'summary': '100 C'} {") and "'type': 'result'" in lines[2]
    assert lines[3:] == ["TASK_STATE_COMPLETED"]
