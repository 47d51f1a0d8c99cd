"""Core benchmark: single and batch publish, list-latest at 100k versions, and a plain
FastAPI + psycopg INSERT baseline measured in the same run.

    .venv/bin/python bench/bench_core.py           # full run, about 1.5-3 minutes
    .venv/bin/python bench/bench_core.py --quick   # smoke run, about 20 seconds

It starts the real service (`blackboard serve --workers 2`, embedded PostgreSQL in a fresh
temporary data directory) and the baseline app (bench/baseline_app.py under uvicorn
--workers 2) on the same database server, drives both over HTTP with the same client,
prints a table, and stops everything again. A benchmark run by hand, not a test.

The client is a small HTTP/1.1 keep-alive client on uvloop with the httptools parser, one
connection per concurrent worker. It costs some tens of microseconds of CPU per request
(httpx cost 1-2 ms here), so on a 2-core machine it takes as little as possible from the
servers it measures; its CPU share is printed with every load phase. On Linux the servers'
CPU time per request (API processes and PostgreSQL apart) is printed as well: unlike rates,
it barely moves when the machine is shared and noisy, and it shows where the time goes.
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
from dataclasses import dataclass, field
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
    """One keep-alive HTTP/1.1 connection: send a request, await its response."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._chunks: list[bytes] = []
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._lost: Exception | None = None

    @classmethod
    async def open(cls, port: int) -> HttpConnection:
        _, protocol = await asyncio.get_running_loop().create_connection(cls, HOST, port)
        return protocol

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
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
        """Send one request; return the status and body of its response."""
        if self._lost is not None:
            raise self._lost
        assert self._transport is not None and self._waiter is None
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(raw)
        return await self._waiter

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


# --------------------------------------------------------------------------- measuring


class CpuMeter:
    """CPU seconds used so far by servers, by label (Linux /proc; else nothing).

    A server is a root process, its direct children, and its process group: the API server
    and its workers (started in a session of their own, so the group holds just them), or
    PostgreSQL's postmaster and its backends (each of which calls setsid). Exited children
    that were waited for count in their parent's time, so connections that come and go do.
    """

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def read(self) -> dict[str, float]:
        ticks = dict.fromkeys(self.roots.values(), 0)
        try:
            entries = [e.name for e in os.scandir("/proc") if e.name.isdigit()]
        except OSError:
            return {}
        for pid in entries:
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    stat = f.read()
            except OSError:  # the process has just gone
                continue
            # after "(command) ": state ppid pgrp ... utime stime cutime cstime (12th-15th)
            fields = stat[stat.rindex(b")") + 2 :].split()
            parent, group = int(fields[1]), int(fields[2])
            root = group if group in ticks else parent if parent in ticks else None
            if root is not None:
                ticks[root] += sum(int(x) for x in fields[11:15])
        return {label: ticks[root] / self._tick for label, root in self.roots.items()}


@dataclass(frozen=True)
class LoadResult:
    """What one load phase measured."""

    requests: int
    items_per_request: int
    elapsed_s: float
    latencies_ms: list[float]
    client_cpu_s: float
    server_cpu_s: dict[str, float] = field(default_factory=dict)

    @property
    def items(self) -> int:
        return self.requests * self.items_per_request

    @property
    def request_rate(self) -> float:
        return self.requests / self.elapsed_s

    @property
    def item_rate(self) -> float:
        return self.items / self.elapsed_s

    @property
    def client_cpu_share(self) -> float:
        """The client's CPU time over the wall time (1.0 = one core busy)."""
        return self.client_cpu_s / self.elapsed_s

    def server_cpu_ms_per_item(self, label: str) -> float:
        return self.server_cpu_s.get(label, math.nan) * 1000 / self.items

    def percentile(self, q: float) -> float:
        return percentile(sorted(self.latencies_ms), q)

    @staticmethod
    def merge(results: Sequence[LoadResult]) -> LoadResult:
        labels = set.intersection(*(set(r.server_cpu_s) for r in results))
        return LoadResult(
            requests=sum(r.requests for r in results),
            items_per_request=results[0].items_per_request,
            elapsed_s=sum(r.elapsed_s for r in results),
            latencies_ms=[x for r in results for x in r.latencies_ms],
            client_cpu_s=sum(r.client_cpu_s for r in results),
            server_cpu_s={k: sum(r.server_cpu_s[k] for r in results) for k in labels},
        )


def percentile(ordered: Sequence[float], q: float) -> float:
    """Return the nearest-rank q-th percentile (0 < q <= 100) of ascending `ordered`."""
    if not ordered:
        return math.nan
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
    meter: CpuMeter | None = None,
) -> LoadResult:
    """Send `warmup` then `count` requests over `concurrency` connections, as fast as they go.

    Request i is `make_request(i)`, i counting on from the warm-up. Only the `count`
    requests after the warm-up are timed (and their server CPU metered).
    """
    conns = [await HttpConnection.open(port) for _ in range(concurrency)]
    try:

        async def phase(first: int, n: int, latencies: list[float]) -> None:
            numbers = iter(range(first, first + n))  # shared by the workers of one event loop

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
        server0 = meter.read() if meter else {}
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await phase(warmup, count, latencies)
        elapsed, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        server1 = meter.read() if meter else {}
    finally:
        for conn in conns:
            conn.close()
    server = {k: server1[k] - server0[k] for k in server0.keys() & server1.keys()}
    return LoadResult(count, items_per_request, elapsed, latencies, cpu, server)


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


def postmaster_pid(pgdata: Path) -> int | None:
    """Return the pid of the PostgreSQL server running in `pgdata`, if any."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    return None


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

    def wait_until_ready(self, probe: Callable[[], bool]) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(
                    f"{self.name} exited with code {self.proc.returncode}:\n{self.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError, OSError):
                if probe():
                    return
            time.sleep(0.25)
        raise BenchError(f"{self.name} did not become ready:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM and wait; then stop what is left of its process group (its workers, if
        it died without stopping them), and SIGKILL whatever does not go."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                print(f"  {self.name} ignored SIGTERM; killing it", file=sys.stderr)
        group = self.proc.pid  # start_new_session: the group holds only what it started
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                time.sleep(0.1)
                os.killpg(group, 0)  # ProcessLookupError once the group is empty
            os.killpg(group, signal.SIGKILL)
        self.proc.wait()
        self._log.close()


def stop_stray_postgres(pgdata: Path) -> None:
    """Fast-shut-down a PostgreSQL the service left running in `pgdata` (if it was killed)."""
    pid = postmaster_pid(pgdata)
    if pid is None:
        return
    print(f"  stopping the embedded PostgreSQL (pid {pid}) left running", file=sys.stderr)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while (pgdata / "postmaster.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.2)


@dataclass(frozen=True)
class Running:
    """A server that answers: where, and the processes whose CPU time it uses."""

    port: int
    meter: CpuMeter


@contextlib.contextmanager
def blackboard_server(data_dir: Path, admin_token: str) -> Iterator[Running]:
    """Run `blackboard serve` with production settings until the block ends."""
    port = free_port()
    argv = [console_script("blackboard"), "serve", "--port", str(port)]
    argv += ["--data-dir", str(data_dir), "--workers", "2", "--no-access-log"]
    env = clean_env(BLACKBOARD_ADMIN_TOKEN=admin_token)
    server = ServerProcess("blackboard serve", argv, env, data_dir.parent / "blackboard.log")
    try:
        server.wait_until_ready(
            lambda: httpx.get(f"http://{HOST}:{port}/healthz", timeout=2).status_code == 200
        )
        roots = {"app": server.proc.pid}
        pg = postmaster_pid(data_dir / "pgdata")
        if pg is not None:
            roots["postgres"] = pg
        yield Running(port, CpuMeter(roots))
    finally:
        server.stop()
        stop_stray_postgres(data_dir / "pgdata")


@contextlib.contextmanager
def baseline_server(database_url: str, postgres: int | None, log_dir: Path) -> Iterator[Running]:
    """Run bench/baseline_app.py under uvicorn as the service runs, until the block ends."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(TABLE_DDL)
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "baseline_app:app", "--app-dir", str(BENCH_DIR)]
    argv += ["--host", HOST, "--port", str(port), "--workers", "2", "--loop", "uvloop"]
    argv += ["--http", "httptools", "--no-access-log", "--log-level", "warning"]
    env = clean_env(BENCH_BASELINE_DATABASE_URL=database_url)
    server = ServerProcess("baseline (uvicorn)", argv, env, log_dir / "baseline.log")
    probe = {"board_id": str(uuid.uuid4()), "type": "probe", "body": {"x": 1}}
    try:
        server.wait_until_ready(
            lambda: (
                httpx.post(f"http://{HOST}:{port}/insert", json=probe, timeout=2).status_code == 201
            )
        )
        roots = {"app": server.proc.pid}
        if postgres is not None:
            roots["postgres"] = postgres
        yield Running(port, CpuMeter(roots))
    finally:
        server.stop()


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


def say(message: str) -> None:
    print(message, flush=True)


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
        batches[concurrency] = await run_load(
            bb.port,
            filler,
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
    # (metric, measured, target, met?) with met None where there is no target
    rows: list[tuple[str, str, str, bool | None]] = []

    def row(name: str, value: str, target: str = "", met: bool | None = None) -> None:
        rows.append((name, value, target, met))

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

    width = max(len(r[0]) for r in rows)
    rule = "-" * (width + 34)
    say("\n" + rule.replace("-", "="))
    say(f"{'metric':<{width}}  {'measured':>10}  {'target':>10}  result")
    say(rule)
    for name, value, target, met in rows:
        verdict = "" if met is None else ("ok" if met else "MISS")
        say(f"{name:<{width}}  {value:>10}  {target:>10}  {verdict}".rstrip())
    say(rule.replace("-", "="))

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


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and logs")
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
        say(f"starting blackboard serve --workers 2, data in {data_dir} ...")
        with blackboard_server(data_dir, admin_token) as bb:
            pgdata = data_dir / "pgdata"
            database_url = f"postgresql://postgres:@/blackboard?host={pgdata}"
            say("starting the baseline app (uvicorn --workers 2) on the same PostgreSQL ...")
            with baseline_server(database_url, postmaster_pid(pgdata), work_dir) as base:
                say(f"ready after {time.perf_counter() - started:.0f} s")
                figures = uvloop.run(measure(plan, bb, base, admin_token))
        report(figures)
    except BenchError as exc:
        print(f"\nbench_core failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nbench_core interrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            say(f"kept {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    say(f"total time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
