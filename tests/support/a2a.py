"""Talking A2A to the service with a2a-sdk's own client, and the REST set-up around it."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

import httpx
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.types.a2a_pb2 import Message, Part, Role, SendMessageRequest, Task
from google.protobuf.struct_pb2 import Struct

from tests.support.api import ADMIN


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(c: httpx.AsyncClient, capabilities: list[str] | None = None) -> dict[str, Any]:
    r = await c.post(
        "/v1/agents",
        json={"name": f"agent-{uuid4().hex[:8]}", "capabilities": capabilities or []},
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    agent: dict[str, Any] = r.json()
    agent["headers"] = headers(agent["token"])
    return agent


async def new_board(c: httpx.AsyncClient) -> str:
    r = await c.post("/v1/boards", json={"name": f"board-{uuid4().hex[:8]}"}, headers=ADMIN)
    assert r.status_code == 201, r.text
    board_id: str = r.json()["id"]
    return board_id


@asynccontextmanager
async def a2a_client(url: str, token: str, *, streaming: bool = True) -> AsyncIterator[Client]:
    """An a2a-sdk client for the service at `url`, found through its Agent Card."""
    async with httpx.AsyncClient(headers=headers(token), timeout=30) as http:
        config = ClientConfig(httpx_client=http, streaming=streaming)
        client = await ClientFactory(config).create_from_url(url)
        yield client


def message(
    board_id: str | None, text: str, *, message_id: str | None = None, **metadata: Any
) -> SendMessageRequest:
    meta = Struct()
    meta.update(metadata)
    return SendMessageRequest(
        message=Message(
            message_id=message_id or uuid4().hex,
            role=Role.ROLE_USER,
            context_id=board_id or "",
            parts=[Part(text=text)],
            metadata=meta,
        )
    )


async def first_task(client: Client, request: SendMessageRequest) -> Task:
    async for response in client.send_message(request):
        assert response.HasField("task"), response
        return response.task
    raise AssertionError("no response")


def send_message_rpc(
    board_id: str, parts: list[Any], *, message_id: str = "m", **message: Any
) -> dict[str, Any]:
    """A raw JSON-RPC `SendMessage` request (A2A 1.0 names), for what the SDK would refuse
    to send or when the exact wire form matters."""
    params = {"message": {"messageId": message_id, "role": "ROLE_USER", "contextId": board_id,
                          "parts": parts, **message}}  # fmt: skip
    return {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": params}
