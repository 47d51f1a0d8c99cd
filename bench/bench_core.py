"""Core benchmark: publish throughput and latency, batch publish, list-latest at 100k versions,
against a plain FastAPI + psycopg INSERT baseline measured in the same run.

    .venv/bin/python bench/bench_core.py           # full run, about 2-3 minutes
    .venv/bin/python bench/bench_core.py --quick   # smoke run, well under a minute

It starts the real service (`blackboard serve --workers 2`, embedded PostgreSQL in a fresh
temporary data directory) and the baseline app (bench/baseline_app.py, uvicorn --workers 2)
on the same database server, drives both over HTTP with the same client, prints a table,
and stops everything again. It is a benchmark run by hand, not a test.

The client is a small HTTP/1.1 keep-alive client on uvloop with the httptools parser (the
parser uvicorn uses), one connection per concurrent worker: it costs a few tens of
microseconds per request, where httpx costs about a millisecond, so on a 2-core machine it
takes as little CPU as possible from the servers it measures. The client's own CPU share is
printed next to every load phase.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httptools
import httpx
import orjson
import psycopg
import uvloop
from baseline_app import TABLE_DDL  # bench/ is on sys.path: this file is run as a script

BENCH_DIR = Path(__file__).resolve().parent
HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0

# Targets (from the project brief).
TARGET_PUBLISH_RATE = 1_500.0  # artifacts/s, single publish at concurrency 16
TARGET_PUBLISH_VS_BASELINE = 0.5
TARGET_PUBLISH_P99_MS = 25.0
TARGET_BATCH_RATE = 15_000.0  # artifacts/s
TARGET_LIST_P99_MS = 10.0


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Plan:
    """How much work each phase does."""

    concurrency: int = 16
    rounds: int = 2  # publish and baseline alternate (A B A B) to even out a noisy machine
    warmup_per_round: int = 300
    requests_per_round: int = 3_000
    batch_size: int = 500
    batches_measured: int = 30  # per batch concurrency level
    batch_concurrency: tuple[int, ...] = (1, 2)
    board_versions: int = 100_000
    board_keys: int = 20_000  # so about 5 versions per key
    list_warmup: int = 20
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


# --------------------------------------------------------------------------- HTTP client


class BenchError(RuntimeError):
    """The benchmark cannot go on (a server did not start, a request failed)."""


def http_request(path: str, *, token: str | None, body: bytes | None, port: int) -> bytes:
    """Return the bytes of one HTTP/1.1 request (POST with a JSON body, else GET)."""
    lines = [
        f"{'GET' if body is None else 'POST'} {path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        "Accept: application/json",
    ]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return head + body if body is not None else head


class HttpConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection that sends a request and awaits its response."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._chunks: list[bytes] = []
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._lost: Exception | None = None

    @classmethod
    async def open(cls, port: int) -> HttpConnection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(cls, HOST, port)
        return protocol

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport but implement it
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(BenchError(f"bad HTTP response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("the server closed the connection"))

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        waiter, self._waiter = self._waiter, None
        body = b"".join(self._chunks)
        self._chunks.clear()
        if waiter is not None and not waiter.done():
            waiter.set_result((self._parser.get_status_code(), body))

    def _fail(self, exc: Exception) -> None:
        self._lost = exc
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one request; return (status, body) of its response."""
        if self._lost is not None:
            raise self._lost
        assert self._transport is not None and self._waiter is None
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(raw)
        return await self._waiter

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


@dataclass(frozen=True)
class LoadResult:
    """What one load phase measured."""

    requests: int
    items_per_request: int
    elapsed_s: float
    latencies_ms: list[float]
    client_cpu_s: float

    @property
    def request_rate(self) -> float:
        return self.requests / self.elapsed_s

    @property
    def item_rate(self) -> float:
        return self.requests * self.items_per_request / self.elapsed_s

    @property
    def client_cpu_share(self) -> float:
        """The client's CPU time over the wall time (1.0 = one core busy)."""
        return self.client_cpu_s / self.elapsed_s

    def percentile(self, q: float) -> float:
        return percentile(sorted(self.latencies_ms), q)

    @staticmethod
    def merge(results: Sequence[LoadResult]) -> LoadResult:
        return LoadResult(
            requests=sum(r.requests for r in results),
            items_per_request=results[0].items_per_request,
            elapsed_s=sum(r.elapsed_s for r in results),
            latencies_ms=[x for r in results for x in r.latencies_ms],
            client_cpu_s=sum(r.client_cpu_s for r in results),
        )


def percentile(ordered: Sequence[float], q: float) -> float:
    """Return the nearest-rank q-th percentile (0 < q <= 100) of ascending `ordered`."""
    if not ordered:
        return float("nan")
    rank = min(max(1, math.ceil(q / 100 * len(ordered))), len(ordered))
    return ordered[rank - 1]


async def run_load(
    port: int,
    make_request: Callable[[int], bytes],
    *,
    warmup: int,
    count: int,
    concurrency: int,
    expect_status: int,
    items_per_request: int = 1,
) -> LoadResult:
    """Send `warmup` then `count` requests over `concurrency` connections, as fast as they go.

    Request i is `make_request(i)` (i counts on from the warm-up). Only the `count`
    requests after the warm-up are timed.
    """
    conns = [await HttpConnection.open(port) for _ in range(concurrency)]
    try:

        async def phase(first: int, n: int, latencies: list[float]) -> None:
            numbers = iter(range(first, first + n))  # shared: one event loop, no races

            async def worker(conn: HttpConnection) -> None:
                for i in numbers:
                    raw = make_request(i)
                    started = time.perf_counter()
                    status, body = await conn.request(raw)
                    latencies.append((time.perf_counter() - started) * 1000)
                    if status != expect_status:
                        raise BenchError(f"HTTP {status} (wanted {expect_status}): {body[:500]!r}")

            await asyncio.gather(*(worker(c) for c in conns))

        await phase(0, warmup, [])
        latencies: list[float] = []
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await phase(warmup, count, latencies)
        elapsed, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    finally:
        for conn in conns:
            conn.close()
    return LoadResult(count, items_per_request, elapsed, latencies, cpu)


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def clean_env(**extra: str) -> dict[str, str]:
    """Our environment without BLACKBOARD_* settings (so nothing points elsewhere), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLACKBOARD_")}
    env.update(extra)
    return env


def console_script(name: str) -> str:
    """Return the path of a console script of this virtualenv."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if found is None:
        raise BenchError(f"cannot find `{name}`; run with the project's .venv/bin/python")
    return found


class ServerProcess:
    """A server started as a subprocess in its own session; stopped with SIGTERM."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            argv,
            env=env,
            cwd=BENCH_DIR.parent,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only us; we stop it in order
        )

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def check_running(self) -> None:
        if self.proc.poll() is not None:
            raise BenchError(
                f"{self.name} exited with code {self.proc.returncode}:\n{self.log_tail()}"
            )

    def stop(self) -> None:
        """SIGTERM, wait, and SIGKILL the process group if it does not go."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                print(f"  {self.name} ignored SIGTERM; killing it", file=sys.stderr)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


def stop_stray_postgres(pgdata: Path) -> None:
    """Fast-shut-down a PostgreSQL that the service left running in `pgdata` (if it was killed)."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return
    with contextlib.suppress(ValueError, IndexError):
        pid = int(pid_file.read_text().split()[0])
        print(f"  stopping the embedded PostgreSQL (pid {pid}) left running", file=sys.stderr)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)


def wait_until_ready(server: ServerProcess, probe: Callable[[], bool]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        server.check_running()
        with contextlib.suppress(httpx.HTTPError, OSError):
            if probe():
                return
        time.sleep(0.25)
    raise BenchError(f"{server.name} did not become ready:\n{server.log_tail()}")


@contextlib.contextmanager
def blackboard_server(data_dir: Path, admin_token: str) -> Iterator[int]:
    """Run `blackboard serve` with production settings; yield its port."""
    port = free_port()
    argv = [
        console_script("blackboard"),
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--workers",
        "2",
        "--no-access-log",
    ]
    env = clean_env(BLACKBOARD_ADMIN_TOKEN=admin_token)
    server = ServerProcess("blackboard serve", argv, env, data_dir.parent / "blackboard.log")
    try:

        def healthy() -> bool:
            return httpx.get(f"http://{HOST}:{port}/healthz", timeout=2).status_code == 200

        wait_until_ready(server, healthy)
        yield port
    finally:
        server.stop()
        stop_stray_postgres(data_dir / "pgdata")


@contextlib.contextmanager
def baseline_server(database_url: str, log_dir: Path, probe_body: bytes) -> Iterator[int]:
    """Run bench/baseline_app.py under uvicorn like the service runs; yield its port."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(TABLE_DDL)
    port = free_port()
    argv = [
        *(sys.executable, "-m", "uvicorn", "baseline_app:app"),
        *("--app-dir", str(BENCH_DIR), "--host", HOST, "--port", str(port)),
        *("--workers", "2", "--loop", "uvloop", "--http", "httptools"),
        *("--no-access-log", "--log-level", "warning"),
    ]
    env = clean_env(BENCH_BASELINE_DATABASE_URL=database_url)
    server = ServerProcess("baseline (uvicorn)", argv, env, log_dir / "baseline.log")
    try:

        def inserts() -> bool:
            r = httpx.post(
                f"http://{HOST}:{port}/insert",
                content=probe_body,
                headers={"Content-Type": "application/json"},
                timeout=2,
            )
            return r.status_code == 201

        wait_until_ready(server, inserts)
        yield port
    finally:
        server.stop()


# --------------------------------------------------------------------------- phases


@dataclass
class Figures:
    """Everything the final table shows."""

    publish: LoadResult
    baseline: LoadResult
    batches: dict[int, LoadResult]
    board_versions: int
    list_latest: LoadResult
    list_items: int


def single_publish_requests(
    port: int, board_id: str, token: str, count: int
) -> Callable[[int], bytes]:
    """Prebuilt publish requests (so building them costs nothing while timing)."""
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
    """Batch-publish requests for a board of `keys` keys over ARTIFACT_TYPES, re-published
    at random so that keys get several versions each (about versions/keys on average)."""

    def __init__(self, port: int, board_id: str, token: str, keys: int, batch_size: int) -> None:
        self.port = port
        self.path = f"/v1/boards/{board_id}/artifacts/batch"
        self.token = token
        self.keys = keys
        self.batch_size = batch_size
        self.rng = random.Random(2)
        self.serial = 0
        self.published = 0

    def __call__(self, _: int) -> bytes:
        items = []
        for _ in range(self.batch_size):
            k = self.rng.randrange(self.keys)
            kind = ARTIFACT_TYPES[k % len(ARTIFACT_TYPES)]
            self.serial += 1
            items.append(
                {
                    "type": kind,
                    "key": f"{kind}/{k:06d}",
                    "body": artifact_body(kind, self.rng, self.serial),
                    "tags": [f"t{k % 7}"],
                }
            )
        self.published += len(items)
        return http_request(
            self.path, token=self.token, body=orjson.dumps({"items": items}), port=self.port
        )


def say(message: str) -> None:
    print(message, flush=True)


def describe(label: str, r: LoadResult, unit: str = "req/s") -> None:
    rate = r.item_rate if unit == "artifacts/s" else r.request_rate
    say(
        f"    {label}: {rate:,.0f} {unit}, p50 {r.percentile(50):.1f} ms, "
        f"p99 {r.percentile(99):.1f} ms  ({r.requests:,} requests in {r.elapsed_s:.1f} s, "
        f"client CPU {r.client_cpu_share:.0%} of a core)"
    )


async def register(port: int, admin_token: str) -> tuple[str, str, str]:
    """Register an agent and two boards; return (agent token, publish board, list board)."""
    admin = {"Authorization": f"Bearer {admin_token}"}
    suffix = secrets.token_hex(4)
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=30) as client:

        async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            r = await client.post(path, json=body, headers=admin)
            if r.status_code != 201:
                raise BenchError(f"POST {path}: HTTP {r.status_code}: {r.text}")
            created: dict[str, Any] = r.json()
            return created

        agent = await post("/v1/agents", {"name": f"bench-agent-{suffix}"})
        publish_board = await post("/v1/boards", {"name": f"bench-publish-{suffix}"})
        list_board = await post("/v1/boards", {"name": f"bench-list-{suffix}"})
    return agent["token"], publish_board["id"], list_board["id"]


async def measure(plan: Plan, bb_port: int, base_port: int, admin_token: str) -> Figures:
    token, publish_board, list_board = await register(bb_port, admin_token)
    per_round = plan.warmup_per_round + plan.requests_per_round

    say(
        f"\n[1/3] single publish vs baseline: concurrency {plan.concurrency}, "
        f"{plan.rounds} round(s) of {plan.requests_per_round:,} after "
        f"{plan.warmup_per_round:,} warm-up, alternating"
    )
    publish_rounds: list[LoadResult] = []
    baseline_rounds: list[LoadResult] = []
    for n in range(plan.rounds):
        publish = await run_load(
            bb_port,
            single_publish_requests(bb_port, publish_board, token, per_round),
            warmup=plan.warmup_per_round,
            count=plan.requests_per_round,
            concurrency=plan.concurrency,
            expect_status=201,
        )
        describe(f"round {n + 1} publish ", publish)
        publish_rounds.append(publish)
        baseline = await run_load(
            base_port,
            baseline_requests(base_port, publish_board, per_round),
            warmup=plan.warmup_per_round,
            count=plan.requests_per_round,
            concurrency=plan.concurrency,
            expect_status=201,
        )
        describe(f"round {n + 1} baseline", baseline)
        baseline_rounds.append(baseline)

    say(
        f"\n[2/3] batch publish ({plan.batch_size} items/request) while filling a board "
        f"to {plan.board_versions:,} versions over {plan.board_keys:,} keys"
    )
    filler = BoardFiller(bb_port, list_board, token, plan.board_keys, plan.batch_size)
    batches: dict[int, LoadResult] = {}
    for concurrency in plan.batch_concurrency:
        batch = await run_load(
            bb_port,
            filler,
            warmup=concurrency,
            count=plan.batches_measured,
            concurrency=concurrency,
            expect_status=201,
            items_per_request=plan.batch_size,
        )
        describe(f"concurrency {concurrency}", batch, unit="artifacts/s")
        batches[concurrency] = batch
    remaining = -(-(plan.board_versions - filler.published) // plan.batch_size)
    if remaining > 0:
        fill = await run_load(
            bb_port,
            filler,
            warmup=0,
            count=remaining,
            concurrency=max(plan.batch_concurrency),
            expect_status=201,
            items_per_request=plan.batch_size,
        )
        describe("rest of the fill", fill, unit="artifacts/s")
    say(f"    board holds {filler.published:,} versions")

    say(
        f"\n[3/3] list-latest: GET ?type=finding&limit={plan.list_limit} on that board, "
        f"{plan.list_requests} sequential requests"
    )
    list_path = f"/v1/boards/{list_board}/artifacts?type=finding&limit={plan.list_limit}"
    list_request = http_request(list_path, token=token, body=None, port=bb_port)
    listing = await run_load(
        bb_port,
        lambda _: list_request,
        warmup=plan.list_warmup,
        count=plan.list_requests,
        concurrency=1,
        expect_status=200,
    )
    describe("list-latest", listing)
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{bb_port}", timeout=30) as client:
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
    best_batch = max(f.batches.values(), key=lambda r: r.item_rate)
    versions = f"{f.board_versions / 1000:,.0f}k"
    rows: list[tuple[str, str, str, bool | None]] = [
        (
            "publish (c=16)  artifacts/s",
            f"{f.publish.request_rate:,.0f}",
            ">= 1,500",
            f.publish.request_rate >= TARGET_PUBLISH_RATE,
        ),
        ("publish         p50 ms", f"{f.publish.percentile(50):.1f}", "", None),
        (
            "publish         p99 ms",
            f"{f.publish.percentile(99):.1f}",
            "<= 25",
            f.publish.percentile(99) <= TARGET_PUBLISH_P99_MS,
        ),
        ("baseline (c=16) req/s", f"{f.baseline.request_rate:,.0f}", "", None),
        ("baseline        p50 ms", f"{f.baseline.percentile(50):.1f}", "", None),
        ("baseline        p99 ms", f"{f.baseline.percentile(99):.1f}", "", None),
        (
            "ratio publish/baseline",
            f"{ratio:.2f}x",
            ">= 0.50x",
            ratio >= TARGET_PUBLISH_VS_BASELINE,
        ),
    ]
    for concurrency, batch in sorted(f.batches.items()):
        best = batch is best_batch
        rows.append(
            (
                f"batch x{batch.items_per_request} (c={concurrency}) artifacts/s",
                f"{batch.item_rate:,.0f}",
                ">= 15,000" if best else "",
                batch.item_rate >= TARGET_BATCH_RATE if best else None,
            )
        )
    rows += [
        (
            f"list-latest @{versions} versions p50 ms",
            f"{f.list_latest.percentile(50):.1f}",
            "",
            None,
        ),
        (
            f"list-latest @{versions} versions p99 ms",
            f"{f.list_latest.percentile(99):.1f}",
            "<= 10",
            f.list_latest.percentile(99) <= TARGET_LIST_P99_MS,
        ),
    ]
    width = max(len(r[0]) for r in rows)
    say("\n" + "=" * (width + 36))
    say(f"{'metric':<{width}}  {'measured':>10}  {'target':>10}  result")
    say("-" * (width + 36))
    for name, value, target, ok in rows:
        verdict = "" if ok is None else ("ok" if ok else "MISS")
        say(f"{name:<{width}}  {value:>10}  {target:>10}  {verdict}")
    say("=" * (width + 36))
    say(
        f"client CPU (share of one core): publish {f.publish.client_cpu_share:.0%}, "
        f"baseline {f.baseline.client_cpu_share:.0%}; "
        f"list-latest returned {f.list_items} items per page"
    )


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary data directory and logs"
    )
    args = parser.parse_args()
    plan = Plan.quick() if args.quick else Plan()
    started = time.perf_counter()
    say(
        f"bench_core: {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {'quick' if args.quick else 'full'} run"
    )
    work_dir = Path(tempfile.mkdtemp(prefix="bb-bench-"))
    data_dir = work_dir / "data"
    admin_token = "bbadmin_bench-" + secrets.token_urlsafe(16)
    try:
        say(f"starting blackboard serve --workers 2 (data in {data_dir}) ...")
        with blackboard_server(data_dir, admin_token) as bb_port:
            database_url = f"postgresql://postgres:@/blackboard?host={data_dir / 'pgdata'}"
            probe = orjson.dumps({"board_id": str(uuid.uuid4()), "type": "probe", "body": {"x": 1}})
            say("starting the baseline app (uvicorn --workers 2) ...")
            with baseline_server(database_url, work_dir, probe) as base_port:
                say(f"ready after {time.perf_counter() - started:.0f} s")
                figures = uvloop.run(measure(plan, bb_port, base_port, admin_token))
        report(figures)
    except BenchError as exc:
        print(f"\nbench_core failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            say(f"kept {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    say(f"total time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
