"""A small OpenAI-compatible chat-completions server for tests: it answers from a script,
over real HTTP, and records every request exactly as the client sent it."""

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.servers import free_port

_ids = itertools.count(1)


@dataclass
class ChatServer:
    """Serves `replies` in order to POST /v1/chat/completions; `requests` holds each
    request's JSON body and headers."""

    replies: list[str]
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    async def completions(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if not self.replies:
            return JSONResponse({"error": {"message": "no reply scripted"}}, status_code=500)
        content = self.replies.pop(0)
        prompt_tokens = sum(len(str(m.get("content", ""))) // 4 for m in body["messages"])
        completion_tokens = len(content) // 4
        return JSONResponse(
            {
                "id": f"chatcmpl-{next(_ids)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )


@asynccontextmanager
async def chat_server(replies: list[str]) -> AsyncIterator[ChatServer]:
    """Serve a scripted chat-completions endpoint on a loopback port, in this event loop."""
    chat = ChatServer(list(replies))
    app = Starlette(routes=[Route("/v1/chat/completions", chat.completions, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the chat server failed to start"
        await asyncio.sleep(0.02)
    chat.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield chat
    finally:
        server.should_exit = True
        await task


def decision(**fields: Any) -> str:
    """A TurnDecision as a model would write it."""
    return json.dumps(fields)
