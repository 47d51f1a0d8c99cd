"""The board bench_metrics.py measures: `fill` fills one board over HTTP to 100,000 events
(`--quick`: 10,000) as a population of 40 agents would (batch-published artifact versions
in short English texts, role claims, abstentions, tasks, three scripted runs), and
`settle` runs VACUUM (ANALYZE) after. `Plan` sets the sizes; `TracedConnection`, `call`
and `Laps` serve the measurement too. Imported by bench_metrics.py, not run on its own.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
import psycopg

# bench/ is on sys.path: these files are run as scripts
from harness import (
    Admin,
    BenchError,
    HttpConnection,
    Running,
    Session,
    WaitSampler,
    database_url,
    http_request,
    say,
    unique_suffix,
)


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
        # no `role`: a version may name only a role its author holds a live claim of, and
        # the population's roles are recorded by its claims
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
