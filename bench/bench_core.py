"""Core benchmark: single and batch publish, list-latest at 100k versions, and a plain
FastAPI + psycopg INSERT baseline measured in the same run.

    .venv/bin/python bench/bench_core.py           # full run, about 1.5-3 minutes
    .venv/bin/python bench/bench_core.py --quick   # smoke run, about 20 seconds

It starts the real service (`blackboard serve --workers 2`, embedded PostgreSQL in a fresh
temporary data directory) and the baseline app (bench/baseline_app.py under uvicorn
--workers 2) on the same database server, drives both over HTTP with the same client,
prints a table, and stops everything again. A benchmark run by hand, not a test.

The client is a small HTTP/1.1 keep-alive client on uvloop with the httptools parser
(bench/harness.py), one connection per concurrent worker. It costs some tens of
microseconds of CPU per request (httpx cost 1-2 ms here), so on a 2-core machine it takes
as little as possible from the servers it measures; its CPU share is printed with every
load phase. On Linux the servers' CPU time per request (API processes and PostgreSQL
apart) is printed as well: unlike rates, it barely moves when the machine is shared and
noisy, and it shows where the time goes.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import uvloop

# bench/ is on sys.path: these files are run as scripts
from harness import (
    HOST,
    Admin,
    BenchError,
    LoadResult,
    Running,
    Session,
    Table,
    bench_main,
    http_request,
    run_load,
    say,
    service_and_baseline,
    unique_suffix,
)

# Targets.
TARGET_PUBLISH_RATE = 1_500.0  # artifacts/s, single publish at concurrency 16
TARGET_PUBLISH_VS_BASELINE = 0.5
TARGET_PUBLISH_P99_MS = 25.0
TARGET_BATCH_RATE = 15_000.0  # artifacts/s
TARGET_LIST_P99_MS = 10.0


@dataclass(frozen=True)
class Plan:
    """How much work each phase does."""

    concurrency: int = 16
    rounds: int = 3  # publish and baseline alternate (A B A B) to even out a noisy machine
    warmup_per_round: int = 250
    requests_per_round: int = 2_500
    # 500 items of ~1 KB keep a batch (~0.5 MB) well under the default 1 MiB body limit;
    # 1,000 such items (~1.03 MB) only just fit.
    batch_size: int = 500
    batches_measured: int = 30  # per batch concurrency level
    batch_concurrency: tuple[int, ...] = (1, 2)
    board_versions: int = 100_000
    board_keys: int = 20_000  # so about 5 versions per key
    list_warmup: int = 30
    list_requests: int = 400
    list_limit: int = 50

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            rounds=1,
            warmup_per_round=100,
            requests_per_round=600,
            batches_measured=4,
            board_versions=10_000,
            board_keys=2_000,
            list_warmup=5,
            list_requests=50,
        )


# --------------------------------------------------------------------------- bodies

# fmt: off
_WORDS = (
    "agent", "board", "artifact", "claim", "evidence", "version", "latency", "index", "query",
    "schema", "result", "plan", "review", "source", "table", "cache", "commit", "replica",
    "shard", "vector", "token", "budget", "signal", "sample", "baseline", "throughput",
    "measure", "observe", "report", "verify", "retry", "window", "stream", "batch",
)
# fmt: on

ARTIFACT_TYPES = ("finding", "proposal", "decision", "result", "critique")


def _text(rng: random.Random, chars: int) -> str:
    words: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(_WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)[:chars]


def artifact_body(kind: str, rng: random.Random, serial: int) -> dict[str, Any]:
    """Return a ~1 KB body that is valid for the standard type `kind`."""
    tag = f"#{serial} "
    if kind == "finding":
        return {
            "claim": tag + _text(rng, 880),
            "evidence": [_text(rng, 30), _text(rng, 30)],
            "confidence": round(rng.random(), 3),
        }
    if kind == "proposal":
        return {
            "title": tag + _text(rng, 80),
            "content": _text(rng, 700),
            "rationale": _text(rng, 150),
        }
    if kind == "decision":
        return {
            "question": tag + _text(rng, 150),
            "choice": _text(rng, 100),
            "rationale": _text(rng, 600),
            "alternatives": [_text(rng, 40), _text(rng, 40)],
        }
    if kind == "result":
        return {"summary": tag + _text(rng, 200), "content": _text(rng, 720), "status": "partial"}
    if kind == "critique":
        return {
            "target": f"key-{serial}",
            "verdict": "revise",
            "issues": [tag + _text(rng, 300), _text(rng, 200)],
            "suggestions": [_text(rng, 300)],
        }
    raise ValueError(kind)


# --------------------------------------------------------------------------- workloads


def single_publish_requests(
    port: int, board_id: str, token: str, count: int
) -> Callable[[int], bytes]:
    """Prebuilt publish requests (so that building them costs nothing while timing)."""
    rng = random.Random(1)
    path = f"/v1/boards/{board_id}/artifacts"
    prebuilt = [
        http_request(
            path,
            token=token,
            body=orjson.dumps({"type": "finding", "body": artifact_body("finding", rng, i)}),
            port=port,
        )
        for i in range(count)
    ]
    return prebuilt.__getitem__


def baseline_requests(port: int, board_id: str, count: int) -> Callable[[int], bytes]:
    """Prebuilt baseline inserts with the same bodies as `single_publish_requests`."""
    rng = random.Random(1)
    prebuilt = [
        http_request(
            "/insert",
            token=None,
            body=orjson.dumps(
                {"board_id": board_id, "type": "finding", "body": artifact_body("finding", rng, i)}
            ),
            port=port,
        )
        for i in range(count)
    ]
    return prebuilt.__getitem__


class BoardFiller:
    """Makes batch-publish requests over `keys` keys of ARTIFACT_TYPES, each item a key
    picked at random, so that keys get several versions each (versions/keys on average)."""

    def __init__(self, port: int, board_id: str, token: str, keys: int, batch_size: int) -> None:
        self.port = port
        self.path = f"/v1/boards/{board_id}/artifacts/batch"
        self.token = token
        self.keys = keys
        self.batch_size = batch_size
        self.rng = random.Random(2)
        self.published = 0

    def __call__(self, _: int) -> bytes:
        items = []
        for _ in range(self.batch_size):
            k = self.rng.randrange(self.keys)
            kind = ARTIFACT_TYPES[k % len(ARTIFACT_TYPES)]
            key, tags = f"{kind}/{k:06d}", [f"t{k % 7}"]
            body = artifact_body(kind, self.rng, self.published)
            items.append({"type": kind, "key": key, "body": body, "tags": tags})
            self.published += 1
        payload = orjson.dumps({"items": items})
        return http_request(self.path, token=self.token, body=payload, port=self.port)


# --------------------------------------------------------------------------- phases


def describe(label: str, r: LoadResult, *, per_item: bool = False) -> None:
    rate = f"{r.item_rate:,.0f} artifacts/s" if per_item else f"{r.request_rate:,.0f} req/s"
    cpu = ""
    if r.server_cpu_s:
        unit, scale, digits = ("us/artifact", 1000.0, 0) if per_item else ("ms/req", 1.0, 2)
        parts = [
            f"{k} {r.server_cpu_ms_per_item(k) * scale:.{digits}f}" for k in sorted(r.server_cpu_s)
        ]
        cpu = f", server CPU {' + '.join(parts)} {unit}"
    say(
        f"    {label}: {rate}, p50 {r.percentile(50):.1f} ms, p99 {r.percentile(99):.1f} ms "
        f"({r.requests:,} requests in {r.elapsed_s:.1f} s; client CPU {r.client_cpu_share:.0%}"
        f" of a core{cpu})"
    )


@dataclass(frozen=True)
class Figures:
    """Everything the final table shows."""

    publish: LoadResult
    baseline: LoadResult
    batches: dict[int, LoadResult]
    board_versions: int
    list_latest: LoadResult
    list_items: int


async def register(port: int, admin_token: str) -> tuple[str, str, str]:
    """Register an agent and two boards; return (agent token, publish board, list board)."""
    suffix = unique_suffix()
    async with Admin(port, admin_token) as admin:
        _, token = await admin.agent(f"bench-agent-{suffix}")
        publish_board = await admin.board(f"bench-publish-{suffix}")
        list_board = await admin.board(f"bench-list-{suffix}")
    return token, publish_board, list_board


async def measure(plan: Plan, bb: Running, base: Running, admin_token: str) -> Figures:
    token, publish_board, list_board = await register(bb.port, admin_token)
    per_round = plan.warmup_per_round + plan.requests_per_round

    say(
        f"\n[1/3] single publish vs baseline: concurrency {plan.concurrency}, "
        f"{plan.rounds} round(s) of {plan.requests_per_round:,} requests each after "
        f"{plan.warmup_per_round:,} warm-up, alternating"
    )
    publish_rounds: list[LoadResult] = []
    baseline_rounds: list[LoadResult] = []
    for n in range(1, plan.rounds + 1):
        publish = await run_load(
            bb.port,
            single_publish_requests(bb.port, publish_board, token, per_round),
            warmup=plan.warmup_per_round,
            count=plan.requests_per_round,
            concurrency=plan.concurrency,
            expect_status=201,
            meter=bb.meter,
        )
        describe(f"round {n} publish ", publish)
        publish_rounds.append(publish)
        baseline = await run_load(
            base.port,
            baseline_requests(base.port, publish_board, per_round),
            warmup=plan.warmup_per_round,
            count=plan.requests_per_round,
            concurrency=plan.concurrency,
            expect_status=201,
            meter=base.meter,
        )
        describe(f"round {n} baseline", baseline)
        baseline_rounds.append(baseline)

    say(
        f"\n[2/3] batch publish, {plan.batch_size} items per request, while filling a board "
        f"to {plan.board_versions:,} versions of {plan.board_keys:,} keys"
    )
    filler = BoardFiller(bb.port, list_board, token, plan.board_keys, plan.batch_size)
    batches: dict[int, LoadResult] = {}
    for concurrency in plan.batch_concurrency:
        # Built before the clock starts, as the single publishes are: making 500 random
        # bodies per request took the client 40% of a core, on a machine of two.
        prebuilt = [filler(i) for i in range(concurrency + plan.batches_measured)]
        batches[concurrency] = await run_load(
            bb.port,
            prebuilt.__getitem__,
            warmup=concurrency,
            count=plan.batches_measured,
            concurrency=concurrency,
            expect_status=201,
            items_per_request=plan.batch_size,
            meter=bb.meter,
        )
        describe(f"concurrency {concurrency}", batches[concurrency], per_item=True)
    remaining = -(-(plan.board_versions - filler.published) // plan.batch_size)
    if remaining > 0:
        fill = await run_load(
            bb.port,
            filler,
            warmup=0,
            count=remaining,
            concurrency=max(plan.batch_concurrency),
            expect_status=201,
            items_per_request=plan.batch_size,
        )
        describe("rest of the fill", fill, per_item=True)
    say(f"    the board holds {filler.published:,} versions")

    list_path = f"/v1/boards/{list_board}/artifacts?type=finding&limit={plan.list_limit}"
    say(f"\n[3/3] list-latest: {plan.list_requests} sequential GET {list_path}")
    list_request = http_request(list_path, token=token, body=None, port=bb.port)
    listing = await run_load(
        bb.port,
        lambda _: list_request,
        warmup=plan.list_warmup,
        count=plan.list_requests,
        concurrency=1,
        expect_status=200,
    )
    describe("list-latest", listing)
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{bb.port}", timeout=30) as client:
        page = await client.get(list_path, headers={"Authorization": f"Bearer {token}"})
    items = page.json()["items"]
    if not items or any(a["type"] != "finding" for a in items):
        raise BenchError(f"list-latest returned unexpected items: {page.text[:500]}")

    return Figures(
        publish=LoadResult.merge(publish_rounds),
        baseline=LoadResult.merge(baseline_rounds),
        batches=batches,
        board_versions=filler.published,
        list_latest=listing,
        list_items=len(items),
    )


# --------------------------------------------------------------------------- report


def report(f: Figures) -> None:
    ratio = f.publish.request_rate / f.baseline.request_rate
    versions = f"{f.board_versions / 1000:,.0f}k"
    best_batch = max(f.batches.values(), key=lambda r: r.item_rate)
    table = Table()
    row = table.row

    rate, p99 = f.publish.request_rate, f.publish.percentile(99)
    row("single publish c=16  artifacts/s", f"{rate:,.0f}", ">= 1,500", rate >= TARGET_PUBLISH_RATE)
    row("single publish       p50 ms", f"{f.publish.percentile(50):.1f}")
    row("single publish       p99 ms", f"{p99:.1f}", "<= 25", p99 <= TARGET_PUBLISH_P99_MS)
    row("baseline insert c=16 req/s", f"{f.baseline.request_rate:,.0f}")
    row("baseline insert      p50 ms", f"{f.baseline.percentile(50):.1f}")
    row("baseline insert      p99 ms", f"{f.baseline.percentile(99):.1f}")
    row("ratio publish/baseline", f"{ratio:.2f}x", ">= 0.50x", ratio >= TARGET_PUBLISH_VS_BASELINE)
    for concurrency, batch in sorted(f.batches.items()):
        name = f"batch x{batch.items_per_request} c={concurrency}  artifacts/s"
        if batch is best_batch:
            row(name, f"{batch.item_rate:,.0f}", ">= 15,000", batch.item_rate >= TARGET_BATCH_RATE)
        else:
            row(name, f"{batch.item_rate:,.0f}")
    list_p99 = f.list_latest.percentile(99)
    row(f"list-latest @{versions} versions p50 ms", f"{f.list_latest.percentile(50):.1f}")
    list_ok = list_p99 <= TARGET_LIST_P99_MS
    row(f"list-latest @{versions} versions p99 ms", f"{list_p99:.1f}", "<= 10", list_ok)

    table.print()

    def cpu(r: LoadResult, scale: float = 1.0, digits: int = 2) -> str:
        app, pg = (r.server_cpu_ms_per_item(k) * scale for k in ("app", "postgres"))
        return f"API {app:.{digits}f} + PostgreSQL {pg:.{digits}f}"

    if f.publish.server_cpu_s and f.baseline.server_cpu_s:
        say("server CPU per request, ms (both API processes + all PostgreSQL processes):")
        say(f"  single publish {cpu(f.publish)}")
        say(f"  baseline       {cpu(f.baseline)}")
        say(f"  batch          {cpu(best_batch, 1000.0, 0)}  (microseconds per artifact)")
    say(
        f"client CPU, share of one core: publish {f.publish.client_cpu_share:.0%}, "
        f"baseline {f.baseline.client_cpu_share:.0%}; "
        f"list-latest pages held {f.list_items} items"
    )


# --------------------------------------------------------------------------- main


def run(session: Session) -> None:
    plan = Plan.quick() if session.quick else Plan()
    with service_and_baseline(session) as (bb, base):
        figures = uvloop.run(measure(plan, bb, base, session.admin_token))
    report(figures)


def main() -> int:
    return bench_main("bench_core", __doc__, run)


if __name__ == "__main__":
    sys.exit(main())
