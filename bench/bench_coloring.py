"""Graph-colouring benchmark: 100 scripted agents colour a 100-node graph through the board,
using the SDK only, each following only its neighbours' keys.

    .venv/bin/python bench/bench_coloring.py           # full run, about a minute
    .venv/bin/python bench/bench_coloring.py --quick   # 30 nodes, a smoke run

It starts the real service (`blackboard serve --workers 2`, embedded PostgreSQL in a fresh
temporary directory), guards `color/{scope}` with role `node`, and runs one agent per node
(`AsyncClient`, its own connections). Each agent holds role `node` for its node with
`hold_role` (10 s lease, renewed every 3.3 s in the background), reads its neighbours'
current colours in one request (`list_artifacts(key=[...])`), publishes a first colour,
then follows only its neighbours' keys with bodies (`stream_events(keys=...,
include_body=True)`). A node recolours (the smallest colour none of its neighbours has)
when a lower-numbered neighbour has its colour, so lower numbers never yield and the
colouring converges.

Reported:
- converged, verified from the board's final state (every node coloured, no edge with one
  colour at both ends), and the time to converge;
- SSE deliveries per useful change: deliveries to all agents over (colour version,
  neighbour that follows it) pairs — 1.0 means nobody heard anything it did not need;
  and, for scale, what one unfiltered subscriber of the board received per colour version
  (every agent would receive that without key filters);
- renewal events in the log (goal 0) against the renewals the claims counted;
- publish throughput on unguarded keys vs guarded keys (under the writer's claim), the
  same writers and client in the same run, alternating rounds (goal: guarded >= 0.8x).
A benchmark run by hand, not a test.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from harness import (
    HOST,
    BenchError,
    Session,
    Table,
    bench_main,
    blackboard_server,
    unique_suffix,
)

from agents.client import AsyncClient

# The agents' lease: long enough that 100 agents starting at once on a busy 2-core
# machine renew in time; renewals still come every third of it.
LEASE_S = 10.0

COLOR_SCHEMA = {
    "type": "object",
    "properties": {"color": {"type": "integer", "minimum": 0}},
    "required": ["color"],
}


def make_graph(n: int, seed: int = 18) -> dict[int, set[int]]:
    """A ring with random chords: every node has degree 2 to about 5."""
    rng = random.Random(seed)
    edges = {i: set() for i in range(n)}
    for i in range(n):
        edges[i].add((i + 1) % n)
        edges[(i + 1) % n].add(i)
    for _ in range(n // 2):
        a, b = rng.sample(range(n), 2)
        edges[a].add(b)
        edges[b].add(a)
    return edges


def conflicts(edges: dict[int, set[int]], colors: dict[int, int]) -> int:
    return sum(1 for a, ns in edges.items() for b in ns if a < b and colors.get(a) == colors.get(b))


class Node:
    """One scripted agent: holds its node's role, follows its neighbours, recolours."""

    def __init__(self, url: str, token: str, board: str, node: int, edges: dict[int, set[int]]):
        self.client = AsyncClient(url, token, timeout=30)
        self.board, self.node = board, node
        self.neighbours = sorted(edges[node])
        self.palette = max(len(ns) for ns in edges.values()) + 1
        self.known: dict[int, int] = {}
        self.color: int | None = None
        self.deliveries = 0
        self.useful = 0
        self.published = 0

    def key(self, node: int) -> str:
        return f"color/{node}"

    def wanted(self) -> int | None:
        """The colour to take now (None to keep the current one)."""
        clash = any(self.known.get(n) == self.color for n in self.neighbours if n < self.node)
        if self.color is not None and not clash:
            return None
        taken = {self.known[n] for n in self.neighbours if n in self.known}
        return min(c for c in range(self.palette) if c not in taken)

    async def run(self, rng: random.Random, ready: asyncio.Event) -> None:
        async with self.client.hold_role(self.board, "node", str(self.node), ttl_s=LEASE_S) as hold:
            current = await self.client.list_artifacts(
                self.board, key=[self.key(n) for n in self.neighbours]
            )
            after = max([a.seq for a in current.items], default=0)
            for a in current.items:
                self.known[int(a.key.split("/")[1])] = a.body["color"]
            self.color = rng.randrange(self.palette)  # a random start: conflicts to resolve
            await hold.publish("color", {"color": self.color}, key=self.key(self.node))
            self.published += 1
            await self._recolour(hold)
            ready.set()
            async for event in self.client.stream_events(
                self.board,
                after=after,
                kinds=["artifact.published"],
                keys=[self.key(n) for n in self.neighbours],
                include_body=True,
            ):
                self.deliveries += 1
                node = int(event.data["key"].split("/")[1])
                if node in self.neighbours:
                    self.useful += 1
                    self.known[node] = event.data["body"]["color"]
                    await self._recolour(hold)

    async def _recolour(self, hold: Any) -> None:
        new = self.wanted()
        if new is not None and new != self.color:
            self.color = new
            await hold.publish("color", {"color": new}, key=self.key(self.node))
            self.published += 1


async def unfiltered_listener(url: str, token: str, board: str, counts: list[int]) -> None:
    async with AsyncClient(url, token, timeout=30) as client:
        async for _ in client.stream_events(board, after=0):
            counts[0] += 1


async def converge(session: Session, url: str, n: int, table: Table) -> tuple[str, list[Any]]:
    token = session.admin_token
    admin = AsyncClient(url, token, timeout=60)
    await admin.put_type("color", COLOR_SCHEMA)
    board = str((await admin.create_board(f"coloring-{unique_suffix()}")).id)
    await admin.create_guard(board, "color/{scope}", "node")
    edges = make_graph(n)
    tokens = [
        (await admin.register_agent(f"node-{i}-{unique_suffix()}", [])).token for i in range(n)
    ]
    nodes = [Node(url, tokens[i], board, i, edges) for i in range(n)]
    heard = [0]
    listener = asyncio.create_task(unfiltered_listener(url, token, board, heard))
    rng = random.Random(7)
    started = time.perf_counter()
    readies = [asyncio.Event() for _ in nodes]
    tasks = [asyncio.create_task(nd.run(rng, r)) for nd, r in zip(nodes, readies, strict=True)]
    converged_at = None
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.25)
        if any(t.done() and t.exception() for t in tasks):
            raise BenchError(f"an agent failed: {next(t.exception() for t in tasks if t.done())}")
        page = await admin.list_artifacts(board, key_prefix="color/", limit=500)
        colors = {int(a.key.split("/")[1]): a.body["color"] for a in page.items}
        if len(colors) == n and not conflicts(edges, colors) and all(r.is_set() for r in readies):
            converged_at = time.perf_counter()
            break
    await asyncio.sleep(3.5)  # let renewals happen after convergence, then stop
    for t in [*tasks, listener]:
        t.cancel()
    await asyncio.gather(*tasks, listener, return_exceptions=True)
    for nd in nodes:
        await nd.client.aclose()
    page = await admin.list_artifacts(board, key_prefix="color/", limit=500)
    colors = {int(a.key.split("/")[1]): a.body["color"] for a in page.items}
    ok = converged_at is not None and len(colors) == n and conflicts(edges, colors) == 0
    counts = [len(await admin.history(board, f"color/{i}")) for i in range(n)]
    versions = sum(counts)
    pairs = sum(counts[i] * len(edges[i]) for i in range(n))
    deliveries = sum(nd.deliveries for nd in nodes)
    events = await _all_events(admin, board)
    renewed_events = sum(1 for e in events if e.kind == "role.renewed")
    claims = await admin.list_claims(board, role="node", limit=1000)
    renewals = sum(c.renewals for c in claims)
    seconds = (converged_at or time.perf_counter()) - started
    table.row("nodes / edges", f"{n} / {sum(map(len, edges.values())) // 2}")
    table.row("converged, verified on the board", "yes" if ok else "NO", "yes", ok)
    table.row("time to converge (s)", f"{seconds:.2f}")
    table.row("colour versions written", str(versions))
    table.row("SSE deliveries to agents", str(deliveries))
    ratio = deliveries / pairs if pairs else 0.0
    table.row("deliveries per useful change", f"{ratio:.2f}", "<= 2", ratio <= 2)
    per_version = heard[0] / versions if versions else 0.0
    table.row("unfiltered: deliveries per version (1 agent)", f"{per_version:.2f}")
    table.row(
        "unfiltered: deliveries per useful change (all)",
        f"{per_version * n * versions / pairs if pairs else 0:.2f}",
    )
    table.row("renewal events in the log", str(renewed_events), "0", renewed_events == 0)
    table.row("renewals counted on claims", str(renewals))
    await admin.aclose()
    return board, nodes


async def _all_events(admin: AsyncClient, board: str) -> list[Any]:
    events: list[Any] = []
    after = 0
    while True:
        page = await admin.read_events(board, after=after, limit=1000)
        events += page.items
        if not page.items:
            return events
        after = page.next_after


async def throughput(session: Session, url: str, board: str, table: Table) -> None:
    """Publishes/s on unguarded vs guarded keys: 8 writers, alternating rounds."""
    admin = AsyncClient(url, session.admin_token, timeout=60)
    writers = [
        AsyncClient(url, (await admin.register_agent(f"w-{i}-{unique_suffix()}", [])).token)
        for i in range(8)
    ]
    per_round = 60 if session.quick else 250
    holds = [w.hold_role(board, "node", f"w{i}", ttl_s=30) for i, w in enumerate(writers)]
    for h in holds:
        await h.__aenter__()

    async def round_(guarded: bool) -> float:
        async def one(i: int) -> None:
            for _ in range(per_round):
                if guarded:
                    await holds[i].publish("color", {"color": 1}, key=f"color/w{i}")
                else:
                    await writers[i].publish(board, "color", {"color": 1}, key=f"free/w{i}")

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(len(writers))))
        return len(writers) * per_round / (time.perf_counter() - start)

    rates: dict[bool, list[float]] = {False: [], True: []}
    for guarded in (False, True, False, True, True, False):
        rates[guarded].append(await round_(guarded))
    for h in holds:
        await h.__aexit__(None, None, None)
    for w in writers:
        await w.aclose()
    await admin.aclose()
    plain, fenced = sum(rates[False]) / 3, sum(rates[True]) / 3
    table.row("publishes/s, unguarded key (baseline)", f"{plain:.0f}")
    table.row("publishes/s, guarded key", f"{fenced:.0f}")
    table.row("guarded / unguarded", f"{fenced / plain:.2f}x", ">= 0.8x", fenced / plain >= 0.8)


def run(session: Session) -> None:
    n = 30 if session.quick else 100
    with blackboard_server(session.data_dir, session.admin_token) as server:
        url = f"http://{HOST}:{server.port}"
        table = Table()

        async def main() -> None:
            board, _ = await converge(session, url, n, table)
            await throughput(session, url, board, table)

        asyncio.run(main())
        table.print()


if __name__ == "__main__":
    raise SystemExit(bench_main("bench_coloring", __doc__, run))
