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

Entropy keeps per-process token counts per (board, window size) and afterwards reads only
newer artifacts, so the first entropy (or full /metrics) call in each API process is a
cold read of the whole board. The benchmark finds out which API process serves each of
its keep-alive connections (Linux /proc), keeps one connection per process, and makes
the first call in one process a full /metrics and in the other an /metrics/entropy: both
are reported apart as "cold", and the steady state (after a few untimed warm-up calls)
alternates between the two processes round by round. A benchmark run by hand, not a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import orjson
import psycopg
import uvloop

# bench/ is on sys.path: these files are run as scripts
from harness import (
    Admin,
    BenchError,
    HttpConnection,
    Running,
    Session,
    Table,
    WaitSampler,
    bench_main,
    blackboard_server,
    database_url,
    http_request,
    percentile,
    say,
    unique_suffix,
)

# Targets.
TARGET_P99_MS = 200.0  # every metrics endpoint, steady state, board of 100,000 events


@dataclass(frozen=True)
class Plan:
    """How big the board gets and how many requests each endpoint gets."""

    events: int = 100_000  # the board holds at least this many events before measuring
    agents: int = 40
    batch_size: int = 250  # artifact versions per batch publish (the API takes <= 1,000)
    batch_concurrency: int = 3
    # per agent, in a shuffled order, all 40 agents at once (and the batches meanwhile):
    claims: int = 75  # role claims; 10% with a tiny ttl, the rest released
    abstentions: int = 50
    tasks_posted: int = 50
    task_claims: int = 55  # claim, then complete (88%), fail (9%) or decline (3%)
    single_publishes: int = 25  # critiques of another agent's artifact, under a claim
    # scripted model-backed runs on the same board: (protocol, rounds)
    runs: tuple[tuple[str, int], ...] = (("sequential", 3), ("broadcast", 2), ("shared", 2))
    warmup: int = 4  # untimed requests per endpoint after the cold calls
    requests: int = 200  # timed, per endpoint

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            events=10_000,
            claims=8,
            abstentions=5,
            tasks_posted=5,
            task_claims=6,
            single_publishes=3,
            runs=(("sequential", 2), ("shared", 1)),
            warmup=2,
            requests=40,
        )

    def ledger_events(self) -> int:
        """About how many events the agents' ledger work (not the batches) makes."""
        task_events = self.task_claims * 3  # claimed, then completed + its result, or failed
        per_agent = 2 * self.claims + self.abstentions + self.tasks_posted + task_events
        return self.agents * (per_agent + self.single_publishes)


# --------------------------------------------------------------------------- population

# fmt: off
OPENERS = (
    "We found that", "It seems that", "The evidence shows that", "I suspect that",
    "Our measurements say that", "Contrary to the plan,", "As expected,", "Surprisingly,",
    "After a second look,", "The logs suggest that", "Nobody expected that",
)
SUBJECTS = (
    "the cache", "the query planner", "the batch writer", "the connection pool",
    "the reaper", "the index on seq", "each worker", "the replica", "the lease table",
    "the event log", "the scheduler", "the retry loop", "the token budget",
    "the summary step", "the critic", "the research agent", "the first plan",
    "the second draft", "the benchmark", "the test suite", "the parser", "the dashboard",
)
VERBS = (
    "slows down", "speeds up", "stalls", "recovers quickly", "doubles its latency",
    "drops requests", "holds a lock too long", "scales linearly", "wastes memory",
    "times out", "returns stale rows", "needs a new index", "misses the deadline",
    "meets the target", "improves throughput", "contradicts the earlier result",
)
CONDITIONS = (
    "when the batch grows past {n} rows", "under {n} concurrent agents",
    "after {n} minutes of steady load", "if the lease is shorter than {n} seconds",
    "once the board holds {n} thousand events", "during the nightly vacuum",
    "while the critic reviews {n} drafts", "on a cold cache", "with the default settings",
    "after the last migration", "for about {n} percent of the requests",
)
CLOSERS = (
    "We should measure it again.", "This matches the earlier finding.",
    "The evidence is still weak.", "Nobody has checked the logs yet.",
    "A smaller batch would help.", "Let us agree on this and move on.",
    "This needs a second opinion.", "The fix is simple.", "I would not ship it yet.",
)
ROLES = (
    "planner", "researcher", "critic", "synthesiser", "reviewer", "tester", "scribe",
    "coordinator",
)
REASONS = (
    "outside my competence", "not enough context to judge", "another agent is better placed",
    "busy with a task", "I wrote the draft under review", "the goal is unclear to me",
)
# type, weight (batch items); each key keeps its first type
TYPES = (
    ("finding", 40), ("critique", 18), ("proposal", 15), ("plan", 10), ("decision", 9),
    ("result", 8),
)
# fmt: on


class Writer:
    """Short English texts. As `progress` goes from 0 to 1, more and more of them use the
    same few phrasings (a population converging), so the entropy series falls a little."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.progress = 0.0

    def pick(self, options: Sequence[str]) -> str:
        if self.rng.random() < 0.6 * self.progress:
            return options[self.rng.randrange(min(3, len(options)))]
        return self.rng.choice(options)

    def clause(self) -> str:
        condition = self.pick(CONDITIONS).format(n=self.rng.choice((2, 5, 10, 16, 50, 500)))
        return f"{self.pick(SUBJECTS)} {self.pick(VERBS)} {condition}"

    def sentence(self) -> str:
        text = f"{self.pick(OPENERS)} {self.clause()}."
        if self.rng.random() < 0.4:
            text += " " + self.pick(CLOSERS)
        return text

    def body(self, kind: str, target: str) -> dict[str, Any]:
        """A body valid for the standard type `kind`."""
        rng = self.rng
        if kind == "finding":
            evidence = [self.clause() for _ in range(rng.randrange(3))]
            return {
                "claim": self.sentence(),
                "evidence": evidence,
                "confidence": round(rng.uniform(0.3, 0.95), 2),
            }
        if kind == "critique":
            return {
                "target": target,
                "verdict": rng.choice(("accept", "revise", "revise", "reject")),
                "issues": [self.sentence()],
                "suggestions": [self.pick(CLOSERS)],
            }
        if kind == "proposal":
            return {
                "title": f"Make sure {self.pick(SUBJECTS)} {self.pick(VERBS)}",
                "content": f"{self.sentence()} {self.sentence()}",
                "rationale": self.sentence(),
            }
        if kind == "plan":
            steps = [
                {"description": self.sentence(), "role": rng.choice(ROLES)}
                for _ in range(rng.randrange(2, 4))
            ]
            return {"summary": self.sentence(), "steps": steps}
        if kind == "decision":
            return {
                "question": f"Should we change how {self.pick(SUBJECTS)} works?",
                "choice": self.clause(),
                "rationale": self.sentence(),
                "alternatives": [self.clause()],
            }
        if kind == "result":
            return {
                "summary": self.sentence(),
                "content": f"{self.sentence()} {self.sentence()}",
                "status": rng.choice(("succeeded", "succeeded", "partial", "failed")),
            }
        raise ValueError(kind)


@dataclass
class Agent:
    n: int
    id: str
    token: str
    roles: list[str]  # the roles it usually takes


@dataclass
class Published:
    id: str
    author: int
    type: str
    body: dict[str, Any]


@dataclass
class Counts:
    """What the fill did (as the client saw it)."""

    batches: int = 0
    batch_items: int = 0
    with_parents: int = 0
    copies: int = 0
    singles: int = 0
    claims: int = 0
    released: int = 0
    tiny_ttl: int = 0
    abstentions: int = 0
    tasks_posted: int = 0
    task_claims: int = 0
    nothing_to_claim: int = 0
    completed: int = 0
    failed: int = 0
    retried: int = 0
    declined: int = 0


class Population:
    """The agents and what they have published so far: keys to add versions to, recent
    versions to build on (parents) or to copy (duplicate work)."""

    def __init__(self, agents: list[Agent], rng: random.Random) -> None:
        self.agents = agents
        self.rng = rng
        self.writer = Writer(rng)
        self.counts = Counts()
        self.keys_of: dict[int, list[str]] = {a.n: [] for a in agents}
        self.key_type: dict[str, str] = {}
        self.all_keys: list[str] = []
        self.recent: deque[Published] = deque(maxlen=5_000)
        # some agents publish far more than others
        self.weights = [1.0 / (1 + i) ** 0.7 for i in range(len(agents))]
        self._serial = 0
        self.ledger_actions = 1  # all the agents' actions, and how many are done
        self.ledger_done = 0
        self.ledger_requests = 0
        self.ledger_s = 0.0  # when the last agent finished, from the start of the fill
        self.batches_s = 0.0

    @property
    def ledger_progress(self) -> float:
        return self.ledger_done / self.ledger_actions

    def by_other(self, author: int) -> Published | None:
        """A recent version by another agent, if there is one."""
        for _ in range(5):
            if not self.recent:
                return None
            p = self.recent[self.rng.randrange(len(self.recent))]
            if p.author != author:
                return p
        return None

    def item(self, author: int) -> dict[str, Any]:
        """One batch item: a new key or a new version of a key, maybe built on another
        agent's work (parents), maybe a word-for-word copy of it (duplicate content)."""
        rng = self.rng
        own = self.keys_of[author]
        copied = self.by_other(author) if rng.random() < 0.015 else None
        if copied is not None:
            kind, body = copied.type, copied.body
            key = self._new_key(author, kind)
            self.counts.copies += 1
        else:
            if own and rng.random() < 0.7:
                key = rng.choice(own)
            elif self.all_keys and rng.random() < 0.1:  # revise another agent's artifact
                key = self.all_keys[-1 - rng.randrange(min(2_000, len(self.all_keys)))]
            else:
                kind = rng.choices([t for t, _ in TYPES], [w for _, w in TYPES])[0]
                key = self._new_key(author, kind)
            kind = self.key_type[key]
            body = self.writer.body(kind, target=key)
        item: dict[str, Any] = {"type": kind, "key": key, "body": body}
        if rng.random() < 0.2:
            picked = [self.by_other(author) for _ in range(rng.choice((1, 1, 2)))]
            parents = sorted({p.id for p in picked if p is not None})
            if parents:
                item["parents"] = parents
                self.counts.with_parents += 1
        if rng.random() < 0.3:
            item["tags"] = [f"topic:{rng.randrange(12)}"]
        if rng.random() < 0.3:
            item["role"] = rng.choice(self.agents[author].roles)
        return item

    def _new_key(self, author: int, kind: str) -> str:
        self._serial += 1
        key = f"{kind}/a{author:02d}-{self._serial:06d}"
        self.key_type[key] = kind
        self.keys_of[author].append(key)
        self.all_keys.append(key)
        return key

    def remember(self, author: int, items: list[dict[str, Any]], answers: list[Any]) -> None:
        for item, answer in zip(items, answers, strict=True):
            self.recent.append(Published(answer["id"], author, item["type"], item["body"]))


# --------------------------------------------------------------------------- HTTP

requests_sent = 0  # by call(): the fill's requests, batches included


KEEP_ALIVE_S = 4.0  # uvicorn closes a keep-alive connection after 5 s without a request


class TracedConnection(HttpConnection):
    """A keep-alive connection that knows its client port and when it was last used."""

    local_port = 0
    closed = False
    last_used = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.local_port = int(transport.get_extra_info("sockname")[1])
        self.last_used = time.monotonic()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        super().connection_lost(exc)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        try:
            return await super().request(raw)
        finally:
            self.last_used = time.monotonic()

    @property
    def stale(self) -> bool:
        """Closed, or idle long enough that the server may close it any moment."""
        return self.closed or time.monotonic() - self.last_used > KEEP_ALIVE_S


async def open_connection(port: int) -> TracedConnection:
    return cast(TracedConnection, await TracedConnection.open(port))


async def usable(conn: TracedConnection, port: int) -> TracedConnection:
    """`conn`, or a new connection if it went stale (the server may close idle ones)."""
    if not conn.stale:
        return conn
    conn.close()
    return await open_connection(port)


def delete_request(path: str, *, token: str, port: int) -> bytes:
    return http_request(path, token=token, body=None, port=port).replace(b"GET ", b"DELETE ", 1)


async def call(
    conn: HttpConnection, raw: bytes, expect: Sequence[int], what: str
) -> tuple[int, bytes]:
    global requests_sent
    requests_sent += 1
    status, body = await conn.request(raw)
    if status not in expect:
        raise BenchError(f"{what}: HTTP {status}: {body[:500]!r}")
    return status, body


def post(path: str, token: str, port: int, body: Any) -> bytes:
    return http_request(path, token=token, body=orjson.dumps(body), port=port)


# --------------------------------------------------------------------------- fill


async def publish_batches(
    port: int,
    board: str,
    pop: Population,
    artifacts: int,
    batch_size: int,
    concurrency: int,
    *,
    paced: bool = False,
) -> None:
    """Batch-publish `artifacts` versions over `concurrency` connections; `paced`: no
    further ahead than the agents' ledger work, so that both spread over the whole fill."""
    left = artifacts
    path = f"/v1/boards/{board}/artifacts/batch"

    async def loop() -> None:
        nonlocal left
        conn = await open_connection(port)
        try:
            while left > 0:
                if paced and 1 - left / artifacts > pop.ledger_progress + 0.02:
                    await asyncio.sleep(0.02)  # ahead of the agents
                    continue
                size = min(batch_size, left)
                left -= size
                pop.writer.progress = 1 - left / max(artifacts, 1)
                author = pop.rng.choices(range(len(pop.agents)), pop.weights)[0]
                items = [pop.item(author) for _ in range(size)]
                raw = post(path, pop.agents[author].token, port, {"items": items})
                conn = await usable(conn, port)
                _, body = await call(conn, raw, (201,), "batch publish")
                pop.remember(author, items, orjson.loads(body)["items"])
                pop.counts.batches += 1
                pop.counts.batch_items += size
        finally:
            conn.close()

    await asyncio.gather(*(loop() for _ in range(concurrency)))


async def agent_ledger(port: int, board: str, agent: Agent, pop: Population, plan: Plan) -> None:
    """One agent's coordination work: claims, abstentions, tasks, a few single publishes."""
    rng = random.Random(agent.n)
    c = pop.counts
    actions = (
        ["claim"] * plan.claims
        + ["abstain"] * plan.abstentions
        + ["post"] * plan.tasks_posted
        + ["task"] * plan.task_claims
        + ["single"] * plan.single_publishes
    )
    rng.shuffle(actions)
    writer = Writer(rng)
    held: dict[str, Any] | None = None  # the role claim it holds (long ttl), if any
    conn = await open_connection(port)
    tok = agent.token
    started = time.perf_counter()

    async def release() -> None:
        nonlocal held
        if held is not None:
            raw = delete_request(f"/v1/claims/{held['id']}", token=tok, port=port)
            await call(conn, raw, (200,), "release")
            c.released += 1
            held = None

    try:
        for action in actions:
            conn = await usable(conn, port)
            pop.ledger_done += 1
            writer.progress = pop.writer.progress
            if action == "claim":
                await release()
                flip = rng.random() < 0.25
                role = rng.choice(ROLES) if flip else rng.choice(agent.roles)
                tiny = rng.random() < 0.1
                body: dict[str, Any] = {
                    "role": role,
                    "scope": f"topic-{rng.randrange(12)}/{unique_suffix()}",
                    "ttl_s": 0.2 if tiny else 300,
                    "rationale": writer.sentence(),
                    "confidence": round(rng.uniform(0.4, 1.0), 2),
                }
                _, answer = await call(
                    conn, post(f"/v1/boards/{board}/claims", tok, port, body), (201,), "claim"
                )
                c.claims += 1
                if tiny:
                    c.tiny_ttl += 1  # left to run out: the reaper records role.expired
                else:
                    held = orjson.loads(answer)
            elif action == "abstain":
                body = {"reason": rng.choice(REASONS), "confidence": round(rng.random(), 2)}
                if rng.random() < 0.8:
                    body["role"] = rng.choice(ROLES)
                if rng.random() < 0.5:
                    body["scope"] = f"topic-{rng.randrange(12)}"
                path = f"/v1/boards/{board}/abstentions"
                await call(conn, post(path, tok, port, body), (201,), "abstain")
                c.abstentions += 1
            elif action == "post":
                body = {
                    "title": f"Check whether {writer.clause()}",
                    "spec": {"priority": rng.randrange(1, 4)},
                    "wants_type": "result",
                }
                await call(conn, post(f"/v1/boards/{board}/tasks", tok, port, body), (201,), "post")
                c.tasks_posted += 1
            elif action == "task":
                await work_on_task(conn, port, board, agent, writer, c)
            else:  # a critique of another agent's work, published under its claim
                target = pop.by_other(agent.n)
                if target is None:
                    continue
                critique = writer.body("critique", target=target.id)
                body = {"type": "critique", "body": critique, "parents": [target.id]}
                if held is not None:
                    body["claim_id"] = held["id"]
                path = f"/v1/boards/{board}/artifacts"
                await call(conn, post(path, tok, port, body), (201,), "publish")
                c.singles += 1
        await release()
        # what is left and can be done now is done: nothing stays leased
        while await work_on_task(conn, port, board, agent, writer, c, decline=False):
            pass
    finally:
        conn.close()
    pop.ledger_s = max(pop.ledger_s, time.perf_counter() - started)


async def work_on_task(
    conn: HttpConnection,
    port: int,
    board: str,
    agent: Agent,
    writer: Writer,
    c: Counts,
    *,
    decline: bool = True,
) -> bool:
    """Claim the next task and complete, fail or decline it; False if there was none."""
    rng, tok = writer.rng, agent.token
    claim = post(f"/v1/boards/{board}/tasks/claim", tok, port, {"lease_s": 120})
    status, answer = await call(conn, claim, (200, 204), "task claim")
    if status == 204:
        c.nothing_to_claim += 1
        return False
    c.task_claims += 1
    task = orjson.loads(answer)["id"]
    fate = rng.random()
    if fate < 0.06:
        body: dict[str, Any] = {"reason": writer.sentence(), "retry": False}
        await call(conn, post(f"/v1/tasks/{task}/fail", tok, port, body), (200,), "fail")
        c.failed += 1
    elif fate < 0.09:
        body = {"reason": writer.sentence(), "retry": True, "retry_after_s": 0.5}
        await call(conn, post(f"/v1/tasks/{task}/fail", tok, port, body), (200,), "fail")
        c.retried += 1
    elif decline and fate < 0.12:
        body = {"reason": rng.choice(REASONS)}
        await call(conn, post(f"/v1/tasks/{task}/abstain", tok, port, body), (200,), "decline")
        c.declined += 1
    else:
        result = {"type": "result", "body": writer.body("result", target=task)}
        path = f"/v1/tasks/{task}/complete"
        await call(conn, post(path, tok, port, {"artifact": result}), (200,), "complete")
        c.completed += 1
    return True


@dataclass(frozen=True)
class Board:
    id: str
    runs: list[str]
    events: int
    fill_s: float
    counts: Counts
    run_status: list[str]
    server_cpu_s: dict[str, float]  # during the fill


async def register(admin: Admin, plan: Plan, rng: random.Random) -> tuple[list[Agent], list[str]]:
    """The population (40 agents) and 8 scripted model-backed agents (ids)."""
    suffix = unique_suffix()
    agents = []
    for n in range(plan.agents):
        agent_id, token = await admin.agent(f"bench-{suffix}-{n:02d}")
        agents.append(Agent(n, agent_id, token, rng.sample(ROLES, rng.choice((1, 2, 2, 3)))))
    scripted = []
    for n, cap in enumerate(("planner", "research", "critique", "synthesis") * 2):
        body = {"name": f"scripted-{suffix}-{n}", "capabilities": [cap], "model": f"scripted:{cap}"}
        scripted.append((await admin.post("/v1/agents", body))["id"])
    return agents, scripted


async def run_status(admin: Admin, run_id: str) -> str:
    status: str = (await admin.get(f"/v1/runs/{run_id}"))["run"]["status"]
    return status


async def sql_count(url: str, query: str, *args: Any) -> int:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(query, args)
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def fill(plan: Plan, bb: Running, session: Session) -> Board:
    url = database_url(session.data_dir)
    rng = random.Random(7)
    async with Admin(bb.port, session.admin_token) as admin:
        agents, scripted = await register(admin, plan, rng)
        board = await admin.board(f"bench-metrics-{unique_suffix()}")
        say(f"    {plan.agents} agents and {len(scripted)} scripted model-backed agents registered")
        pop = Population(agents, rng)
        artifacts = max(plan.events - plan.ledger_events(), 0)
        say(
            f"\n[1/3] filling board {board}: ~{artifacts:,} versions by batch publish "
            f"({plan.batch_size} per request, {plan.batch_concurrency} connections) while "
            f"{plan.agents} agents claim, abstain, post and work on tasks, and "
            f"{len(plan.runs)} scripted runs go"
        )
        laps = Laps(bb.meter.read)
        started = time.perf_counter()
        pop.ledger_actions = (
            plan.agents * (plan.claims + plan.abstentions + plan.tasks_posted + plan.task_claims)
            + plan.agents * plan.single_publishes
        )
        runs = []
        for protocol, rounds in plan.runs:
            body = {"protocol": protocol, "roster": scripted, "goal": GOAL, "rounds": rounds}
            runs.append((await admin.post(f"/v1/boards/{board}/runs", body))["id"])

        async def batches() -> None:
            await publish_batches(
                bb.port,
                board,
                pop,
                artifacts,
                plan.batch_size,
                plan.batch_concurrency,
                paced=True,
            )
            pop.batches_s = time.perf_counter() - started

        async with WaitSampler(url) as waits:
            await asyncio.gather(
                batches(), *(agent_ledger(bb.port, board, a, pop, plan) for a in agents)
            )
        say(
            f"    batches done after {pop.batches_s:.1f} s, the agents' ledger work after "
            f"{pop.ledger_s:.1f} s ({requests_sent:,} requests, "
            f"{requests_sent / max(pop.batches_s, pop.ledger_s):,.0f}/s)"
        )
        say(f"    database meanwhile: {waits.describe(3)}")
        # the runs finish; the reaper records every tiny-ttl claim as expired
        statuses: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            statuses = [await run_status(admin, r) for r in runs]
            expired = await sql_count(
                url,
                "SELECT count(*) FROM events WHERE board_id = %s AND kind = 'role.expired'",
                board,
            )
            if expired >= pop.counts.tiny_ttl and all(
                s in ("completed", "stopped") for s in statuses
            ):
                break
            await asyncio.sleep(0.25)
        else:
            raise BenchError(f"runs {statuses} or {pop.counts.tiny_ttl} expiries not done")
        last_seq = int((await admin.get(f"/v1/boards/{board}"))["last_seq"])
        if last_seq < plan.events:  # top up with batches of the same population
            more = plan.events - last_seq + plan.batch_size
            await publish_batches(bb.port, board, pop, more, plan.batch_size, 1)
            last_seq = int((await admin.get(f"/v1/boards/{board}"))["last_seq"])
        fill_s = time.perf_counter() - started
    return Board(board, runs, last_seq, fill_s, pop.counts, statuses, laps.lap())


GOAL = "Find out why the nightly report slows down, and propose a fix"


async def settle(url: str) -> float:
    """VACUUM (ANALYZE) the tables the metrics read, as autovacuum would soon after a bulk
    load (insert-only tables are vacuumed too, which sets the visibility map)."""
    started = time.perf_counter()
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(
            "VACUUM (ANALYZE) events, artifacts, artifact_keys, turns, runs, tasks, claims,"
            " abstentions"
        )
    return time.perf_counter() - started


def describe_fill(b: Board) -> None:
    c = b.counts
    say(
        f"    filled in {b.fill_s:.1f} s: the board's last_seq is {b.events:,} "
        f"({b.events / b.fill_s:,.0f} events/s)"
    )
    say(
        f"    {c.batch_items:,} versions in {c.batches} batches ({c.with_parents:,} with "
        f"parents by other agents, {c.copies} word-for-word copies), {c.singles:,} single "
        f"critiques under a claim"
    )
    say(
        f"    {c.claims:,} role claims ({c.released:,} released, {c.tiny_ttl} ran out), "
        f"{c.abstentions:,} abstentions; {c.tasks_posted:,} tasks posted, "
        f"{c.task_claims:,} claimed: {c.completed:,} completed, {c.failed} failed, "
        f"{c.retried} failed with retry, {c.declined} declined"
    )
    say(f"    runs: {', '.join(b.run_status)}")
    if b.server_cpu_s:
        app, pg = (b.server_cpu_s.get(k, float("nan")) for k in ("app", "postgres"))
        say(
            f"    server CPU during the fill: API {app:.0f} s + PostgreSQL {pg:.0f} s "
            f"= {(app + pg) / b.fill_s:.0%} of one core (this machine has {os.cpu_count()})"
        )


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


class Laps:
    """The servers' CPU time between one reading and the next."""

    def __init__(self, read: Callable[[], dict[str, float]]) -> None:
        self.read = read
        self.last = read()

    def lap(self) -> dict[str, float]:
        now = self.read()
        spent = {k: now[k] - self.last[k] for k in now.keys() & self.last.keys()}
        self.last = now
        return spent


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
