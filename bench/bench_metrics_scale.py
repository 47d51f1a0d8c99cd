"""Metrics at population scale: GET .../metrics on boards of 100,000 and 1,000,000 versions,
read from the roll-ups, on one API worker.

    .venv/bin/python bench/bench_metrics_scale.py           # 100k and 1M, about 15-25 min
    .venv/bin/python bench/bench_metrics_scale.py --quick   # 10k and 50k, about 2 min

It starts `blackboard serve --workers 1` (embedded PostgreSQL, fresh data directory) and
batch-loads each board straight into the tables, in SQL (one day of history: artifact
versions by 200 agents, a twentieth copied word for word by another agent, a fifth built
on earlier work, and role claims released a few seconds later), then moves the board's
event counter, so the service sees the whole history appear at once, as after a
migration. It times the background roll-up catching up, then per board:

- cold: the first GET .../metrics (all parts) the API process serves for the board;
- warm: p50/p99 of the same request, and of a one-hour range and window;
- the baseline in the same run: GET .../events?limit=100 on the same board;
- the worst latency of GET /healthz, sent every 20 ms on another connection to the same
  worker while the metrics requests run (a request stalled behind them);
- the API process's resident memory before and after.

A benchmark run by hand, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import psycopg
import uvloop
from harness import (
    HOST,
    Admin,
    BenchError,
    Session,
    Table,
    bench_main,
    blackboard_server,
    database_url,
    percentile,
    say,
)

from blackboard.store.rollups import TABLES

TARGET_COLD_MS = 1000.0
TARGET_WARM_P99_MS = 100.0
TARGET_STALL_MS = 250.0
TARGET_RSS_GROWTH_MB = 100.0
HISTORY = timedelta(days=1)
AGENTS = 200
CHUNK = 50_000

# fmt: off
_WORDS = [
    "plan", "review", "patch", "test", "merge", "ship", "alpha", "beta", "gamma", "delta",
    "graph", "node", "colour", "edge", "claim", "role", "critic", "planner", "coder", "fix",
    "bug", "risk", "scope", "cost", "time", "agent", "board", "task", "result", "finding",
    "question", "answer", "idea", "draft", "final", "check", "verify", "reject", "accept",
    "revise",
]
# fmt: on

# Seq g of the board: a role claim at g % 100 == 50, its release at 51, else an artifact
# version. Bodies: five words picked by g; every 20th copies version g-1's words.
_LOAD = """
WITH g AS (
    SELECT g, %(t0)s::timestamptz + (g - %(first)s) * %(step)s * interval '1 second' AS at,
           (%(agents)s::uuid[])[1 + (g * 7) %% %(n_agents)s] AS author,
           CASE WHEN g %% 20 = 0 THEN g - 1 ELSE g END AS text_of
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g
), v AS (
    SELECT g.*, md5(%(board)s || ':' || g)::uuid AS id,
           jsonb_build_object('claim', (
               SELECT string_agg((%(words)s::text[])[1 + abs(hashint8(text_of * 8 + w)) %% %(n)s],
                                 ' ')
               FROM generate_series(1, 5) AS w)) AS body
    FROM g WHERE g %% 100 NOT IN (50, 51)
), arts AS (
    INSERT INTO artifacts (id, board_id, type, type_version, key, version, body, author_id,
                           parents, seq, content_hash, created_at)
    SELECT id, %(board)s::uuid, 'finding', 1, 'k' || (g %% 5000), g / 5000 + 1, body, author,
           CASE WHEN g %% 5 = 0 AND g - 3 > %(first)s AND (g - 3) %% 100 NOT IN (50, 51)
                THEN ARRAY[md5(%(board)s || ':' || (g - 3))::uuid] ELSE '{}' END,
           g, encode(sha256(convert_to(body::text, 'UTF8')), 'hex'), at
    FROM v
)
INSERT INTO events (board_id, seq, kind, at, actor_id, subject_id, data)
SELECT %(board)s::uuid, g, 'artifact.published', at, author, md5(%(board)s || ':' || g)::uuid,
       jsonb_build_object('key', 'k' || (g %% 5000), 'type', 'finding')
FROM g WHERE g %% 100 NOT IN (50, 51)
UNION ALL
SELECT %(board)s::uuid, g, CASE WHEN g %% 100 = 50 THEN 'role.claimed' ELSE 'role.released' END,
       at, author, md5('claim:' || %(board)s || ':' || (g - g %% 100 + 50))::uuid,
       jsonb_build_object('role', (ARRAY['planner', 'critic', 'coder'])[1 + (g / 100) %% 3],
                          'scope', '')
FROM g WHERE g %% 100 IN (50, 51)
"""


def load(url: str, board: str, agents: list[str], n: int) -> float:
    """Batch-load `n` events of history onto the board; return the seconds it took."""
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        first = conn.execute(
            "SELECT last_seq + 1 FROM board_seqs WHERE board_id = %s", [board]
        ).fetchone()[0]
        origin = conn.execute("SELECT created_at FROM boards WHERE id = %s", [board]).fetchone()[0]
        # the history ends now: the board began a day ago
        t0 = origin - HISTORY
        with conn.transaction():
            conn.execute("SELECT 1 FROM rollup_marks WHERE board_id = %s FOR UPDATE", [board])
            conn.execute("UPDATE boards SET created_at = %s WHERE id = %s", [t0, board])
            # and its first events (its creation) with it: the log's first event is its
            # oldest, as on a real board (else the whole-board range ends before it begins)
            conn.execute(
                "UPDATE events SET at = %s WHERE board_id = %s AND seq < %s", [t0, board, first]
            )
            for table in TABLES[:-1]:  # all but the watermarks
                conn.execute(f"DELETE FROM {table} WHERE board_id = %s", [board])
            conn.execute(
                "UPDATE rollup_marks SET origin = %s, last_seq = 0, duplicate_versions = 0"
                " WHERE board_id = %s",
                [t0, board],
            )
        step = HISTORY.total_seconds() / n
        for lo in range(first, first + n, CHUNK):
            hi = min(lo + CHUNK, first + n) - 1
            conn.execute(
                _LOAD,
                {
                    "board": board,
                    "lo": lo,
                    "hi": hi,
                    "first": first,
                    "t0": t0,
                    "step": step,
                    "agents": agents,
                    "n_agents": len(agents),
                    "words": _WORDS,
                    "n": len(_WORDS),
                },
            )
            say(f"  loaded {hi - first + 1:,} of {n:,}")
        conn.execute(
            """INSERT INTO artifact_keys (board_id, key, type, last_version, latest_id, latest_seq)
               SELECT board_id, key, min(type), max(version), (array_agg(id ORDER BY seq DESC))[1],
                      max(seq)
               FROM artifacts WHERE board_id = %s GROUP BY board_id, key""",
            [board],
        )
        conn.execute("VACUUM (ANALYZE) artifacts, events")
        conn.execute(
            "UPDATE board_seqs SET last_seq = %s WHERE board_id = %s", [first + n - 1, board]
        )
    return time.perf_counter() - started


def wait_rolled_up(url: str, board: str, timeout_s: float = 3600) -> float:
    """Wait until the service's background roll-up has summed the board's whole log."""
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        while time.perf_counter() - started < timeout_s:
            row = conn.execute(
                """SELECT s.last_seq - coalesce(m.last_seq, 0) FROM board_seqs s
                   LEFT JOIN rollup_marks m USING (board_id) WHERE s.board_id = %s""",
                [board],
            ).fetchone()
            if row[0] == 0:
                conn.execute("VACUUM (ANALYZE)")
                return time.perf_counter() - started
            time.sleep(0.5)
    raise BenchError("the roll-up did not catch up")


def api_rss_mb(group: int) -> float:
    """Resident memory of the API processes (the server's process group), in MB."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
            if int(stat[stat.rindex(b")") + 2 :].split()[2]) != group:
                continue
            with open(f"/proc/{entry.name}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return total / 1024


@dataclass
class Figures:
    size: int
    load_s: float
    rollup_s: float
    cold_ms: float
    warm: list[float]
    ranged: list[float]
    baseline: list[float]
    parts: dict[str, float]  # part -> p50 ms
    stall_ms: float
    rss_before: float
    rss_after: float


async def measure(port: int, token: str, board: str, size: int, rounds: int) -> Figures:
    headers = {"Authorization": f"Bearer {token}"}
    base = f"http://{HOST}:{port}"
    stall = [0.0]
    done = asyncio.Event()

    async def probe() -> None:
        # its own connection: what any other client of this worker sees meanwhile
        async with httpx.AsyncClient(base_url=base) as c:
            while not done.is_set():
                t = time.perf_counter()
                r = await c.get("/healthz")
                r.raise_for_status()
                stall[0] = max(stall[0], (time.perf_counter() - t) * 1000)
                await asyncio.sleep(0.02)

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as c:

        async def timed(path: str, **params: object) -> float:
            t = time.perf_counter()
            r = await c.get(path, params=params)
            if r.status_code != 200:
                raise BenchError(f"GET {path}: HTTP {r.status_code}: {r.text[:300]}")
            return (time.perf_counter() - t) * 1000

        metrics = f"/v1/boards/{board}/metrics"
        board_row = (await c.get(f"/v1/boards/{board}")).json()
        origin = board_row["created_at"]
        await timed("/healthz")
        prober = asyncio.create_task(probe())
        await asyncio.sleep(0.1)
        cold = await timed(metrics)
        warm, ranged, baseline = [], [], []
        for _ in range(rounds):
            warm.append(await timed(metrics))
            ranged.append(
                await timed(metrics, since=_plus(origin, 6), until=_plus(origin, 7), window_s=300)
            )
            baseline.append(await timed(f"/v1/boards/{board}/events", limit=100))
        parts = {}
        for part in PARTS:
            ms = sorted([await timed(f"{metrics}/{part}") for _ in range(max(rounds // 3, 3))])
            parts[part] = percentile(ms, 50)
        done.set()
        await prober
    return Figures(size, 0, 0, cold, warm, ranged, baseline, parts, stall[0], 0, 0)


PARTS = [
    "roles",
    "holdings",
    "abstentions",
    "claims",
    "tasks",
    "interactions",
    "entropy",
    "duplicates",
]


def _plus(iso: str, hours: int) -> str:
    return (datetime.fromisoformat(iso) + timedelta(hours=hours)).isoformat()


def run(session: Session) -> None:
    sizes = session.args.sizes or ([10_000, 50_000] if session.quick else [100_000, 1_000_000])
    rounds = 8 if session.quick else 30
    table = Table()
    say("starting blackboard serve --workers 1 ...")
    with blackboard_server(session.data_dir, session.admin_token, workers=1) as bb:
        url = database_url(session.data_dir)
        group = bb.meter.roots["app"]

        async def setup() -> tuple[list[str], list[str]]:
            async with Admin(bb.port, session.admin_token) as admin:
                agents = [(await admin.agent(f"a{i}-{os.getpid()}"))[0] for i in range(AGENTS)]
                boards = [await admin.board(f"scale-{n}-{os.getpid()}") for n in sizes]
            return agents, boards

        agents, boards = uvloop.run(setup())
        for size, board in zip(sizes, boards, strict=True):
            say(f"board of {size:,} events: loading ...")
            load_s = load(url, board, agents, size)
            say(f"  loaded in {load_s:.0f} s; waiting for the roll-up ...")
            rollup_s = wait_rolled_up(url, board)
            say(f"  rolled up in {rollup_s:.0f} s ({size / rollup_s:,.0f} events/s)")
            rss_before = api_rss_mb(group)
            f = uvloop.run(measure(bb.port, session.admin_token, board, size, rounds))
            f.load_s, f.rollup_s = load_s, rollup_s
            f.rss_before, f.rss_after = rss_before, api_rss_mb(group)
            report(table, f)
    table.print()


def report(table: Table, f: Figures) -> None:
    k = f"{f.size // 1000}k"
    w, r, b = sorted(f.warm), sorted(f.ranged), sorted(f.baseline)
    big = f.size >= 1_000_000
    table.row(f"{k}: batch load (s)", f"{f.load_s:.0f}")
    table.row(f"{k}: roll-up catch-up (events/s)", f"{f.size / f.rollup_s:,.0f}")
    table.row(
        f"{k}: cold /metrics (ms)",
        f"{f.cold_ms:.0f}",
        "<= 1000",
        f.cold_ms <= TARGET_COLD_MS if big else None,
    )
    table.row(f"{k}: warm /metrics p50 (ms)", f"{percentile(w, 50):.1f}")
    p99 = percentile(w, 99)
    table.row(
        f"{k}: warm /metrics p99 (ms)",
        f"{p99:.1f}",
        "<= 100",
        p99 <= TARGET_WARM_P99_MS if big else None,
    )
    table.row(f"{k}: 1 h range p50/p99 (ms)", f"{percentile(r, 50):.1f}/{percentile(r, 99):.1f}")
    table.row(
        f"{k}: baseline /events p50/p99 (ms)", f"{percentile(b, 50):.1f}/{percentile(b, 99):.1f}"
    )
    table.row(f"{k}: warm p99 / baseline p99", f"{p99 / percentile(b, 99):.1f}x")
    for part, ms in f.parts.items():
        table.row(f"{k}:   /metrics/{part} p50 (ms)", f"{ms:.1f}")
    table.row(
        f"{k}: worst /healthz meanwhile (ms)",
        f"{f.stall_ms:.0f}",
        "<= 250",
        f.stall_ms <= TARGET_STALL_MS,
    )
    growth = f.rss_after - f.rss_before
    table.row(f"{k}: API RSS before -> after (MB)", f"{f.rss_before:.0f}->{f.rss_after:.0f}")
    table.row(
        f"{k}: API RSS growth (MB)", f"{growth:.0f}", "<= 100", growth <= TARGET_RSS_GROWTH_MB
    )


if __name__ == "__main__":

    def more(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--sizes", type=int, nargs="+", help="board sizes (events)")

    raise SystemExit(bench_main("bench_metrics_scale", __doc__, run, more))
