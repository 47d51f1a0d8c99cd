"""MCP benchmark: publish through the MCP endpoint (`tools/call publish_artifact` at /mcp)
against publish through REST (POST /v1/boards/{id}/artifacts), in the same run, on the
same service, with the same bodies and the same client.

    .venv/bin/python bench/bench_mcp.py           # full run, about 1-2 minutes
    .venv/bin/python bench/bench_mcp.py --quick   # smoke run, about 30 seconds

It starts `blackboard serve --workers 2` (embedded PostgreSQL in a fresh temporary data
directory), then alternates REST and MCP rounds (A B A B, to even out a noisy machine) at
concurrency 16, each call one POST over keep-alive connections, as an agent would send
them (MCP: protocol 2026-07-28, one self-contained request per call, its headers and
`_meta` envelope as the SDK's client writes them). Prints calls/s, p50/p99 and the
servers' CPU time per call, and the MCP/REST ratios against the target: MCP costs no more
than 2x REST per call.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from dataclasses import dataclass

import orjson
import uvloop

# bench/ is on sys.path: these files are run as scripts
from bench_core import artifact_body, describe, single_publish_requests
from harness import (
    HOST,
    Admin,
    LoadResult,
    Running,
    Session,
    Table,
    bench_main,
    blackboard_server,
    run_load,
    say,
    unique_suffix,
)

MAX_COST_RATIO = 2.0  # MCP per call at most this many times REST (throughput and p99)
PROTOCOL = "2026-07-28"


@dataclass(frozen=True)
class Plan:
    """How much work each phase does."""

    concurrency: int = 16
    rounds: int = 2
    warmup_per_round: int = 200
    requests_per_round: int = 2_000

    @classmethod
    def quick(cls) -> Plan:
        return cls(rounds=1, warmup_per_round=50, requests_per_round=400)


def mcp_request(port: int, token: str, call_id: int, tool: str, arguments: object) -> bytes:
    """One MCP `tools/call` as a raw HTTP/1.1 POST to /mcp."""
    body = orjson.dumps(
        {
            "jsonrpc": "2.0",
            "id": call_id,
            "method": "tools/call",
            "params": {
                "name": tool,
                "arguments": arguments,
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": PROTOCOL,
                    "io.modelcontextprotocol/clientCapabilities": {},
                },
            },
        }
    )
    head = "\r\n".join(
        [
            "POST /mcp HTTP/1.1",
            f"Host: {HOST}:{port}",
            "Accept: application/json, text/event-stream",
            f"Authorization: Bearer {token}",
            "Content-Type: application/json",
            f"MCP-Protocol-Version: {PROTOCOL}",
            "Mcp-Method: tools/call",
            f"Mcp-Name: {tool}",
            f"Content-Length: {len(body)}",
        ]
    )
    return (head + "\r\n\r\n").encode() + body


def mcp_publish_requests(
    port: int, board_id: str, token: str, count: int
) -> Callable[[int], bytes]:
    """Prebuilt MCP publishes with the same bodies as `single_publish_requests`."""
    rng = random.Random(1)
    prebuilt = [
        mcp_request(
            port,
            token,
            i,
            "publish_artifact",
            {"board_id": board_id, "type": "finding", "body": artifact_body("finding", rng, i)},
        )
        for i in range(count)
    ]
    return prebuilt.__getitem__


async def measure(plan: Plan, bb: Running, admin_token: str) -> tuple[LoadResult, LoadResult]:
    async with Admin(bb.port, admin_token) as admin:
        _, token = await admin.agent(f"bench-mcp-{unique_suffix()}")
        board_id = await admin.board(f"bench-mcp-{unique_suffix()}")
    per_round = plan.warmup_per_round + plan.requests_per_round
    rest_requests = single_publish_requests(bb.port, board_id, token, per_round)
    mcp_requests = mcp_publish_requests(bb.port, board_id, token, per_round)
    rest, mcp = [], []
    for round_ in range(1, plan.rounds + 1):
        say(f"  round {round_}/{plan.rounds}, concurrency {plan.concurrency}")
        for label, requests, results in (
            ("REST publish", rest_requests, rest),
            ("MCP publish ", mcp_requests, mcp),
        ):
            r = await run_load(
                bb.port,
                requests,
                warmup=plan.warmup_per_round,
                count=plan.requests_per_round,
                concurrency=plan.concurrency,
                expect_status=201 if requests is rest_requests else 200,
                meter=bb.meter,
            )
            describe(label, r)
            results.append(r)
    return LoadResult.merge(rest), LoadResult.merge(mcp)


def report(rest: LoadResult, mcp: LoadResult) -> None:
    table = Table()
    rate_ratio = rest.request_rate / mcp.request_rate
    p99_ratio = mcp.percentile(99) / rest.percentile(99)
    table.row("REST publish calls/s", f"{rest.request_rate:,.0f}")
    table.row("MCP publish calls/s", f"{mcp.request_rate:,.0f}")
    table.row("REST publish p99 ms", f"{rest.percentile(99):.1f}")
    table.row("MCP publish p99 ms", f"{mcp.percentile(99):.1f}")
    for label in sorted(set(rest.server_cpu_s) & set(mcp.server_cpu_s)):
        table.row(f"REST server CPU {label} ms/call", f"{rest.server_cpu_ms_per_item(label):.2f}")
        table.row(f"MCP server CPU {label} ms/call", f"{mcp.server_cpu_ms_per_item(label):.2f}")
    target = f"<= {MAX_COST_RATIO:.1f}x"
    table.row("MCP/REST time per call", f"{rate_ratio:.2f}x", target, rate_ratio <= MAX_COST_RATIO)
    table.row("MCP/REST p99", f"{p99_ratio:.2f}x", target, p99_ratio <= MAX_COST_RATIO)
    table.print()


def run(session: Session) -> None:
    plan = Plan.quick() if session.quick else Plan()
    say(f"starting blackboard serve --workers 2, data in {session.data_dir} ...")
    with blackboard_server(session.data_dir, session.admin_token) as bb:
        rest, mcp = uvloop.run(measure(plan, bb, session.admin_token))
    report(rest, mcp)


def main() -> int:
    return bench_main("bench_mcp", __doc__, run)


if __name__ == "__main__":
    sys.exit(main())
