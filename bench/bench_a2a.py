"""A2A benchmark: what the A2A layer costs over REST, in the same run on the same server.

    .venv/bin/python bench/bench_a2a.py           # full run, about 1-2 minutes
    .venv/bin/python bench/bench_a2a.py --quick   # smoke run

It starts the real service (`blackboard serve --workers 2`, embedded PostgreSQL in a fresh
temporary data directory), then:

1. Posting: one agent posts tasks at c=8, alternately over REST
   (`POST /v1/boards/{id}/tasks`, the baseline) and over A2A (`SendMessage` on `/a2a`,
   the same service call behind JSON-RPC and protobuf), two rounds of each. Reported:
   rate, p50/p99 and the servers' CPU per post for each, and A2A over REST.
2. Following: for each of a series of tasks, an A2A client streams it
   (`SendStreamingMessage`) while a REST client follows the board's event stream, and an
   agent claims the task over REST. Reported: p50/p99 from sending the claim to the A2A
   `working` update, and to the REST stream's `task.claimed` frame (the baseline): both
   come from the same board feed, so the difference is the A2A layer's.

A benchmark run by hand, not a test.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import orjson

# bench/ is on sys.path: these files are run as scripts
from harness import (
    HOST,
    Admin,
    BenchError,
    LoadResult,
    Session,
    Table,
    bench_main,
    blackboard_server,
    http_request,
    percentile,
    run_load,
    say,
    unique_suffix,
)

CONCURRENCY = 8


def a2a_body(board_id: str, i: int) -> bytes:
    message = {
        "messageId": uuid.uuid4().hex,
        "role": "ROLE_USER",
        "contextId": board_id,
        "parts": [{"text": f"task {i}"}],
    }
    rpc = {"jsonrpc": "2.0", "id": i, "method": "SendMessage", "params": {"message": message}}
    return orjson.dumps(rpc)


def with_a2a_version(raw: bytes) -> bytes:
    return raw.replace(
        b"Accept: application/json\r\n", b"Accept: application/json\r\nA2A-Version: 1.0\r\n", 1
    )


async def posting(
    port: int, token: str, board_id: str, count: int, meter: Any
) -> dict[str, LoadResult]:
    rest_path = f"/v1/boards/{board_id}/tasks"

    def rest(i: int) -> bytes:
        body = orjson.dumps({"title": f"task {i}", "wants_type": "result"})
        return http_request(rest_path, token=token, body=body, port=port)

    def a2a(i: int) -> bytes:
        return with_a2a_version(
            http_request("/a2a", token=token, body=a2a_body(board_id, i), port=port)
        )

    results: dict[str, list[LoadResult]] = {"REST": [], "A2A": []}
    for _ in range(2):
        for label, make, status in (("REST", rest, 201), ("A2A", a2a, 200)):
            result = await run_load(
                port, make, warmup=count // 10, count=count, concurrency=CONCURRENCY,
                expect_status=status, meter=meter,
            )  # fmt: skip
            say(
                f"  {label}: {result.request_rate:,.0f} posts/s, p99 {result.percentile(99):.1f} ms"
            )
            results[label].append(result)
    return {label: LoadResult.merge(rs) for label, rs in results.items()}


async def following(
    port: int, poster: str, worker: str, board_id: str, count: int
) -> dict[str, list[float]]:
    base = f"http://{HOST}:{port}"
    seen: dict[str, list[float]] = {"A2A": [], "REST": []}
    claimed_at: dict[str, float] = {}
    frames: dict[str, float] = {}
    auth = {"Authorization": f"Bearer {poster}"}
    async with (
        httpx.AsyncClient(base_url=base, timeout=30, headers=auth) as rest_stream,
        httpx.AsyncClient(base_url=base, timeout=30, headers={**auth, "A2A-Version": "1.0"}) as a2a,
        httpx.AsyncClient(
            base_url=base, timeout=30, headers={"Authorization": f"Bearer {worker}"}
        ) as agent,
    ):

        async def board_stream() -> None:
            params = {"kind": "task.claimed", "after": 0}
            async with rest_stream.stream(
                "GET", f"/v1/boards/{board_id}/events/stream", params=params
            ) as r:
                async for line in r.aiter_lines():
                    if line.startswith("data:"):
                        frames[orjson.loads(line[5:])["subject_id"]] = time.perf_counter()

        follower = asyncio.create_task(board_stream())
        try:
            for i in range(count):
                body = orjson.loads(a2a_body(board_id, i))
                body["method"] = "SendStreamingMessage"
                async with a2a.stream("POST", "/a2a", json=body) as r:
                    lines = r.aiter_lines()
                    task_id = ""
                    async for line in lines:
                        if line.startswith("data:"):
                            task_id = orjson.loads(line[5:])["result"]["task"]["id"]
                            break
                    claimed_at[task_id] = time.perf_counter()
                    claim = await agent.post(f"/v1/boards/{board_id}/tasks/claim")
                    if claim.status_code != 200 or claim.json()["id"] != task_id:
                        raise BenchError(f"claim: HTTP {claim.status_code}: {claim.text[:300]}")
                    async for line in lines:
                        if line.startswith("data:") and "TASK_STATE_WORKING" in line:
                            seen["A2A"].append((time.perf_counter() - claimed_at[task_id]) * 1000)
                            break
                for _ in range(200):
                    if task_id in frames:
                        break
                    await asyncio.sleep(0.005)
                else:
                    raise BenchError("the board stream missed a task.claimed")
                seen["REST"].append((frames[task_id] - claimed_at[task_id]) * 1000)
        finally:
            follower.cancel()
    return seen


def run(session: Session) -> None:
    posts = 300 if session.quick else 2000
    follows = 20 if session.quick else 100
    table = Table()
    with blackboard_server(session.data_dir, session.admin_token) as server:

        async def main() -> None:
            async with Admin(server.port, session.admin_token) as admin:
                _, poster = await admin.agent(f"poster-{unique_suffix()}")
                _, worker = await admin.agent(f"worker-{unique_suffix()}")
                board = await admin.board(f"a2a-{unique_suffix()}")
                follow_board = await admin.board(f"a2a-follow-{unique_suffix()}")
            say(f"posting {posts} tasks per round, c={CONCURRENCY}")
            load = await posting(server.port, poster, board, posts, server.meter)
            rest, a2a = load["REST"], load["A2A"]
            for label, r in load.items():
                table.row(f"{label} post rate (posts/s)", f"{r.request_rate:,.0f}")
                table.row(
                    f"{label} post p50 / p99 (ms)",
                    f"{r.percentile(50):.1f} / {r.percentile(99):.1f}",
                )
                table.row(
                    f"{label} API CPU per post (ms)", f"{r.server_cpu_ms_per_item('app'):.2f}"
                )
            table.row("A2A / REST post rate", f"{a2a.request_rate / rest.request_rate:.2f}x")
            table.row(
                "A2A / REST API CPU per post",
                f"{a2a.server_cpu_ms_per_item('app') / rest.server_cpu_ms_per_item('app'):.2f}x",
            )
            say(f"following {follows} tasks")
            seen = await following(server.port, poster, worker, follow_board, follows)
            for label, name in (("A2A", "A2A working update"), ("REST", "REST task.claimed frame")):
                ordered = sorted(seen[label])
                table.row(
                    f"claim -> {name} p50 / p99 (ms)",
                    f"{percentile(ordered, 50):.1f} / {percentile(ordered, 99):.1f}",
                )

        asyncio.run(main())
    table.print()


if __name__ == "__main__":
    raise SystemExit(bench_main("bench_a2a", __doc__, run))
