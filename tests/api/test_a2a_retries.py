"""A2A clients retry: a message sent again (same messageId, same sender) posts nothing new
and answers with the task its first sending posted, even when the sendings race."""

import asyncio
from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest

from tests.support.a2a import (
    a2a_client,
    first_task,
    message,
    new_board,
    register,
    send_message_rpc,
)
from tests.support.api import ADMIN


@pytest.fixture
async def poster(live_server: Any) -> dict[str, Any]:
    """An agent, with `board_id`: a board for its messages."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        agent = await register(c)
        agent["board_id"] = await new_board(c)
    return agent


def posted(db: psycopg.Connection[Any], board_id: str) -> list[tuple[Any, ...]]:
    """The board's tasks and their task.posted events."""
    tasks = db.execute("SELECT id FROM tasks WHERE board_id = %s", (board_id,)).fetchall()
    events = db.execute(
        "SELECT subject_id FROM events WHERE board_id = %s AND kind = 'task.posted'", (board_id,)
    ).fetchall()
    assert sorted(tasks) == sorted(events)
    return tasks


async def test_a_message_sent_again_answers_with_the_task_it_posted(
    live_server: Any, poster: dict[str, Any], db: psycopg.Connection[Any]
) -> None:
    board_id = poster["board_id"]
    same = uuid4().hex
    async with a2a_client(live_server.url, poster["token"], streaming=False) as client:
        first = await first_task(client, message(board_id, "Sort the backlog", message_id=same))
        again = await first_task(client, message(board_id, "Sort the backlog", message_id=same))
        other = await first_task(client, message(board_id, "Sort the backlog"))
    assert again.id == first.id and again.status.state == first.status.state
    assert other.id != first.id
    assert sorted(str(t) for (t,) in posted(db, board_id)) == sorted([first.id, other.id])


async def test_racing_sendings_of_one_message_post_one_task(
    live_server: Any, poster: dict[str, Any], db: psycopg.Connection[Any]
) -> None:
    board_id = poster["board_id"]
    same = uuid4().hex
    async with a2a_client(live_server.url, poster["token"], streaming=False) as client:
        tasks = await asyncio.gather(
            *(first_task(client, message(board_id, "Once", message_id=same)) for _ in range(8))
        )
    assert len({t.id for t in tasks}) == 1
    assert [str(t) for (t,) in posted(db, board_id)] == [tasks[0].id]


async def test_a_streamed_sending_again_follows_the_first_task(
    live_server: Any, poster: dict[str, Any], db: psycopg.Connection[Any]
) -> None:
    board_id = poster["board_id"]
    same = uuid4().hex
    async with a2a_client(live_server.url, poster["token"]) as client:
        first = await first_task(client, message(board_id, "Stream me", message_id=same))
        again = await first_task(client, message(board_id, "Stream me", message_id=same))
    assert again.id == first.id
    assert len(posted(db, board_id)) == 1


async def test_message_ids_are_each_senders_own(
    live_server: Any, db: psycopg.Connection[Any]
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        alice, bob = await register(c), await register(c)
        board_id = await new_board(c)
    same = uuid4().hex
    async with a2a_client(live_server.url, alice["token"], streaming=False) as client:
        hers = await first_task(client, message(board_id, "Hers", message_id=same))
    async with a2a_client(live_server.url, bob["token"], streaming=False) as client:
        his = await first_task(client, message(board_id, "His", message_id=same))
    assert his.id != hers.id
    assert len(posted(db, board_id)) == 2


async def test_a_refused_message_can_be_sent_again_corrected(
    live_server: Any, poster: dict[str, Any], db: psycopg.Connection[Any]
) -> None:
    board_id = poster["board_id"]
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        call = {**poster["headers"], "A2A-Version": "1.0"}

        def send(text: str) -> dict[str, Any]:
            return send_message_rpc(board_id, [{"text": text}], message_id="retry-me")

        refused = (await c.post("/a2a", json=send("x" * 600), headers=call)).json()
        assert refused["error"]["code"] == -32602
        assert posted(db, board_id) == []
        accepted = (await c.post("/a2a", json=send("Short enough"), headers=call)).json()
        task_id = accepted["result"]["task"]["id"]
        listed = (await c.get(f"/v1/boards/{board_id}/tasks", headers=ADMIN)).json()["items"]
        assert [t["id"] for t in listed] == [task_id]
