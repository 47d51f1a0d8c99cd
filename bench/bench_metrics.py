"""Metrics benchmark: the population-metrics endpoints on one board with 100,000 events,
against the cheapest read of the same board (`GET .../events?limit=100`) in the same run.

    .venv/bin/python bench/bench_metrics.py           # full run, about 6-8 minutes
    .venv/bin/python bench/bench_metrics.py --quick   # smoke run, about 30-40 seconds

It starts the real service (`blackboard serve --workers 2`, embedded PostgreSQL in a fresh
temporary data directory) and fills one board over HTTP the way a population of 40 agents
would: artifact versions, mostly by batch publish (several versions per key, a mix of
types, short English texts, about a fifth built on other agents' work, some copied word
for word from another agent), role claims (released, or with a tiny ttl that runs out and
is reaped), abstentions, tasks posted, claimed and completed (a few failed, a few
declined), and three runs of scripted model-backed agents (turns, and what they were
shown). Then, sequentially as a dashboard would, it times every board metrics endpoint,
the run metrics and run comparison, and the baseline read, interleaved round by round so
that a noisy machine slows them alike: p50/p99/max, p99 as a ratio to the baseline's,
and the servers' CPU time per request (API processes and PostgreSQL apart).

Metrics are read from the roll-ups in PostgreSQL (nothing is kept per process), but the
first call in each API process still pays for its connections and caches warming up. The
benchmark finds out which API process serves each of its keep-alive connections (Linux
/proc), keeps one connection per process, and makes the first call in one process a full
/metrics and in the other an /metrics/entropy: both are reported apart as "cold", and the
steady state (after a few untimed warm-up calls) alternates between the two processes
round by round. Boards of a million versions: bench_metrics_scale.py.
A benchmark run by hand, not a test.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import uvloop

# bench/ is on sys.path: these files are run as scripts
from harness import (
    Admin,
    BenchError,
    HttpConnection,
    Running,
    Session,
    Table,
    bench_main,
    blackboard_server,
    database_url,
    http_request,
    percentile,
    say,
)
from population import (
    Board,
    Laps,
    Plan,
    TracedConnection,
    call,
    describe_fill,
    fill,
    open_connection,
    settle,
)

# Targets.
TARGET_P99_MS = 200.0  # every metrics endpoint, steady state, board of 100,000 events


# --------------------------------------------------------------------------- measuring


def connection_owner(group: int, server_port: int, client_port: int) -> int | None:
    """Return the pid of the process in process group `group` that holds the server end of
    the TCP connection from `client_port` (Linux /proc), if it can be found."""
    inode = None
    with contextlib.suppress(OSError), open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if int(local.rsplit(":", 1)[1], 16) == server_port and (
                int(remote.rsplit(":", 1)[1], 16) == client_port
            ):
                inode = fields[9]
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
            if int(stat[stat.rindex(b")") + 2 :].split()[2]) != group:
                continue
            for fd in os.scandir(f"/proc/{entry.name}/fd"):
                if os.readlink(fd.path) == target:
                    return int(entry.name)
        except (OSError, ValueError):
            continue
    return None


class ApiProcesses:
    """One keep-alive connection to each of the two API processes of `blackboard serve`,
    opened again to the same process when it has been idle too long. Where the processes
    cannot be told apart (not Linux), two connections wherever they land."""

    def __init__(self, bb: Running) -> None:
        self.port = bb.port
        self.group = bb.meter.roots.get("app")
        self.pids: list[int | None] = []
        self.conns: list[TracedConnection] = []
        self._probe = http_request("/healthz", token=None, body=None, port=bb.port)

    @property
    def told_apart(self) -> bool:
        return len(set(self.pids) - {None}) == 2

    async def _open(self) -> tuple[TracedConnection, int | None]:
        conn = await open_connection(self.port)
        await call(conn, self._probe, (200,), "healthz")  # a process has accepted it now
        owner = connection_owner(self.group, self.port, conn.local_port) if self.group else None
        return conn, owner

    async def open(self, tries: int = 30) -> None:
        spare = []
        for _ in range(tries):
            conn, owner = await self._open()
            if owner is not None and owner not in self.pids:
                self.pids.append(owner)
                self.conns.append(conn)
            else:
                spare.append(conn)
            if len(self.conns) == 2:
                break
        while len(self.conns) < 2 and spare:
            self.pids.append(None)
            self.conns.append(spare.pop())
        for conn in spare:
            conn.close()

    async def conn(self, n: int) -> HttpConnection:
        """The connection to process `n` (0 or 1), opened again if it went stale."""
        conn = self.conns[n]
        if not conn.stale:
            return conn
        conn.close()
        for _ in range(60):
            fresh, owner = await self._open()
            if self.pids[n] is None or owner == self.pids[n]:
                self.conns[n] = fresh
                return fresh
            fresh.close()
        raise BenchError(f"cannot open a connection to API process {self.pids[n]} again")

    def close(self) -> None:
        for conn in self.conns:
            conn.close()


@dataclass
class Endpoint:
    """One endpoint's timings and the servers' CPU time it cost."""

    label: str
    requests: Callable[[int], bytes]  # request i
    latencies_ms: list[float] = field(default_factory=list)
    cpu_s: dict[str, float] = field(default_factory=dict)

    def p(self, q: float) -> float:
        return percentile(sorted(self.latencies_ms), q)

    def cpu_ms(self, label: str) -> float:
        return self.cpu_s.get(label, float("nan")) * 1000 / max(len(self.latencies_ms), 1)


@dataclass
class Cold:
    label: str
    ms: float
    cpu_s: dict[str, float]


async def timed(conn: HttpConnection, raw: bytes, what: str) -> tuple[float, bytes]:
    """One GET: its latency in ms and its body."""
    started = time.perf_counter()
    status, body = await conn.request(raw)
    ms = (time.perf_counter() - started) * 1000
    if status != 200:
        raise BenchError(f"GET {what}: HTTP {status}: {body[:500]!r}")
    return ms, body


@dataclass(frozen=True)
class Figures:
    board: Board
    baseline: Endpoint
    endpoints: list[Endpoint]
    cold: list[Cold]
    told_apart: bool
    summary: dict[str, Any]
    quiet: bool


async def measure(plan: Plan, bb: Running, session: Session) -> Figures:
    board = await fill(plan, bb, session)
    describe_fill(board)
    settle_s = await settle(database_url(session.data_dir))
    say(f"    VACUUM (ANALYZE) of the tables the metrics read: {settle_s:.1f} s")

    port, token, b = bb.port, session.admin_token, board.id

    def get(path: str) -> Callable[[int], bytes]:
        raw = http_request(path, token=token, body=None, port=port)
        return lambda _: raw

    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    m = f"/v1/boards/{b}/metrics"
    baseline = Endpoint("events?limit=100 (baseline)", get(f"/v1/boards/{b}/events?limit=100"))
    endpoints = [
        Endpoint("metrics (all)", get(m)),
        Endpoint("metrics/roles", get(f"{m}/roles")),
        Endpoint("metrics/roles since=-1h w=60s", get(f"{m}/roles?since={hour_ago}&window_s=60")),
        Endpoint("metrics/abstentions", get(f"{m}/abstentions")),
        Endpoint("metrics/claims", get(f"{m}/claims")),
        Endpoint("metrics/tasks", get(f"{m}/tasks")),
        Endpoint("metrics/interactions", get(f"{m}/interactions")),
        Endpoint("metrics/entropy", get(f"{m}/entropy")),
        Endpoint("metrics/duplicates", get(f"{m}/duplicates")),
    ]
    if board.runs:
        per_run = [
            http_request(f"/v1/runs/{r}/metrics", token=token, body=None, port=port)
            for r in board.runs
        ]
        compare = "&".join(f"run_id={r}" for r in board.runs)
        endpoints += [
            Endpoint("runs/{id}/metrics", lambda i: per_run[i % len(per_run)]),
            Endpoint(f"runs/compare ({len(board.runs)} runs)", get(f"/v1/runs/compare?{compare}")),
        ]

    procs = ApiProcesses(bb)
    await procs.open()
    apart = procs.told_apart
    say(
        f"\n[2/3] first calls, one keep-alive connection to each API process (pids {procs.pids})"
        if apart
        else "\n[2/3] first calls: could not tell the API processes apart (not Linux?); "
        "two connections, wherever they landed: the first 4 calls count as cold"
    )
    firsts = [("metrics (all)", m, 0), ("metrics/entropy", f"{m}/entropy", 1)]
    if not apart:
        firsts += [("metrics (all)", m, 1), ("metrics/entropy", f"{m}/entropy", 0)]
    firsts.append(("metrics/entropy?window_s=60", f"{m}/entropy?window_s=60", 0))
    cold: list[Cold] = []
    summary: dict[str, Any] = {}
    laps = Laps(bb.meter.read)
    for label, path, n in firsts:
        raw = http_request(path, token=token, body=None, port=port)
        conn = await procs.conn(n)
        laps.lap()
        ms, body = await timed(conn, raw, path)
        cpu = laps.lap()
        where = f"process {n + 1}" if apart else f"connection {n + 1}"
        cold.append(Cold(f"{label}, first in {where}", ms, cpu))
        say(f"    {label}: {ms:,.0f} ms (first call in {where}){cpu_text(cpu)}")
        if path == m and not summary:
            summary = orjson.loads(body)

    everything = [baseline, *endpoints]
    say(
        f"\n[3/3] steady state: {plan.requests} sequential requests per endpoint "
        f"({len(everything)} endpoints interleaved round by round, the rounds alternating "
        f"between the two API processes) after {plan.warmup} untimed"
    )
    seq_before = await board_seq(bb, token, b)
    for i in range(plan.warmup):
        for e in everything:
            await call(await procs.conn(i % 2), e.requests(i), (200,), e.label)
    laps.lap()
    for i in range(plan.requests):
        conn = await procs.conn(i % 2)
        for e in everything:
            ms, _ = await timed(conn, e.requests(i), e.label)
            e.latencies_ms.append(ms)
            for k, v in laps.lap().items():
                e.cpu_s[k] = e.cpu_s.get(k, 0.0) + v
    procs.close()
    quiet = await board_seq(bb, token, b) == seq_before
    base99 = baseline.p(99)
    for e in everything:
        say(
            f"    {e.label:<30} p50 {e.p(50):6.1f}  p99 {e.p(99):6.1f}  max {e.p(100):6.1f} ms"
            f"  p99 {e.p(99) / base99:4.1f}x baseline{cpu_text(e.cpu_s, len(e.latencies_ms))}"
        )
    if not quiet:
        say("    WARNING: the board changed while measuring (something wrote events)")
    return Figures(board, baseline, endpoints, cold, apart, summary, quiet)


async def board_seq(bb: Running, token: str, board: str) -> int:
    async with Admin(bb.port, token) as admin:
        return int((await admin.get(f"/v1/boards/{board}"))["last_seq"])


def cpu_text(cpu: dict[str, float], requests: int = 1) -> str:
    if not cpu:
        return ""
    app, pg = (cpu.get(k, float("nan")) * 1000 / requests for k in ("app", "postgres"))
    return f"; server CPU API {app:.1f} + PostgreSQL {pg:.1f} ms/req"


# --------------------------------------------------------------------------- report


def describe_summary(s: dict[str, Any]) -> None:
    """What the full /metrics said about the board: proof that the population looks real."""
    if not s:
        return
    roles, claims, tasks = s["roles"], s["claims"]["overall"], s["tasks"]
    graph, entropy, dups = s["interactions"], s["entropy"]["windows"], s["duplicates"]
    bits = [w["entropy_bits"] for w in entropy if w["tokens"]]
    shown = sum(e["shown"] for e in graph["edges"])
    say(
        f"the board per /metrics: {s['events']:,} events; {roles['distinct_roles']} roles over "
        f"{len(roles['windows'])} windows of {roles['window_s']} s; role claims "
        f"{claims['claimed']:,} ({claims['released']:,} released, {claims['expired']} "
        f"expired); {s['abstentions']['total']:,} abstentions; tasks {tasks['posted']:,} "
        f"posted, {tasks['completed']:,} completed, {tasks['failed']} failed; interaction "
        f"graph {len(graph['nodes'])} nodes, {len(graph['edges']):,} edges "
        f"({shown:,} shown-in-turn links); entropy {bits[0] if bits else 0:.2f} -> "
        f"{bits[-1] if bits else 0:.2f} bits over {len(entropy)} windows; "
        f"{len(dups['groups'])} duplicate groups listed ({dups['artifacts']} extra copies)"
    )


def report(f: Figures, plan: Plan) -> None:
    table = Table()
    row = table.row
    k = f"{plan.events // 1000}k"
    enough = f.board.events >= plan.events
    row("board events (last_seq)", f"{f.board.events:,}", f">= {plan.events:,}", enough)
    row("fill time s", f"{f.board.fill_s:.1f}")
    base99 = f.baseline.p(99)
    row("baseline events?limit=100 p50 ms", f"{f.baseline.p(50):.1f}")
    row("baseline events?limit=100 p99 ms", f"{base99:.1f}")
    width = max(len(e.label) for e in f.endpoints)
    for e in f.endpoints:
        p99 = e.p(99)
        row(f"{e.label:<{width}} p99 ms", f"{p99:.1f}", "<= 200", p99 <= TARGET_P99_MS)
        row(f"{e.label:<{width}} p99/baseline", f"{p99 / base99:.1f}x")
    for c in f.cold:
        row(f"cold: {c.label} ms", f"{c.ms:,.0f}")
    table.print()
    slowest = max(f.endpoints, key=lambda e: e.p(99))
    say(
        f"steady state @{k} events: slowest p99 is {slowest.label} at {slowest.p(99):.1f} ms "
        f"({slowest.p(99) / base99:.1f}x the baseline); cold calls are not in the percentiles"
    )
    if f.baseline.cpu_s:
        say("server CPU per request, ms (API processes + PostgreSQL; sums of /proc readings):")
        for e in [f.baseline, *f.endpoints]:
            say(
                f"  {e.label:<{width + 10}} API {e.cpu_ms('app'):6.2f} + PostgreSQL "
                f"{e.cpu_ms('postgres'):6.2f}"
            )
    describe_summary(f.summary)
    if not f.quiet:
        say("WARNING: the board changed while measuring")


# --------------------------------------------------------------------------- main


def run(session: Session) -> None:
    plan = Plan.quick() if session.quick else Plan()
    say(f"starting blackboard serve --workers 2, data in {session.data_dir} ...")
    with blackboard_server(session.data_dir, session.admin_token) as bb:
        say(f"ready after {time.perf_counter() - session.started:.0f} s")
        figures = uvloop.run(measure(plan, bb, session))
    report(figures, plan)


def main() -> int:
    return bench_main("bench_metrics", __doc__, run)


if __name__ == "__main__":
    sys.exit(main())
