"""Controller benchmark: per-turn overhead, bundle build time at 100k versions, and a
sequential run of 8 scripted agents x 3 rounds.

    .venv/bin/python bench/bench_controller.py [--quick]

Runs in-process against a fresh embedded PostgreSQL (no HTTP: this measures the
controller, not the API). The scripted models answer in well under a millisecond, and
their measured latency is subtracted, so "overhead per turn" is what the controller itself
costs a turn: building the bundle, offering the turn, recording the call and its outcome,
claiming the role and publishing with fencing.
"""

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path
from typing import Any
from uuid import uuid4

from blackboard.controller.driver import Controller
from blackboard.controller.views import View, build_bundle
from blackboard.drafts import AgentDraft, BoardDraft, RunDraft
from blackboard.records import Agent
from blackboard.services import agents, boards, runs
from blackboard.services.schemas import SchemaCache, register_standard_types
from blackboard.store import migrate
from blackboard.store import runs as run_store
from blackboard.store.artifact_writes import NewVersion, publish
from blackboard.store.database import Database
from blackboard.store.embedded import EmbeddedPostgres

CAPABILITIES = ["planner", "research", "critique", "synthesis"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def scripted_roster(db: Database) -> list[Agent]:
    """Register 8 scripted model-backed agents, two of each capability."""
    async with db.transaction() as conn:
        return [
            (
                await agents.register(
                    conn,
                    draft=AgentDraft(
                        name=f"scripted-{i}-{uuid4().hex[:6]}",
                        capabilities=[CAPABILITIES[i % 4]],
                        model=f"scripted:{CAPABILITIES[i % 4]}",
                    ),
                )
            )[0]
            for i in range(8)
        ]


async def sequential_runs(
    controller: Controller, roster: list[Agent], count: int
) -> tuple[list[float], list[float]]:
    """Drive `count` runs of the roster x 3 rounds; return run times, per-turn overheads."""
    db = controller.db
    run_times: list[float] = []
    overheads: list[float] = []
    for n in range(count):
        async with db.transaction() as conn:
            board = await boards.create(conn, draft=BoardDraft(name=f"seq-{n}-{uuid4().hex[:6]}"))
            await runs.create(
                conn,
                board_id=board.id,
                draft=RunDraft(
                    protocol="sequential",
                    roster=[a.id for a in roster],
                    goal="Boil water",
                    rounds=3,
                ),
            )
        started = time.perf_counter()
        async with db.connection() as conn:
            run = await run_store.take_drivable(conn, controller=controller.name, lease_s=60)
        assert run is not None
        await controller.drive(run)
        run_times.append(time.perf_counter() - started)
        async with db.connection() as conn:
            turns = await run_store.turns_of(conn, run_id=run.id)
            finished = await run_store.get_run(conn, run_id=run.id)
        assert finished is not None and finished.status == "completed", finished
        assert len(turns) == 24
        for this, following in pairwise(turns):
            gap_ms = (following.created_at - this.created_at).total_seconds() * 1000
            overheads.append(gap_ms - float(this.call.get("latency_ms") or 0.0))
    return run_times, overheads


async def durable_writes(db: Database, samples: int) -> list[float]:
    """The baseline, in the same run: one autocommitted single-row UPDATE (a WAL flush at
    commit) — the floor under every durable step of a turn, and what a noisy disk moves."""
    async with db.transaction() as conn:
        board = await boards.create(conn, draft=BoardDraft(name=f"floor-{uuid4().hex[:6]}"))
    times = []
    async with db.connection() as conn:
        for _ in range(samples):
            started = time.perf_counter()
            await conn.execute(
                "UPDATE board_seqs SET last_seq = last_seq WHERE board_id = %s", (board.id,)
            )
            times.append((time.perf_counter() - started) * 1000)
    return times


async def fill(db: Database, versions: int) -> tuple[object, str]:
    """A board with `versions` artifact versions (a few keys re-published), 50 in one run."""
    async with db.transaction() as conn:
        author, _ = await agents.register(conn, draft=AgentDraft(name=f"filler-{uuid4().hex[:6]}"))
        board = await boards.create(conn, draft=BoardDraft(name=f"big-{uuid4().hex[:6]}"))
    run_tag = f"run:{uuid4()}"
    types = ["finding", "plan", "critique", "result", "proposal"]
    bodies: dict[str, dict[str, Any]] = {
        "finding": {"claim": "x" * 200, "confidence": 0.5},
        "plan": {"summary": "s" * 100, "steps": [{"description": "d"}]},
        "critique": {"target": "t", "verdict": "accept"},
        "result": {"summary": "r" * 200},
        "proposal": {"title": "p", "content": "c" * 200},
    }
    written = 0
    while written < versions:
        batch = []
        for _ in range(min(1000, versions - written)):
            t = types[written % 5]
            i = uuid4()
            batch.append(
                NewVersion(
                    id=i,
                    author_id=author.id,
                    type=t,
                    type_version=1,
                    key=f"k{written % 20_000}",
                    expected_version=None,
                    body=bodies[t],
                    role=None,
                    claim_id=None,
                    parents=[],
                    tags=[run_tag] if written % 2000 == 0 else [],
                    content_hash="h",
                    idempotency_key=None,
                    request_hash=None,
                )
            )
            written += 1
        # keys keep their first type: give each key one type by its number
        batch = [
            v
            if int(v.key[1:]) % 5 == types.index(v.type)
            else NewVersion(**{**vars(v), "key": f"{v.key}-{v.type}"})
            for v in batch
        ]
        async with db.connection() as conn:
            await publish(conn, board_id=board.id, versions=batch, where=[""] * len(batch))
    return board.id, run_tag


async def bundle_times(
    db: Database, board_id: object, run_tag: str, samples: int
) -> dict[str, list[float]]:
    """Time bundle builds for a run-scoped and a board-scoped view."""
    from blackboard.records import Run

    fake_run = Run(
        id=run_tag.removeprefix("run:"),
        board_id=board_id,
        protocol="sequential",
        roster=[],
        goal="Boil water",
        params={},
        status="running",
        turns_used=0,
        tokens_used=0,
        created_at="2026-01-01T00:00:00Z",
    )
    header = {"goal": {"title": "Boil water"}, "phase": "act"}
    results: dict[str, list[float]] = {}
    for label, view in [
        ("run scope", View(scope="run")),
        ("board scope", View(scope="board", token_budget=8000)),
    ]:
        times = []
        async with db.connection() as conn:
            for _ in range(samples):
                started = time.perf_counter()
                await build_bundle(conn, run=fake_run, view=view, header=header)
                times.append((time.perf_counter() - started) * 1000)
        results[label] = times
    return results


def settle() -> None:
    """Keep what set-up allocated out of the collector's full passes, as `blackboard serve`
    does once it has started (api/app.py): otherwise a full pass over the fill's leftovers
    lands in whichever timed call triggers it."""
    gc.collect()
    gc.freeze()


async def main(quick: bool) -> int:
    with tempfile.TemporaryDirectory(prefix="bb-bench-") as tmp:
        embedded = EmbeddedPostgres(Path(tmp) / "pgdata")
        url = embedded.start()
        try:
            migrate.upgrade(url)
            db = Database(url, pool_size=10)
            await db.open()
            async with db.transaction() as conn:
                await register_standard_types(conn)
            settle()
            floor = await durable_writes(db, 100 if quick else 500)
            # Untimed first, as the other benchmarks warm up: the pool's connections are
            # new, and PostgreSQL plans each big statement anew on its first five
            # executions on each of them (milliseconds each) before it keeps a generic
            # plan. A controller that has run for a minute has that behind it. The
            # warm-up's figures are printed, apart.
            # one controller and one roster throughout, as in a service that has been up
            # a while (its schema cache and its agents' models are built once)
            controller, roster = Controller(db, SchemaCache()), await scripted_roster(db)
            _, cold = await sequential_runs(controller, roster, 2 if quick else 5)
            run_times, overheads = await sequential_runs(controller, roster, 3 if quick else 10)
            versions = 20_000 if quick else 100_000
            started = time.perf_counter()
            board_id, run_tag = await fill(db, versions)
            async with db.connection() as conn:
                await conn.execute("ANALYZE")  # as autovacuum would, after a bulk load
            took = time.perf_counter() - started
            print(f"filled a board with {versions:,} versions in {took:.1f} s")
            settle()
            bundles = await bundle_times(db, board_id, run_tag, 50 if quick else 300)
            await db.close()
        finally:
            embedded.stop()
    rows = [
        (
            "sequential 8 agents x 3 rounds, run time s (median)",
            statistics.median(run_times),
            "< 2 s",
        ),
        ("sequential 8 agents x 3 rounds, run time s (worst)", max(run_times), "< 2 s"),
        ("warm-up runs: overhead per turn ms p50", pct(cold, 0.5), ""),
        ("warm-up runs: overhead per turn ms p99", pct(cold, 0.99), ""),
        ("controller overhead per turn ms p50", pct(overheads, 0.5), ""),
        ("controller overhead per turn ms p99", pct(overheads, 0.99), "<= 10 ms"),
        ("baseline: one durable write (UPDATE + commit) ms p50", pct(floor, 0.5), ""),
        ("baseline: one durable write (UPDATE + commit) ms p99", pct(floor, 0.99), ""),
        ("turn overhead p50 / durable write p50 (x)", pct(overheads, 0.5) / pct(floor, 0.5), ""),
    ]
    for label, times in bundles.items():
        rows.append(
            (f"bundle build, {label}, {versions // 1000}k versions ms p50", pct(times, 0.5), "")
        )
        rows.append(
            (
                f"bundle build, {label}, {versions // 1000}k versions ms p99",
                pct(times, 0.99),
                "<= 20 ms",
            )
        )
    width = max(len(r[0]) for r in rows)
    print("=" * (width + 24))
    for label, value, target in rows:
        print(f"{label:<{width}}  {value:8.2f}  {target}")
    print("=" * (width + 24))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller board, fewer runs")
    sys.exit(asyncio.run(main(parser.parse_args().quick)))
