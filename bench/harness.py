"""What the benchmarks share: the server under test, the HTTP client, and measuring.

- `blackboard_server` starts `blackboard serve --workers 2 --no-access-log` on a free
  port with a fresh data directory (embedded PostgreSQL) and stops it again, with
  SIGTERM, on errors and on Ctrl-C too; `database_url` is the URL of its PostgreSQL.
  `baseline_server` runs the bare baseline (baseline_app.py) on that PostgreSQL, and
  `service_and_baseline` both.
- `Admin` registers agents and boards with the admin token.
- `HttpConnection` is a small HTTP/1.1 keep-alive client on uvloop with the httptools
  parser: some tens of microseconds of CPU per request (httpx costs 1-2 ms), so on a
  2-core machine it takes as little as possible from the servers it measures.
  `run_load` drives it over several connections and times each request.
- `CpuMeter` reads the servers' CPU time from /proc (API processes and PostgreSQL
  apart); `WaitSampler` samples what the database's backends are doing (on CPU, waiting
  for a lock and in which statement, idle in a transaction); `percentile`, `Table` and
  `bench_main` (arguments, temporary directory, error handling) do the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
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
from types import TracebackType
from typing import Any, cast

import httptools
import httpx
import psycopg
from baseline_app import TABLE_DDL

BENCH_DIR = Path(__file__).resolve().parent
HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0


def say(message: str) -> None:
    print(message, flush=True)


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
    """Our environment without BLACKBOARD_* settings (so nothing points elsewhere), plus `extra`.

    A setting meant for the service under test is given as BENCH_SERVICE_<NAME> and passed
    on as BLACKBOARD_<NAME> (BENCH_SERVICE_ROLLUP_INTERVAL_S=60, say)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLACKBOARD_")}
    env.update(
        {
            "BLACKBOARD_" + k.removeprefix("BENCH_SERVICE_"): v
            for k, v in os.environ.items()
            if k.startswith("BENCH_SERVICE_")
        }
    )
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
def blackboard_server(data_dir: Path, admin_token: str, workers: int = 2) -> Iterator[Running]:
    """Run `blackboard serve` with production settings until the block ends."""
    port = free_port()
    argv = [console_script("blackboard"), "serve", "--port", str(port)]
    argv += ["--data-dir", str(data_dir), "--workers", str(workers), "--no-access-log"]
    if profile := os.environ.get("BENCH_PROFILE"):
        # cProfile of the (single-worker) API process, written when it stops
        argv = [sys.executable, "-m", "cProfile", "-o", profile, *argv]
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
def baseline_server(
    url: str, postgres: int | None, log_dir: Path, workers: int = 2
) -> Iterator[Running]:
    """Run the bare baseline (bench/baseline_app.py) as the service runs (`workers` uvicorn
    workers under the service's own supervisor, bench/serve_baseline.py), on the database
    at `url`, until the block ends."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(TABLE_DDL)
    port = free_port()
    argv = [sys.executable, str(BENCH_DIR / "serve_baseline.py"), "--host", HOST]
    argv += ["--port", str(port), "--workers", str(workers)]
    env = clean_env(BENCH_BASELINE_DATABASE_URL=url)
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


@contextlib.contextmanager
def service_and_baseline(session: Session, workers: int = 2) -> Iterator[tuple[Running, Running]]:
    """`blackboard serve` (see blackboard_server) and the bare baseline on its PostgreSQL,
    until the block ends."""
    data_dir = session.data_dir
    say(f"starting blackboard serve --workers {workers}, data in {data_dir} ...")
    with blackboard_server(data_dir, session.admin_token, workers) as bb:
        say(
            f"starting the bare baseline ({workers} workers, as the service) on the same PostgreSQL"
        )
        pg = postmaster_pid(data_dir / "pgdata")
        with baseline_server(database_url(data_dir), pg, session.work_dir, workers) as base:
            say(f"ready after {time.perf_counter() - session.started:.0f} s")
            yield bb, base


def database_url(data_dir: Path) -> str:
    """Return the URL of the embedded PostgreSQL that `blackboard serve` runs in `data_dir`."""
    return f"postgresql://postgres:@/blackboard?host={data_dir / 'pgdata'}"


# --------------------------------------------------------------------------- set-up


class Admin:
    """The operator's side of the API (admin token), for setting up a benchmark."""

    def __init__(self, port: int, admin_token: str) -> None:
        self._client = httpx.AsyncClient(
            base_url=f"http://{HOST}:{port}",
            timeout=30,
            headers={"Authorization": f"Bearer {admin_token}"},
        )

    async def __aenter__(self) -> Admin:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._client.aclose()

    async def post(self, path: str, body: dict[str, Any], expect: int = 201) -> dict[str, Any]:
        """POST `body`; return the JSON answer (BenchError unless the status is `expect`)."""
        r = await self._client.post(path, json=body)
        if r.status_code != expect:
            raise BenchError(f"POST {path}: HTTP {r.status_code}: {r.text}")
        answer: dict[str, Any] = r.json()
        return answer

    async def get(self, path: str) -> dict[str, Any]:
        """GET `path`; return the JSON answer (BenchError unless 200)."""
        r = await self._client.get(path)
        if r.status_code != 200:
            raise BenchError(f"GET {path}: HTTP {r.status_code}: {r.text}")
        answer: dict[str, Any] = r.json()
        return answer

    async def agent(self, name: str) -> tuple[str, str]:
        """Register an agent; return its (id, token)."""
        created = await self.post("/v1/agents", {"name": name})
        return created["id"], created["token"]

    async def board(self, name: str) -> str:
        """Create a board; return its id."""
        created = await self.post("/v1/boards", {"name": name})
        board_id: str = created["id"]
        return board_id


def unique_suffix() -> str:
    """A short random suffix for names that must be unique (agents, boards)."""
    return secrets.token_hex(4)


# --------------------------------------------------------------------------- report


class Table:
    """The final table: metric, measured value, target, and whether it was met."""

    def __init__(self) -> None:
        # (metric, measured, target, met?) with met None where there is no target
        self.rows: list[tuple[str, str, str, bool | None]] = []

    def row(self, name: str, value: str, target: str = "", met: bool | None = None) -> None:
        self.rows.append((name, value, target, met))

    def print(self) -> None:
        width = max(len(r[0]) for r in self.rows)
        rule = "-" * (width + 34)
        say("\n" + rule.replace("-", "="))
        say(f"{'metric':<{width}}  {'measured':>10}  {'target':>10}  result")
        say(rule)
        for name, value, target, met in self.rows:
            verdict = "" if met is None else ("ok" if met else "MISS")
            say(f"{name:<{width}}  {value:>10}  {target:>10}  {verdict}".rstrip())
        say(rule.replace("-", "="))


# --------------------------------------------------------------------------- main


@dataclass(frozen=True)
class Session:
    """One benchmark run: its arguments, a fresh temporary directory, the admin token."""

    args: argparse.Namespace
    work_dir: Path
    admin_token: str
    started: float

    @property
    def data_dir(self) -> Path:
        """Where `blackboard serve` keeps its data (the embedded PostgreSQL among it)."""
        return self.work_dir / "data"

    @property
    def quick(self) -> bool:
        return bool(self.args.quick)


def bench_main(
    name: str,
    doc: str | None,
    run: Callable[[Session], None],
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """Parse --quick/--keep (and more), make a temporary directory, call `run`, clean up.

    `run` starts what it needs (`blackboard_server(session.data_dir, ...)`) and prints its
    report; a BenchError or Ctrl-C ends it with a message and exit status 1 or 130.
    """
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args()
    started = time.perf_counter()
    say(
        f"{name}: {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {'quick' if args.quick else 'full'} run"
    )
    work_dir = Path(tempfile.mkdtemp(prefix="bb-bench-"))
    admin_token = "bbadmin_bench-" + secrets.token_urlsafe(16)
    try:
        run(Session(args, work_dir, admin_token, started))
    except BenchError as exc:
        print(f"\n{name} failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\n{name} interrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            say(f"kept {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    say(f"total time {time.perf_counter() - started:.0f} s")
    return 0


class WaitSampler:
    """Samples what the database's client backends are doing, every `interval_s`, while a
    phase runs: on CPU, waiting for a lock (and in which statement), for I/O, or idle in
    a transaction (waiting for the API process). Shows where concurrent requests queue.

        async with WaitSampler(url) as waits:
            ...  # the load
        waits.top(5)  # [(what, average number of backends doing it)]
    """

    # the statement: its first 40 characters, and the name of its second CTE if it has one
    QUERY = """
        SELECT state, wait_event_type, wait_event,
               left(ltrim(regexp_replace(query, '\\s+', ' ', 'g')), 40)
               || coalesce(' ... ' || substring(query from '\\)\\s*,\\s*(\\w+)\\s+AS'), '')
        FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND backend_type = 'client backend' AND state <> 'idle'
          AND application_name <> 'blackboard-listener'
    """

    def __init__(self, url: str, interval_s: float = 0.02) -> None:
        self.url = url
        self.interval_s = interval_s
        self.samples = 0
        self.counts: dict[str, int] = {}
        self.idle_after: dict[str, int] = {}  # idle in transaction, by the last statement
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> WaitSampler:
        conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)

        async def sample() -> None:
            async with conn:
                while True:
                    cur = await conn.execute(self.QUERY)
                    for state, kind, event, query in await cur.fetchall():
                        if state == "idle in transaction":
                            what = "idle in transaction (waiting for the API)"
                            self.idle_after[query] = self.idle_after.get(query, 0) + 1
                        elif kind is None:
                            what = "on CPU"
                        elif kind == "Lock":
                            what = f"Lock:{event} in {query!r}"
                        else:
                            what = f"{kind}:{event}"
                        self.counts[what] = self.counts.get(what, 0) + 1
                    self.samples += 1
                    await asyncio.sleep(self.interval_s)

        self._task = asyncio.create_task(sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def top(self, n: int) -> list[tuple[str, float]]:
        """The `n` most common activities, with the average number of backends in each."""
        ranked = sorted(self.counts.items(), key=lambda kv: -kv[1])[:n]
        return [(what, count / max(self.samples, 1)) for what, count in ranked]

    def describe(self, n: int = 5) -> str:
        samples = max(self.samples, 1)
        busy = sum(self.counts.values()) / samples
        parts = [f"{avg:.1f} {what}" for what, avg in self.top(n)]
        text = f"{busy:.1f} busy backends on average: " + "; ".join(parts)
        if self.idle_after:
            idle = sorted(self.idle_after.items(), key=lambda kv: -kv[1])[:3]
            text += "; idle in transaction after: " + ", ".join(
                f"{query!r} {count / samples:.1f}" for query, count in idle
            )
        return text
