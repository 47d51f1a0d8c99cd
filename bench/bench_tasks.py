"""Task-ledger benchmark: agents claiming and completing tasks on one board, end to end,
against the bare SKIP LOCKED claim statement on the same PostgreSQL.

    .venv/bin/python bench/bench_tasks.py           # full run, about 1-3 minutes
    .venv/bin/python bench/bench_tasks.py --quick   # smoke run, about 30 seconds

It starts the real service (`blackboard serve --workers 2`, embedded PostgreSQL in a fresh
temporary data directory), registers 16 agents, and measures, on a fresh board and then on
a board whose tasks table already holds 50,000 completed tasks:

- end to end: each agent loops `POST /v1/boards/{id}/tasks/claim` + `POST /v1/tasks/{id}/
  complete` (publishing a `result` artifact) over its own keep-alive connection until the
  board has nothing left: tasks/s, claim and complete latency. Afterwards the database is
  asked whether any task was claimed twice: every task must have exactly one
  `task_attempts` row and be `completed`.
- raw: the service's claim alone (blackboard_lease_tasks, the function that picks with
  SKIP LOCKED and leases, migration 0009) for one agent at a time, in a loop over 4
  psycopg connections, autocommit: claims/s and latency.

The 50,000 completed tasks are inserted with SQL directly, so the claim query's partial
index over open tasks is what keeps it fast. Each timed end-to-end phase starts on a
vacuumed database (VACUUM (ANALYZE), as autovacuum would soon after the rows the earlier
phases wrote): autovacuum first looks at a new server's database a minute after it
starts, which is in the middle of the 50k phase, and its catching up on everything
written since (a second's work of both cores) would land in that phase alone.
A benchmark run by hand, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
import uvloop

# bench/ is on sys.path: these files are run as scripts
from baseline_app import CLAIM
from harness import (
    Admin,
    BenchError,
    CpuMeter,
    HttpConnection,
    LoadResult,
    Running,
    Session,
    Table,
    WaitSampler,
    bench_main,
    database_url,
    http_request,
    percentile,
    run_load,
    say,
    service_and_baseline,
    unique_suffix,
)
from psycopg.rows import dict_row

# Targets.
TARGET_TASKS_RATE = 700.0  # tasks/s end to end (claim + complete), 16 agents
TARGET_CLAIM_P99_MS = 30.0  # with 50,000 completed tasks on the board

TITLE_PREFIX = "bench task"
RAW_TITLE_PREFIX = "raw task"  # tasks inserted with SQL for the raw and bare loops
PRELOADED_TITLE = "preloaded"


@dataclass(frozen=True)
class Plan:
    """How much work each phase does."""

    agents: int = 16
    warmup_tasks: int = 320  # claimed and completed before timing starts
    tasks: int = 4_000  # timed, per board
    post_concurrency: int = 16
    completed_rows: int = 50_000
    raw_connections: int = 4
    raw_warmup: int = 200
    raw_claims: int = 6_000
    lease_s: float = 60.0

    @classmethod
    def quick(cls) -> Plan:
        return cls(warmup_tasks=160, tasks=1_200, raw_warmup=100, raw_claims=1_500)


# --------------------------------------------------------------------------- SQL

# Open tasks for the raw loop, oldest first one millisecond apart (as if posted over time).
INSERT_OPEN = f"""
INSERT INTO tasks (id, board_id, title, max_attempts, status, created_at, available_at)
SELECT gen_random_uuid(), %(board_id)s, '{RAW_TITLE_PREFIX} ' || i, 3, 'open',
       now() - interval '1 hour' + i * interval '1 millisecond', now() - interval '1 hour'
FROM generate_series(1, %(n)s) AS i
"""

# Completed tasks, older than anything else on the board: what a busy board leaves behind.
INSERT_COMPLETED = f"""
INSERT INTO tasks (id, board_id, title, max_attempts, attempt, status, holder_id, lease_token,
                   created_at, available_at, updated_at)
SELECT gen_random_uuid(), %(board_id)s, '{PRELOADED_TITLE} ' || i, 3, 1, 'completed',
       %(holder)s, 1, now() - interval '2 days' + i * interval '1 millisecond',
       now() - interval '2 days', now() - interval '1 day'
FROM generate_series(1, %(n)s) AS i
"""


def verify_sql(title_prefix: str, *, with_result: bool) -> str:
    """Per task of the board whose title starts with `title_prefix`: how many attempts,
    how many completed, by whom (and, for the service, with a result artifact)."""
    result = " AND t.result_id IS NOT NULL" if with_result else ""
    return f"""
SELECT count(*) AS tasks,
       count(*) FILTER (WHERE t.status = 'completed') AS completed,
       count(*) FILTER (WHERE a.n = 1) AS one_attempt,
       count(*) FILTER (WHERE a.n > 1) AS several_attempts,
       count(*) FILTER (WHERE a.n = 1 AND a.done = 1 AND a.same_holder{result}) AS clean
FROM tasks t
CROSS JOIN LATERAL (
    SELECT count(*) AS n, count(*) FILTER (WHERE outcome = 'completed') AS done,
           coalesce(bool_and(agent_id = t.holder_id), false) AS same_holder
    FROM task_attempts WHERE task_id = t.id
) a
WHERE t.board_id = %(board_id)s AND t.title LIKE '{title_prefix} %%'
"""


VERIFY = verify_sql(TITLE_PREFIX, with_result=True)
VERIFY_BARE = verify_sql(RAW_TITLE_PREFIX, with_result=False)


async def sql_connect(url: str) -> psycopg.AsyncConnection[dict[str, Any]]:
    return await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row)


async def vacuum(url: str) -> float:
    """VACUUM (ANALYZE) the database; return the seconds it took."""
    started = time.perf_counter()
    async with await sql_connect(url) as conn:
        await conn.execute("VACUUM (ANALYZE)")
    return time.perf_counter() - started


async def insert_rows(url: str, query: str, params: dict[str, Any]) -> float:
    """Run one INSERT; return the seconds it took."""
    started = time.perf_counter()
    async with await sql_connect(url) as conn:
        await conn.execute(query, params)
    return time.perf_counter() - started


# How blackboard_lease_tasks picks a task, read from the function's own source (so that it
# cannot drift), with its variables made parameters: EXPLAIN does not look inside functions.
PICK = re.compile(r"SELECT t\.id INTO picked (FROM tasks t.*?FOR UPDATE SKIP LOCKED);", re.S)


async def claim_plan(url: str, board_id: str, agent_id: str) -> str:
    """Return how PostgreSQL scans for each agent's next task (the plan's scan line)."""
    async with await sql_connect(url) as conn:
        cur = await conn.execute(
            "SELECT prosrc FROM pg_proc WHERE proname = 'blackboard_lease_tasks'"
        )
        source = await cur.fetchone()
        found = PICK.search(source["prosrc"]) if source else None
        if found is None:
            raise BenchError("cannot find the pick query in blackboard_lease_tasks")
        pick = (
            found.group(1)
            .replace("= board ", "= %(board_id)s ")
            .replace("claimant.capabilities", "'{}'::text[]")
            .replace("claimant.agent_id", "%(agent_id)s")
        )
        cur = await conn.execute(
            "EXPLAIN SELECT t.id " + pick, {"board_id": board_id, "agent_id": agent_id}
        )
        lines = [row["QUERY PLAN"] for row in await cur.fetchall()]
    scans = [line.strip().lstrip("-> ").strip() for line in lines if " on tasks t" in line]
    return scans[0] if scans else "?"


# --------------------------------------------------------------------------- raw claims


@dataclass(frozen=True)
class RawResult:
    claims: int
    elapsed_s: float
    latencies_ms: list[float]
    postgres_cpu_s: float | None

    @property
    def rate(self) -> float:
        return self.claims / self.elapsed_s

    def percentile(self, q: float) -> float:
        return percentile(sorted(self.latencies_ms), q)


async def raw_claims(
    url: str, plan: Plan, board_id: str, agent_ids: list[str], meter: CpuMeter
) -> RawResult:
    """Claim every open task of the board with the bare statement over a few connections."""
    await insert_rows(url, INSERT_OPEN, {"board_id": board_id, "n": plan.raw_warmup})
    conns = [await sql_connect(url) for _ in range(plan.raw_connections)]
    try:

        async def loop(conn: psycopg.AsyncConnection[dict[str, Any]], agent_id: str) -> list[float]:
            params: dict[str, Any] = {
                "board_id": board_id,
                "agent_id": agent_id,
                "lease_s": plan.lease_s,
            }
            latencies: list[float] = []
            while True:
                started = time.perf_counter()
                cur = await conn.execute(CLAIM, params, prepare=True)
                row = await cur.fetchone()
                if row is None:
                    return latencies
                latencies.append((time.perf_counter() - started) * 1000)

        pairs = [(c, agent_ids[i % len(agent_ids)]) for i, c in enumerate(conns)]
        await asyncio.gather(*(loop(c, a) for c, a in pairs))  # warm-up: prepares too
        await insert_rows(url, INSERT_OPEN, {"board_id": board_id, "n": plan.raw_claims})
        server0, started = meter.read(), time.perf_counter()
        results = await asyncio.gather(*(loop(c, a) for c, a in pairs))
        elapsed, server1 = time.perf_counter() - started, meter.read()
        # Leases that nobody completes would run out in 60 s and the reaper would then
        # put the tasks back (events, board lock) in the middle of a later phase.
        await conns[0].execute(
            "UPDATE tasks SET status = 'completed', lease_expires_at = NULL"
            " WHERE board_id = %s AND status = 'leased'",
            (board_id,),
        )
    finally:
        for conn in conns:
            await conn.close()
    latencies = [x for r in results for x in r]
    if len(latencies) != plan.raw_claims:
        raise BenchError(f"raw loop claimed {len(latencies)} of {plan.raw_claims} tasks")
    pg = server1["postgres"] - server0["postgres"] if "postgres" in server0 else None
    return RawResult(len(latencies), elapsed, latencies, pg)


# --------------------------------------------------------------------------- end to end


@dataclass
class Agent:
    id: str
    token: str


@dataclass
class RunResult:
    """One end-to-end run: timed claims and completions, what the database says after."""

    tasks: int
    elapsed_s: float
    claim_ms: list[float]
    complete_ms: list[float]
    client_cpu_s: float
    server_cpu_s: dict[str, float]
    duplicate_claims: int  # the same task id handed out twice (seen by the client)
    check: dict[str, int]  # VERIFY's answer
    waits: str  # what the database backends were doing meanwhile (WaitSampler)

    @property
    def rate(self) -> float:
        return self.tasks / self.elapsed_s

    @property
    def double_claims(self) -> int:
        return self.duplicate_claims + self.check["several_attempts"]

    @property
    def verified(self) -> bool:
        c = self.check
        return self.double_claims == 0 and c["tasks"] == c["completed"] == c["clean"]

    def claim(self, q: float) -> float:
        return percentile(sorted(self.claim_ms), q)

    def complete(self, q: float) -> float:
        return percentile(sorted(self.complete_ms), q)

    def cpu_ms_per_task(self, label: str) -> float:
        return self.server_cpu_s.get(label, float("nan")) * 1000 / self.tasks


async def post_tasks(bb: Running, plan: Plan, board_id: str, admin_token: str) -> LoadResult:
    """Post warm-up + timed tasks on the board over HTTP (as the operator)."""
    path = f"/v1/boards/{board_id}/tasks"

    def request(i: int) -> bytes:
        body = orjson.dumps({"title": f"{TITLE_PREFIX} {i}", "spec": {"n": i}})
        return http_request(path, token=admin_token, body=body, port=bb.port)

    return await run_load(
        bb.port,
        request,
        warmup=0,
        count=plan.warmup_tasks + plan.tasks,
        concurrency=plan.post_concurrency,
        expect_status=201,
        meter=bb.meter,
    )


@dataclass(frozen=True)
class TaskRoutes:
    """How agent n claims a task and completes one, as prebuilt HTTP requests: through
    the service's routes, or through the bare baseline's."""

    claim: Callable[[int], bytes]
    complete: Callable[[int, str], bytes]  # (agent n, task id)
    verify: str  # the query that checks the board afterwards (see verify_sql)


def service_routes(port: int, board_id: str, agents: list[Agent], lease_s: float) -> TaskRoutes:
    """The service's claim and complete (publishing a `result` artifact), as each agent."""
    claim_body = orjson.dumps({"lease_s": lease_s})
    claims = [
        http_request(
            f"/v1/boards/{board_id}/tasks/claim", token=a.token, body=claim_body, port=port
        )
        for a in agents
    ]

    def complete(n: int, task_id: str) -> bytes:
        done = orjson.dumps(
            {"artifact": {"type": "result", "body": {"summary": f"{task_id} by agent {n}"}}}
        )
        return http_request(
            f"/v1/tasks/{task_id}/complete", token=agents[n].token, body=done, port=port
        )

    return TaskRoutes(claims.__getitem__, complete, VERIFY)


def bare_routes(port: int, board_id: str, agent_ids: list[str], lease_s: float) -> TaskRoutes:
    """The bare baseline's claim and complete (bench/baseline_app.py), for the same agents."""
    claims = [
        http_request(
            "/claim",
            token=None,
            body=orjson.dumps({"board_id": board_id, "agent_id": a, "lease_s": lease_s}),
            port=port,
        )
        for a in agent_ids
    ]
    completes = [orjson.dumps({"agent_id": a}) for a in agent_ids]

    def complete(n: int, task_id: str) -> bytes:
        return http_request(f"/tasks/{task_id}/complete", token=None, body=completes[n], port=port)

    return TaskRoutes(claims.__getitem__, complete, VERIFY_BARE)


async def work_board(
    server: Running, plan: Plan, board_id: str, routes: TaskRoutes, url: str
) -> RunResult:
    """Every agent claims and completes tasks until the board has none left."""
    conns = [await HttpConnection.open(server.port) for _ in range(plan.agents)]
    claimed: list[str] = []
    warmup_left = plan.warmup_tasks

    async def agent_loop(
        n: int,
        conn: HttpConnection,
        claim_ms: list[float],
        complete_ms: list[float],
        *,
        warmup: bool,
    ) -> None:
        """Claim and complete until told no (204), or until the warm-up count is used up."""
        nonlocal warmup_left
        claim = routes.claim(n)
        while True:
            if warmup:
                if warmup_left <= 0:
                    return
                warmup_left -= 1
            started = time.perf_counter()
            status, body = await conn.request(claim)
            claimed_at = time.perf_counter()
            if status == 204:
                return
            if status != 200:
                raise BenchError(f"claim: HTTP {status}: {body[:500]!r}")
            claim_ms.append((claimed_at - started) * 1000)
            task_id = orjson.loads(body)["id"]
            claimed.append(task_id)
            complete = routes.complete(n, task_id)
            started = time.perf_counter()
            status, body = await conn.request(complete)
            complete_ms.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise BenchError(f"complete: HTTP {status}: {body[:500]!r}")

    try:
        await asyncio.gather(*(agent_loop(n, c, [], [], warmup=True) for n, c in enumerate(conns)))
        claim_ms: list[float] = []
        complete_ms: list[float] = []
        async with WaitSampler(url) as waits:
            server0 = server.meter.read()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await asyncio.gather(
                *(
                    agent_loop(n, c, claim_ms, complete_ms, warmup=False)
                    for n, c in enumerate(conns)
                )
            )
            elapsed, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            server1 = server.meter.read()
    finally:
        for conn in conns:
            conn.close()
    async with await sql_connect(url) as db:
        cur = await db.execute(routes.verify, {"board_id": board_id})
        check = await cur.fetchone()
    assert check is not None
    return RunResult(
        tasks=len(complete_ms),
        elapsed_s=elapsed,
        claim_ms=claim_ms,
        complete_ms=complete_ms,
        client_cpu_s=cpu,
        server_cpu_s={k: server1[k] - server0[k] for k in server0.keys() & server1.keys()},
        duplicate_claims=len(claimed) - len(set(claimed)),
        check={k: int(v) for k, v in check.items()},
        waits=waits.describe(5),
    )


def describe_run(label: str, r: RunResult) -> None:
    cpu = ""
    if r.server_cpu_s:
        parts = [f"{k} {r.cpu_ms_per_task(k):.2f}" for k in sorted(r.server_cpu_s)]
        cpu = f", server CPU {' + '.join(parts)} ms/task"
    say(
        f"    {label}: {r.rate:,.0f} tasks/s, claim p50 {r.claim(50):.1f} p99 {r.claim(99):.1f} ms,"
        f" complete p50 {r.complete(50):.1f} p99 {r.complete(99):.1f} ms"
        f" ({r.tasks:,} tasks in {r.elapsed_s:.1f} s; client CPU"
        f" {r.client_cpu_s / r.elapsed_s:.0%} of a core{cpu})"
    )
    c = r.check
    say(
        f"    check: {c['tasks']:,} tasks posted, {c['completed']:,} completed, "
        f"{c['one_attempt']:,} with exactly one attempt, {c['several_attempts']} with more, "
        f"{r.duplicate_claims} handed out twice -> "
        + ("no double claims" if r.verified else "DOUBLE CLAIMS OR UNFINISHED TASKS")
    )
    say(f"    database: {r.waits}")


def describe_raw(label: str, r: RawResult) -> None:
    cpu = ""
    if r.postgres_cpu_s is not None:
        cpu = f"; PostgreSQL CPU {r.postgres_cpu_s * 1000 / r.claims:.2f} ms/claim"
    say(
        f"    {label}: {r.rate:,.0f} claims/s, p50 {r.percentile(50):.2f} ms, "
        f"p99 {r.percentile(99):.2f} ms ({r.claims:,} claims in {r.elapsed_s:.1f} s{cpu})"
    )


# --------------------------------------------------------------------------- phases


@dataclass(frozen=True)
class Figures:
    bare: RunResult
    fresh: RunResult
    loaded: RunResult
    raw_fresh: RawResult
    raw_loaded: RawResult
    posting: LoadResult
    completed_rows: int
    plan_line: str


async def measure(plan: Plan, bb: Running, base: Running, session: Session) -> Figures:
    url = database_url(session.data_dir)
    suffix = unique_suffix()
    async with Admin(bb.port, session.admin_token) as admin:
        agents = [Agent(*await admin.agent(f"bench-{suffix}-{n}")) for n in range(plan.agents)]
        boards = {
            name: await admin.board(f"bench-tasks-{name}-{suffix}")
            for name in ("fresh", "loaded", "raw-fresh", "raw-loaded", "bare")
        }
    agent_ids = [a.id for a in agents]
    say(f"    {plan.agents} agents registered; 5 boards")

    say(
        f"\n[1/5] raw claim statement, {plan.raw_connections} connections, fresh board: "
        f"{plan.raw_claims:,} open tasks after {plan.raw_warmup} warm-up"
    )
    raw_fresh = await raw_claims(url, plan, boards["raw-fresh"], agent_ids, bb.meter)
    describe_raw("raw, fresh board", raw_fresh)

    say(
        f"\n[2/5] bare baseline (bench/baseline_app.py), fresh board: {plan.agents} agents "
        f"claim + complete {plan.tasks:,} tasks after {plan.warmup_tasks} warm-up"
    )
    await insert_rows(
        url, INSERT_OPEN, {"board_id": boards["bare"], "n": plan.warmup_tasks + plan.tasks}
    )
    routes = bare_routes(base.port, boards["bare"], agent_ids, plan.lease_s)
    bare = await work_board(base, plan, boards["bare"], routes, url)
    describe_run("bare baseline", bare)

    say(
        f"\n[3/5] end to end, fresh board: {plan.agents} agents claim + complete "
        f"{plan.tasks:,} tasks after {plan.warmup_tasks} warm-up"
    )
    posting = await post_tasks(bb, plan, boards["fresh"], session.admin_token)
    say(
        f"    posted {posting.requests:,} tasks over HTTP: {posting.request_rate:,.0f} req/s, "
        f"p99 {posting.percentile(99):.1f} ms"
    )
    say(f"    VACUUM (ANALYZE): {await vacuum(url):.1f} s")
    routes = service_routes(bb.port, boards["fresh"], agents, plan.lease_s)
    fresh = await work_board(bb, plan, boards["fresh"], routes, url)
    describe_run("fresh board", fresh)

    say(f"\n    inserting {plan.completed_rows:,} completed tasks on two boards with SQL ...")
    took = 0.0
    for name in ("loaded", "raw-loaded"):
        took += await insert_rows(
            url,
            INSERT_COMPLETED,
            {"board_id": boards[name], "n": plan.completed_rows, "holder": agents[0].id},
        )
    settled = await vacuum(url)
    async with await sql_connect(url) as conn:
        cur = await conn.execute("SELECT count(*) AS n FROM tasks")
        row = await cur.fetchone()
    say(
        f"    done in {took:.1f} s (+ VACUUM (ANALYZE) {settled:.1f} s); "
        f"the tasks table holds {row and row['n']:,} rows"
    )
    plan_line = await claim_plan(url, boards["loaded"], agents[0].id)
    say(f"    the claim statement scans: {plan_line}")

    say(f"\n[4/5] raw claim statement, board with {plan.completed_rows:,} completed tasks")
    raw_loaded = await raw_claims(url, plan, boards["raw-loaded"], agent_ids, bb.meter)
    describe_raw(f"raw, {plan.completed_rows // 1000}k completed", raw_loaded)

    say(f"\n[5/5] end to end, board with {plan.completed_rows:,} completed tasks")
    await post_tasks(bb, plan, boards["loaded"], session.admin_token)
    say(f"    VACUUM (ANALYZE): {await vacuum(url):.1f} s")
    routes = service_routes(bb.port, boards["loaded"], agents, plan.lease_s)
    loaded = await work_board(bb, plan, boards["loaded"], routes, url)
    describe_run(f"{plan.completed_rows // 1000}k completed", loaded)

    return Figures(
        bare, fresh, loaded, raw_fresh, raw_loaded, posting, plan.completed_rows, plan_line
    )


# --------------------------------------------------------------------------- report


def report(f: Figures, plan: Plan) -> None:
    table = Table()
    row = table.row
    k = f"{f.completed_rows // 1000}k"
    rate_ok = f">= {TARGET_TASKS_RATE:,.0f}"
    for label, r in (("fresh board", f.fresh), (f"@{k} completed", f.loaded)):
        tag = f"{label:<14}"
        row(f"e2e {tag} tasks/s", f"{r.rate:,.0f}", rate_ok, r.rate >= TARGET_TASKS_RATE)
        row(f"e2e {tag} double claims", f"{r.double_claims}", "0", r.verified)
        row(f"e2e {tag} claim p50 ms", f"{r.claim(50):.1f}")
        p99 = r.claim(99)
        if r is f.loaded:
            row(f"e2e {tag} claim p99 ms", f"{p99:.1f}", "<= 30", p99 <= TARGET_CLAIM_P99_MS)
        else:
            row(f"e2e {tag} claim p99 ms", f"{p99:.1f}")
        row(f"e2e {tag} complete p50 ms", f"{r.complete(50):.1f}")
        row(f"e2e {tag} complete p99 ms", f"{r.complete(99):.1f}")
    tag = f"{'fresh board':<14}"
    bare_ok = f.bare.rate >= TARGET_TASKS_RATE
    row(f"bare baseline {tag} tasks/s", f"{f.bare.rate:,.0f}", rate_ok, bare_ok)
    row(f"bare baseline {tag} claim p99 ms", f"{f.bare.claim(99):.1f}")
    row(f"bare baseline {tag} complete p99 ms", f"{f.bare.complete(99):.1f}")
    conns = plan.raw_connections
    for label, raw in (("fresh board", f.raw_fresh), (f"@{k} completed", f.raw_loaded)):
        tag = f"{label:<14}"
        row(f"raw claim c={conns} {tag} claims/s", f"{raw.rate:,.0f}")
        row(f"raw claim c={conns} {tag} p99 ms", f"{raw.percentile(99):.2f}")
    row("ratio e2e/bare baseline, fresh board", f"{f.fresh.rate / f.bare.rate:.2f}x")
    row("ratio e2e/raw, fresh board", f"{f.fresh.rate / f.raw_fresh.rate:.2f}x")
    row(f"ratio e2e/raw, @{k} completed", f"{f.loaded.rate / f.raw_loaded.rate:.2f}x")
    row(f"raw claims/s @{k} / fresh", f"{f.raw_loaded.rate / f.raw_fresh.rate:.2f}x")
    row(f"e2e tasks/s @{k} / fresh", f"{f.loaded.rate / f.fresh.rate:.2f}x")
    table.print()

    if f.fresh.server_cpu_s:
        say("server CPU per task (claim + complete), ms (API processes + PostgreSQL):")
        runs = (("fresh board", f.fresh), (f"@{k} completed", f.loaded), ("bare baseline", f.bare))
        for label, r in runs:
            app, pg = (r.cpu_ms_per_task(x) for x in ("app", "postgres"))
            say(f"  {label:<14} API {app:.2f} + PostgreSQL {pg:.2f}")
        for label, raw in (("fresh board", f.raw_fresh), (f"@{k} completed", f.raw_loaded)):
            if raw.postgres_cpu_s is not None:
                pg = raw.postgres_cpu_s * 1000 / raw.claims
                say(f"  raw claim, {label:<14} PostgreSQL {pg:.2f}")
    say("database backends during the timed runs (sampled every 20 ms):")
    say(f"  fresh board:    {f.fresh.waits}")
    say(f"  @{k} completed: {f.loaded.waits}")
    say(
        f"client CPU, share of one core: fresh {f.fresh.client_cpu_s / f.fresh.elapsed_s:.0%},"
        f" @{k} {f.loaded.client_cpu_s / f.loaded.elapsed_s:.0%}; "
        f"claim plan @{k}: {f.plan_line}"
    )


# --------------------------------------------------------------------------- main


def run(session: Session) -> None:
    plan = Plan.quick() if session.quick else Plan()
    if session.args.agents is not None:
        plan = dataclasses.replace(plan, agents=session.args.agents)
    with service_and_baseline(session) as (bb, base):
        figures = uvloop.run(measure(plan, bb, base, session))
    report(figures, plan)


def main() -> int:
    def more(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--agents", type=int, help="concurrent agents (default 16)")

    return bench_main("bench_tasks", __doc__, run, more)


if __name__ == "__main__":
    sys.exit(main())
