"""Live-board benchmark: publish -> Server-Sent Events receipt latency with 50 subscribers,
against raw LISTEN/NOTIFY commit -> receipt on the same PostgreSQL.

    .venv/bin/python bench/bench_live.py           # full run, about 1 minute
    .venv/bin/python bench/bench_live.py --quick   # smoke run, about 25 seconds
    # one worker fanning 50 events/s out to 1,000 subscribers, against its own goal:
    .venv/bin/python bench/bench_live.py --workers 1 --subscribers 1000 --rate 50 --target-p99 50

It starts the real service (`blackboard serve --workers 2`, embedded PostgreSQL in a fresh
temporary data directory) and opens 50 SSE subscriptions to one board
(`GET /v1/boards/{id}/events/stream`, admin token, each on its own connection) from
separate processes (--procs, 2 by default), so that parsing 10,000 events/s does not
share an event loop with the publisher. One agent then publishes small `finding`
artifacts at a steady 200/s for 15 s (open loop: each publish starts on schedule, over a
few keep-alive connections). The publisher stamps each request just before sending it
and learns its seq from the 201 answer; each subscriber stamps each `id:` line when its
bytes arrive. Both use CLOCK_MONOTONIC, which all processes of the machine share.

First, as a baseline, the same publishes at the same rate on another board with nobody
subscribed: how much of the end-to-end latency is the publish itself.

Reported: p50/p99 of publish start -> receipt over every (subscriber, event) pair, the
slowest subscriber per event, missed events (every subscriber must see every seq), the
publish latency itself, the servers' and the client's CPU time. Then, with the service
idle, the same for bare LISTEN/NOTIFY: one connection NOTIFYs in a transaction at the
same rate (stamped just before COMMIT), another LISTENs.
A benchmark run by hand, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import multiprocessing as mp
import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, cast

import httptools
import httpx
import orjson
import psycopg
import uvloop

# bench/ is on sys.path: these files are run as scripts
from harness import (
    HOST,
    Admin,
    BenchError,
    HttpConnection,
    Running,
    Session,
    Table,
    bench_main,
    database_url,
    http_request,
    percentile,
    say,
    service_and_baseline,
    unique_suffix,
)

# Targets.
TARGET_P99_MS = 15.0  # publish start -> SSE receipt, every subscriber (--target-p99)

NOTIFY_CHANNEL = "bench_live_raw"


@dataclass(frozen=True)
class Plan:
    """How much work each phase does."""

    subscribers: int = 50
    processes: int = 2  # subscriber processes
    rate: float = 200.0  # publishes/s
    target_p99_ms: float = TARGET_P99_MS
    warmup_s: float = 1.0  # published, checked for receipt, not timed
    duration_s: float = 15.0
    publish_connections: int = 8
    grace_s: float = 10.0  # after the last publish, for the last events to arrive
    notify_warmup: int = 50
    notify_s: float = 5.0
    alone_s: float = 5.0  # publishing with nobody subscribed, before the streams open

    @classmethod
    def quick(cls) -> Plan:
        return cls(warmup_s=0.5, duration_s=5.0, notify_s=2.0, alone_s=2.0)

    @property
    def subscriber_processes(self) -> int:
        return max(1, min(self.processes, self.subscribers))

    @property
    def warmup_publishes(self) -> int:
        return round(self.rate * self.warmup_s)

    @property
    def publishes(self) -> int:
        return round(self.rate * self.duration_s)


# --------------------------------------------------------------------------- subscribers


class SseConnection(asyncio.Protocol):
    """One SSE subscription: records (seq, arrival time) for every `id:` line."""

    def __init__(self, last_seq: int) -> None:
        self.last_seq = last_seq
        self.seqs: list[int] = []
        self.times: list[float] = []
        self.status = 0
        self.headers_done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.error: str | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._partial = b""
        self._now = 0.0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._now = time.monotonic()  # before any parsing: when the bytes arrived
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._end(f"bad HTTP response: {exc}")

    def connection_lost(self, exc: Exception | None) -> None:
        self._end(f"connection lost: {exc or 'closed by the server'}")

    # httptools callbacks
    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        if not self.headers_done.done():
            self.headers_done.set_result(self.status)

    def on_body(self, body: bytes) -> None:
        lines = (self._partial + body).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            if line.startswith(b"id:"):
                seq = int(line[3:])
                self.seqs.append(seq)
                self.times.append(self._now)
                if seq >= self.last_seq and not self.finished.done():
                    self.finished.set_result(None)

    def on_message_complete(self) -> None:
        self._end("the stream ended")

    def _end(self, why: str) -> None:
        if not self.finished.done():
            self.error = self.error or why
            self.finished.set_result(None)
        if not self.headers_done.done():
            self.headers_done.set_exception(BenchError(why))

    def send(self, raw: bytes) -> None:
        assert self._transport is not None
        self._transport.write(raw)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


@dataclass(frozen=True)
class SubscriberJob:
    """What one subscriber process does: `count` subscriptions to `path`."""

    port: int
    path: str
    token: str
    count: int
    last_seq: int  # done when every subscription has seen it
    max_wait_s: float  # after "go", at most this long


@dataclass
class Received:
    """What one subscription saw: seqs and their arrival times, and how it ended.

    Sent from the subscriber processes as plain tuples: a class of a spawned `__main__`
    does not unpickle in the parent."""

    seqs: list[int]
    times: list[float]
    error: str | None


def subscriber_main(job: SubscriberJob, pipe: Connection) -> None:
    """Entry point of a subscriber process (spawned: it must be importable)."""
    try:
        uvloop.run(_subscribe(job, pipe))
    except Exception as exc:  # hand it to the parent, which reports it
        pipe.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        pipe.close()


async def _subscribe(job: SubscriberJob, pipe: Connection) -> None:
    loop = asyncio.get_running_loop()
    request = (
        f"GET {job.path} HTTP/1.1\r\nHost: {HOST}:{job.port}\r\n"
        f"Authorization: Bearer {job.token}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    subs: list[SseConnection] = []
    try:
        for _ in range(job.count):
            _, sub = await loop.create_connection(
                lambda: SseConnection(job.last_seq), HOST, job.port
            )
            sub.send(request)
            subs.append(sub)
        statuses = await asyncio.wait_for(
            asyncio.gather(*(s.headers_done for s in subs)), timeout=30
        )
        if any(s != 200 for s in statuses):
            raise BenchError(f"stream answered {sorted(set(statuses))}")
        pipe.send(("ready", None))
        go: asyncio.Future[None] = loop.create_future()

        def on_message() -> None:
            if pipe.poll() and not go.done():
                pipe.recv()
                go.set_result(None)

        loop.add_reader(pipe.fileno(), on_message)
        await go
        loop.remove_reader(pipe.fileno())
        os.set_blocking(pipe.fileno(), True)  # add_reader made it non-blocking
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.wait([s.finished for s in subs], timeout=job.max_wait_s)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        for s in subs:
            if not s.finished.done():
                s.error = f"no event {job.last_seq} after {job.max_wait_s:.0f} s"
    finally:
        for s in subs:
            s.close()
    received = [(s.seqs, s.times, s.error) for s in subs]
    pipe.send(("done", (received, cpu, wall)))


class Subscribers:
    """The subscriber processes, from the parent's side."""

    def __init__(self, plan: Plan, port: int, path: str, token: str, last_seq: int) -> None:
        ctx = mp.get_context("spawn")  # a fresh interpreter: no inherited event loop
        max_wait = plan.warmup_s + plan.duration_s + plan.grace_s + 30.0
        self.pipes: list[Connection] = []
        self.procs: list[mp.process.BaseProcess] = []
        procs = plan.subscriber_processes
        counts = [plan.subscribers // procs + (i < plan.subscribers % procs) for i in range(procs)]
        for count in counts:
            parent, child = ctx.Pipe()
            job = SubscriberJob(port, path, token, count, last_seq, max_wait)
            proc = ctx.Process(target=subscriber_main, args=(job, child), daemon=True)
            proc.start()
            child.close()
            self.pipes.append(parent)
            self.procs.append(proc)

    def _expect(self, pipe: Connection, kind: str, timeout_s: float) -> Any:
        if not pipe.poll(timeout_s):
            raise BenchError(f"a subscriber process sent no {kind!r} in {timeout_s:.0f} s")
        got, value = pipe.recv()
        if got != kind:
            raise BenchError(f"subscriber process: {value}")
        return value

    def wait_ready(self) -> None:
        for pipe in self.pipes:
            self._expect(pipe, "ready", 60)

    def go(self) -> None:
        for pipe in self.pipes:
            pipe.send("go")

    def results(self, timeout_s: float) -> tuple[list[Received], float]:
        """Return every subscription's receipts and the processes' CPU share of a core."""
        received: list[Received] = []
        share = 0.0
        for pipe in self.pipes:
            subs, cpu, wall = self._expect(pipe, "done", timeout_s)
            received += [Received(*sub) for sub in subs]
            share += cpu / wall if wall else 0.0
        return received, share

    def stop(self) -> None:
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
        for pipe in self.pipes:
            pipe.close()


# --------------------------------------------------------------------------- publisher


@dataclass
class Publishing:
    """When each publish started (by seq), how long each took, how late the schedule ran."""

    sent_at: dict[int, float] = field(default_factory=dict)
    timed: set[int] = field(default_factory=set)  # seqs after the warm-up
    latencies_ms: list[float] = field(default_factory=list)
    max_late_ms: float = 0.0
    elapsed_s: float = 0.0
    cpu_s: float = 0.0


def artifact_requests(port: int, board_id: str, token: str) -> Callable[[int], bytes]:
    """Publish number i: a small `finding` on the board, through the service."""
    path = f"/v1/boards/{board_id}/artifacts"

    def request(i: int) -> bytes:
        body = {"type": "finding", "body": {"claim": f"live #{i}", "confidence": 0.5}}
        return http_request(path, token=token, body=orjson.dumps(body), port=port)

    return request


def bare_requests(port: int) -> Callable[[int], bytes]:
    """Publish number i: the same `finding`, through the bare baseline (INSERT + NOTIFY)."""
    board_id = str(uuid.uuid4())

    def request(i: int) -> bytes:
        body = {
            "board_id": board_id,
            "type": "finding",
            "body": {"claim": f"live #{i}", "confidence": 0.5},
        }
        return http_request("/publish", token=None, body=orjson.dumps(body), port=port)

    return request


async def publish_steadily(plan: Plan, port: int, request: Callable[[int], bytes]) -> Publishing:
    """Publish warm-up + timed artifacts at `plan.rate`, each started on schedule; the
    answer (201) must carry the publish's `seq`."""
    total = plan.warmup_publishes + plan.publishes
    requests = [request(i) for i in range(total)]
    idle: asyncio.Queue[HttpConnection] = asyncio.Queue()
    conns = [await HttpConnection.open(port) for _ in range(plan.publish_connections)]
    for conn in conns:
        idle.put_nowait(conn)
    out = Publishing()

    async def publish(i: int) -> None:
        conn = await idle.get()
        started = time.monotonic()
        status, body = await conn.request(requests[i])
        ended = time.monotonic()
        idle.put_nowait(conn)
        if status != 201:
            raise BenchError(f"publish: HTTP {status}: {body[:500]!r}")
        seq = int(orjson.loads(body)["seq"])
        out.sent_at[seq] = started
        if i >= plan.warmup_publishes:
            out.timed.add(seq)
            out.latencies_ms.append((ended - started) * 1000)

    tasks: list[asyncio.Task[None]] = []
    try:
        cpu0 = time.process_time()
        t0 = time.monotonic()
        for i in range(total):
            due = t0 + i / plan.rate
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
            else:
                out.max_late_ms = max(out.max_late_ms, (now - due) * 1000)
            tasks.append(asyncio.create_task(publish(i)))
            # fail early rather than after the whole schedule
            if i % 50 == 0:
                for t in tasks[-100:]:
                    if t.done() and t.exception() is not None:
                        raise cast(BaseException, t.exception())
        await asyncio.gather(*tasks)
        out.elapsed_s = time.monotonic() - t0
        out.cpu_s = time.process_time() - cpu0
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for conn in conns:
            conn.close()
    return out


# --------------------------------------------------------------------------- raw NOTIFY


@dataclass(frozen=True)
class NotifyResult:
    latencies_ms: list[float]
    missed: int


async def raw_notify(plan: Plan, url: str) -> NotifyResult:
    """NOTIFY in a transaction at `plan.rate` on one connection; LISTEN on another."""
    count = plan.notify_warmup + round(plan.rate * plan.notify_s)
    committing: dict[int, float] = {}
    received: dict[int, float] = {}
    async with (
        await psycopg.AsyncConnection.connect(url, autocommit=True) as listener,
        await psycopg.AsyncConnection.connect(url) as notifier,
    ):
        await listener.execute(f"LISTEN {NOTIFY_CHANNEL}")

        async def listen() -> None:
            async for note in listener.notifies():
                received[int(note.payload)] = time.monotonic()
                if len(received) == count:
                    return

        listening = asyncio.create_task(listen())
        t0 = time.monotonic()
        for i in range(count):
            due = t0 + i / plan.rate
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
            await notifier.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, str(i)))
            committing[i] = time.monotonic()
            await notifier.commit()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(listening, timeout=10)
    latencies = [
        (received[i] - committing[i]) * 1000
        for i in range(plan.notify_warmup, count)
        if i in received
    ]
    return NotifyResult(latencies, count - len(received))


# --------------------------------------------------------------------------- phases


@dataclass(frozen=True)
class Analysis:
    latencies_ms: list[float]  # every (subscriber, timed event)
    slowest_ms: list[float]  # per timed event, the last subscriber to get it
    p50_by_fifth_ms: list[float]  # p50 over the timed events of each fifth of the run
    missed: int  # (subscriber, event) pairs never received
    out_of_order: int


def analyse(received: Sequence[Received], publishing: Publishing) -> Analysis:
    """Match receipts with publishes by seq."""
    expected = set(publishing.sent_at)
    timed = sorted(publishing.timed)
    fifth = {seq: i * 5 // len(timed) for i, seq in enumerate(timed)}
    by_fifth: list[list[float]] = [[] for _ in range(5)]
    latencies: list[float] = []
    slowest: dict[int, float] = dict.fromkeys(timed, 0.0)
    missed = out_of_order = 0
    for sub in received:
        got = dict(zip(sub.seqs, sub.times, strict=True))
        missed += len(expected - got.keys())
        out_of_order += sum(1 for a, b in zip(sub.seqs, sub.seqs[1:], strict=False) if b <= a)
        for seq in timed:
            if seq in got:
                ms = (got[seq] - publishing.sent_at[seq]) * 1000
                latencies.append(ms)
                by_fifth[fifth[seq]].append(ms)
                slowest[seq] = max(slowest[seq], ms)
    return Analysis(
        latencies,
        list(slowest.values()),
        [percentile(sorted(x), 50) for x in by_fifth],
        missed,
        out_of_order,
    )


async def setup(port: int, admin_token: str) -> tuple[str, str, int]:
    """Register the publishing agent and the board; return (token, board id, board's seq)."""
    suffix = unique_suffix()
    async with Admin(port, admin_token) as admin:
        _, token = await admin.agent(f"bench-live-{suffix}")
        board_id = await admin.board(f"bench-live-{suffix}")
        board = await admin.get(f"/v1/boards/{board_id}")
    return token, board_id, int(board.get("last_seq", 1))


@dataclass(frozen=True)
class LiveRun:
    """One publish -> SSE run with the subscribers open."""

    analysis: Analysis
    errors: list[str]  # subscriptions that ended early
    publishing: Publishing
    delivery_s: float  # from the first publish until every subscriber had the last event
    server_cpu_s: dict[str, float]  # over `delivery_s`
    subscriber_cpu_share: float


def live_run(
    plan: Plan,
    server: Running,
    stream_path: str,
    token: str,
    first_seq: int,
    request: Callable[[int], bytes],
) -> LiveRun:
    """Open the subscriptions, publish on schedule, collect what every subscriber got."""
    total = plan.warmup_publishes + plan.publishes
    last_seq = first_seq + total
    subscribers = Subscribers(plan, server.port, stream_path, token, last_seq)
    try:
        subscribers.wait_ready()
        say(f"    {plan.subscribers} streams open")
        subscribers.go()
        server0, wall0 = server.meter.read(), time.monotonic()
        publishing = uvloop.run(publish_steadily(plan, server.port, request))
        received, sub_share = subscribers.results(plan.grace_s + 60)
        server1, delivery_s = server.meter.read(), time.monotonic() - wall0
    finally:
        subscribers.stop()
    if len(publishing.sent_at) != total or max(publishing.sent_at) != last_seq:
        raise BenchError(
            f"expected seqs {first_seq + 1}..{last_seq}, the publishes got "
            f"{min(publishing.sent_at)}..{max(publishing.sent_at)}: someone else writes here"
        )
    live = analyse(received, publishing)
    lat = sorted(live.latencies_ms)
    pub_p99 = percentile(sorted(publishing.latencies_ms), 99)
    say(
        f"    published {total:,} in {publishing.elapsed_s:.1f} s (schedule at most "
        f"{publishing.max_late_ms:.1f} ms late), publish p99 {pub_p99:.1f} ms; "
        f"receipt p50 {percentile(lat, 50):.1f} p99 {percentile(lat, 99):.1f} ms; "
        f"missed {live.missed}"
    )
    fifths = ", ".join(f"{x:.1f}" for x in live.p50_by_fifth_ms)
    say(f"    receipt p50 in each fifth of the run, ms: {fifths}")
    return LiveRun(
        analysis=live,
        errors=[r.error for r in received if r.error],
        publishing=publishing,
        delivery_s=delivery_s,
        server_cpu_s={k: server1[k] - server0[k] for k in server0.keys() & server1.keys()},
        subscriber_cpu_share=sub_share,
    )


def measure(plan: Plan, bb: Running, base: Running, session: Session) -> Figures:
    say(
        f"\n[0/3] baseline: publishing alone, {plan.rate:.0f}/s for {plan.alone_s:.0f} s "
        "on another board, with no subscriber"
    )
    token, quiet_board, _ = uvloop.run(setup(bb.port, session.admin_token))
    alone_plan = dataclasses.replace(plan, duration_s=plan.alone_s)
    alone = uvloop.run(
        publish_steadily(alone_plan, bb.port, artifact_requests(bb.port, quiet_board, token))
    )
    alone_ms = sorted(alone.latencies_ms)
    say(
        f"    publish (201) p50 {percentile(alone_ms, 50):.1f} ms, "
        f"p99 {percentile(alone_ms, 99):.1f} ms"
    )
    say(
        f"\n[1/3] publish -> SSE: {plan.subscribers} subscribers in "
        f"{plan.subscriber_processes} processes, "
        f"{plan.rate:.0f} publishes/s for {plan.duration_s:.0f} s after {plan.warmup_s:.1f} s "
        "warm-up"
    )
    token, board_id, first_seq = uvloop.run(setup(bb.port, session.admin_token))
    live = live_run(
        plan,
        bb,
        f"/v1/boards/{board_id}/events/stream?after={first_seq}",
        session.admin_token,
        first_seq,
        artifact_requests(bb.port, board_id, token),
    )

    say(
        "\n[2/3] the same against the bare baseline (bench/baseline_app.py: INSERT + NOTIFY,"
        " one LISTEN per process writing each notification to every stream)"
    )
    first_bare = int(httpx.get(f"http://{HOST}:{base.port}/last_seq", timeout=10).json())
    bare = live_run(plan, base, "/stream", "", first_bare, bare_requests(base.port))

    say(
        f"\n[3/3] raw LISTEN/NOTIFY on the same PostgreSQL: {plan.rate:.0f} NOTIFY+COMMIT/s "
        f"for {plan.notify_s:.0f} s"
    )
    notify = uvloop.run(raw_notify(plan, database_url(session.data_dir)))
    nl = sorted(notify.latencies_ms)
    say(
        f"    commit -> receipt p50 {percentile(nl, 50):.2f} ms, p99 {percentile(nl, 99):.2f} ms"
        f", missed {notify.missed}"
    )
    return Figures(plan=plan, live=live, bare=bare, notify=notify, alone=alone)


@dataclass(frozen=True)
class Figures:
    plan: Plan
    live: LiveRun
    bare: LiveRun  # the same against the bare baseline
    notify: NotifyResult
    alone: Publishing  # the same publishes at the same rate, with no subscriber


# --------------------------------------------------------------------------- report


def report(f: Figures) -> None:
    table = Table()
    row = table.row
    live = f.live.analysis
    lat = sorted(live.latencies_ms)
    slow = sorted(live.slowest_ms)
    bare = sorted(f.bare.analysis.latencies_ms)
    n = f.plan.subscribers
    p99 = percentile(lat, 99)
    row(f"publish->SSE, {n} subs   p50 ms", f"{percentile(lat, 50):.1f}")
    target = f.plan.target_p99_ms
    row(f"publish->SSE, {n} subs   p99 ms", f"{p99:.1f}", f"<= {target:g}", p99 <= target)
    row(f"publish->SSE, {n} subs   max ms", f"{lat[-1] if lat else float('nan'):.1f}")
    row("slowest subscriber/event p50 ms", f"{percentile(slow, 50):.1f}")
    row("slowest subscriber/event p99 ms", f"{percentile(slow, 99):.1f}")
    row("missed events (all subscribers)", f"{live.missed}", "0", live.missed == 0)
    row("events out of order", f"{live.out_of_order}", "0", live.out_of_order == 0)
    pub = sorted(f.live.publishing.latencies_ms)
    row("publish (201) p50 ms", f"{percentile(pub, 50):.1f}")
    row("publish (201) p99 ms", f"{percentile(pub, 99):.1f}")
    alone = sorted(f.alone.latencies_ms)
    row("baseline: publish alone p50 ms", f"{percentile(alone, 50):.1f}")
    row("baseline: publish alone p99 ms", f"{percentile(alone, 99):.1f}")
    rate = len(f.live.publishing.sent_at) / f.live.publishing.elapsed_s
    row("publishes/s held", f"{rate:,.0f}")
    bare_p99 = percentile(bare, 99)
    row(f"bare baseline->SSE, {n} subs p50 ms", f"{percentile(bare, 50):.1f}")
    row(
        f"bare baseline->SSE, {n} subs p99 ms",
        f"{bare_p99:.1f}",
        f"<= {target:g}",
        bare_p99 <= target,
    )
    row("bare baseline missed events", f"{f.bare.analysis.missed}")
    nl = sorted(f.notify.latencies_ms)
    row("raw NOTIFY commit->LISTEN p50 ms", f"{percentile(nl, 50):.2f}")
    row("raw NOTIFY commit->LISTEN p99 ms", f"{percentile(nl, 99):.2f}")
    row("raw NOTIFY missed", f"{f.notify.missed}")
    if bare:
        row("ratio SSE p99 / bare baseline p99", f"{p99 / bare_p99:.1f}x")
    if nl:
        row("ratio SSE p99 / raw NOTIFY p99", f"{p99 / percentile(nl, 99):.1f}x")
    table.print()

    for label, run in (("service", f.live), ("bare baseline", f.bare)):
        if run.errors:
            say(f"{label}: streams that ended early: {len(run.errors)} ({run.errors[0]})")
        describe_cpu(label, run, n)


def describe_cpu(label: str, run: LiveRun, subscribers: int) -> None:
    elapsed = run.publishing.elapsed_s
    events = len(run.publishing.sent_at)
    if run.server_cpu_s:
        app, pg = (run.server_cpu_s.get(k, float("nan")) for k in ("app", "postgres"))
        took = run.delivery_s
        say(
            f"{label}: server CPU from the first publish until the last receipt ({took:.1f} s):"
            f" API {app / took:.0%} + PostgreSQL {pg / took:.0%} of a core; per event "
            f"delivered to {subscribers} subscribers: API {app * 1000 / events:.2f} + "
            f"PostgreSQL {pg * 1000 / events:.2f} ms "
            f"({app * 1e6 / (events * subscribers):.0f} us of API per event per subscriber)"
        )
    say(
        f"{label}: client CPU, share of one core: publisher {run.publishing.cpu_s / elapsed:.0%},"
        f" {subscribers} subscribers in processes {run.subscriber_cpu_share:.0%}"
    )


# --------------------------------------------------------------------------- main


def run(session: Session) -> None:
    plan = Plan.quick() if session.quick else Plan()
    changes = {
        "processes": session.args.procs,
        "subscribers": session.args.subscribers,
        "rate": session.args.rate,
        "duration_s": session.args.duration,
        "target_p99_ms": session.args.target_p99,
    }
    plan = dataclasses.replace(plan, **{k: v for k, v in changes.items() if v is not None})
    with service_and_baseline(session, session.args.workers) as (bb, base):
        figures = measure(plan, bb, base, session)
    report(figures)


def main() -> int:
    def more(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--procs", type=int, help="subscriber processes (default 2)")
        parser.add_argument("--subscribers", type=int, help="SSE subscribers (default 50)")
        parser.add_argument("--rate", type=float, help="publishes per second (default 200)")
        parser.add_argument("--duration", type=float, help="seconds of publishing (default 15)")
        parser.add_argument("--workers", type=int, default=2, help="API workers (default 2)")
        parser.add_argument(
            "--target-p99", type=float, help="publish -> receipt p99 goal, ms (default 15)"
        )

    return bench_main("bench_live", __doc__, run, more)


if __name__ == "__main__":
    sys.exit(main())
