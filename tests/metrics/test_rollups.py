"""The roll-ups against metrics computed from scratch
(tests/support/metrics_from_scratch.py), on a board that concurrent agents write to over
several seconds, and on one whose role claims span hours at chosen times: whole board and
cut ranges, windows of several sizes; and the roll-up itself interrupted midway, and run by
two at once."""

import asyncio
import math
import random
import uuid
from datetime import timedelta
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.types.json import Jsonb

from blackboard.store import rollups
from blackboard.store.database import Database
from tests.support.api import ADMIN, Actors
from tests.support.metrics_from_scratch import Log, from_scratch, offset, read_log, shannon

VOCABULARY = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "red",
    "green",
    "blue",
    "plan",
    "fix",
    "test",
    "ship",
]


async def ok(client: httpx.AsyncClient, method: str, url: str, who: Any, body: Any = None) -> Any:
    r = await client.request(method, url, json=body, headers=who)
    assert r.status_code in (200, 201), r.text
    return r.json()


async def agent_work(
    client: httpx.AsyncClient, board: str, me: dict[str, Any], seed: int, published: list[str]
) -> None:
    """One agent: publishes (some word for word what others publish, some built on others'
    work), claims and releases roles (some left to expire), abstains, posts, takes and
    completes tasks — with pauses, so that the board spans several seconds."""
    rnd = random.Random(seed)
    who = me["headers"]
    for _ in range(14):
        pick = rnd.random()
        if pick < 0.45:
            words = " ".join(rnd.choices(VOCABULARY, k=rnd.randint(1, 4)))
            parents = rnd.sample(published, k=min(len(published), rnd.randint(0, 2)))
            body = {"type": "finding", "body": {"claim": words}, "parents": parents}
            published.append(
                (await ok(client, "POST", f"/v1/boards/{board}/artifacts", who, body))["id"]
            )
        elif pick < 0.7:
            role = rnd.choice(["planner", "critic", "coder"])
            ttl = rnd.choice([0.3, 30])
            claim = await ok(
                client,
                "POST",
                f"/v1/boards/{board}/claims",
                who,
                {"role": role, "scope": f"s{seed}-{rnd.random()}", "ttl_s": ttl},
            )
            if ttl > 1 and rnd.random() < 0.7:
                await asyncio.sleep(rnd.uniform(0, 0.4))
                await ok(client, "DELETE", f"/v1/claims/{claim['id']}", who)
        elif pick < 0.8:
            await ok(
                client,
                "POST",
                f"/v1/boards/{board}/abstentions",
                who,
                {"role": rnd.choice(["planner", "critic"]), "reason": "busy"},
            )
        else:
            await ok(client, "POST", f"/v1/boards/{board}/tasks", ADMIN, {"title": "t"})
            r = await client.post(f"/v1/boards/{board}/tasks/claim", json={}, headers=who)
            if r.status_code == 200 and r.json():
                result = {"type": "finding", "body": {"claim": rnd.choice(VOCABULARY)}}
                await ok(
                    client,
                    "POST",
                    f"/v1/tasks/{r.json()['id']}/complete",
                    who,
                    {"artifact": result},
                )
        await asyncio.sleep(rnd.uniform(0, 0.25))


@pytest.fixture
async def busy_board(client: httpx.AsyncClient, actors: Actors) -> str:
    board = (await actors.board())["id"]
    agents = [await actors.agent() for _ in range(6)]
    published: list[str] = []
    await asyncio.gather(
        *(agent_work(client, board, a, seed, published) for seed, a in enumerate(agents))
    )
    # two retractions: the versions stay in the log and in the metrics
    for artifact_id in published[:2]:
        await ok(
            client,
            "POST",
            f"/v1/boards/{board}/artifacts/{artifact_id}/retract",
            ADMIN,
            {"reason": "x"},
        )
    await asyncio.sleep(1.6)  # let the reaper (every second) record the short claims' expiry
    return board


async def metrics(client: httpx.AsyncClient, board: str, **params: Any) -> dict[str, Any]:
    r = await client.get(f"/v1/boards/{board}/metrics", params=params, headers=ADMIN)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def assert_same(m: dict[str, Any], log: Log, lo: int | None, hi: int | None) -> None:
    """The API's figures `m` equal those computed from scratch over [lo, hi)."""
    window_s = m["roles"]["window_s"]
    starts = [offset(log, w["start"]) for w in m["roles"]["windows"]]
    want = from_scratch(log, lo=lo, hi=hi, window_s=window_s, starts=starts)
    assert m["events"] == want["events"]
    roles = m["roles"]
    for w, start in zip(roles["windows"], starts, strict=True):
        assert w["claims"] == want["claims_per_window"].get(start // window_s, {}), w
    assert roles["totals"] == want["totals"]
    flips = {a["agent_id"]: (a["claims"], a["distinct_roles"], a["flips"]) for a in roles["agents"]}
    assert flips == want["flips"]
    held = [{r: set(a) for r, a in w["roles"].items()} for w in m["holdings"]["windows"]]
    assert held == want["holdings"]
    overall = m["claims"]["overall"]
    assert (overall["claimed"], overall["released"], overall["expired"]) == (
        want["claimed"],
        want["released"],
        want["expired"],
    )
    assert m["abstentions"]["total"] == want["abstained"]
    assert (m["tasks"]["posted"], m["tasks"]["completed"]) == (want["posted"], want["completed"])
    for w in m["entropy"]["windows"]:
        artifacts, tokens = want["tokens"].get(offset(log, w["start"]) // window_s, (0, {}))
        assert (w["artifacts"], w["tokens"], w["distinct_tokens"]) == (
            artifacts,
            sum(tokens.values()),
            len(tokens),
        )
        assert w["entropy_bits"] == pytest.approx(shannon(tokens), abs=1e-5)
    dup = m["duplicates"]
    got = {
        g["content_hash"]: (g["versions"], sorted(g["agents"]), g["artifacts"])
        for g in dup["groups"]
    }
    assert got == want["duplicates"] and dup["artifacts"] == want["duplicate_total"]
    edges = {(e["producer"], e["consumer"]): e["built_on"] for e in m["interactions"]["edges"]}
    assert {k: v for k, v in edges.items() if v} == want["built_on"]
    published = {
        n["agent_id"]: n["published"] for n in m["interactions"]["nodes"] if n["published"]
    }
    assert published == want["published"]


async def test_rollups_equal_metrics_from_scratch(
    client: httpx.AsyncClient, busy_board: str, database_url: str
) -> None:
    log = read_log(database_url, busy_board)
    span = math.ceil((log.events[-1]["at"] - log.origin).total_seconds())
    assert span >= 3, "the board should span several 1 s buckets"
    assert {"role.expired", "role.released", "artifact.retracted", "task.completed"} <= {
        e["kind"] for e in log.events
    }
    whole = await metrics(client, busy_board)
    assert whole["events"] == len(log.events)
    assert_same(whole, log, None, None)
    for window_s in (1, 2, 7):
        assert_same(await metrics(client, busy_board, window_s=window_s), log, None, None)
    # ranges whose ends cut a second: rounded out to whole seconds, and said so
    for lo_s, hi_s, window_s in [(0.4, 2.6, 1), (1.5, span - 0.3, 2), (1.01, 1.99, 1)]:
        since = log.origin + timedelta(seconds=lo_s)
        until = log.origin + timedelta(seconds=hi_s)
        m = await metrics(
            client, busy_board, since=since.isoformat(), until=until.isoformat(), window_s=window_s
        )
        lo, hi = math.floor(lo_s), math.ceil(hi_s)
        assert (offset(log, m["since"]), offset(log, m["until"])) == (lo, hi)
        assert_same(m, log, lo, hi)


# Claims at chosen times (seconds since the board's creation): (agent, role, claimed,
# ended or None while open, how it ended). Buckets of 1 min and 1 h: claims spanning many,
# starting or ending on an edge, held for no time (at a whole second, on an edge or inside
# a bucket, or between two), twice in one bucket by the same agent, still open.
TIMED_CLAIMS = [
    (0, "planner", 30.5, 7250.2, "role.released"),
    (1, "critic", 60.0, 120.0, "role.released"),
    (1, "coder", 3600.0, 3600.0, "role.released"),
    (2, "coder", 150.0, 150.0, "role.released"),
    (3, "coder", 170.5, 170.5, "role.released"),
    (2, "critic", 3000.25, 3600.0, "role.expired"),
    (0, "planner", 200.1, 210.9, "role.released"),
    (0, "planner", 220.0, 230.0, "role.released"),
    (0, "coder", 3599.5, 3600.4, "role.released"),
    (3, "planner", 5000.7, None, None),
    (2, "planner", 6000.2, None, None),
    (3, "critic", 7100.0, 7199.9, "role.expired"),
    (1, "coder", 10799.5, 10800.5, "role.released"),
    (1, "critic", 11290.3, 11299.9, "role.released"),
]


def write_claims(url: str, board: str, agents: list[str]) -> None:
    """Append TIMED_CLAIMS' events to the board's log, in time order, as the store would
    (seqs taken from board_seqs in the same transaction)."""
    events: list[tuple[float, str, str, uuid.UUID, str]] = []
    for agent, role, claimed, ended, how in TIMED_CLAIMS:
        claim = uuid.uuid4()
        events.append((claimed, "role.claimed", agents[agent], claim, role))
        if ended is not None and how is not None:
            events.append((ended, how, agents[agent], claim, role))
    events.sort(key=lambda e: e[0])
    with psycopg.connect(url) as conn, conn.transaction():
        row = conn.execute(
            "UPDATE board_seqs SET last_seq = last_seq + %s WHERE board_id = %s"
            " RETURNING last_seq, (SELECT created_at FROM boards WHERE id = %s)",
            [len(events), board, board],
        ).fetchone()
        assert row is not None
        last, origin = row
        for seq, (at, kind, actor, claim, role) in enumerate(events, last - len(events) + 1):
            conn.execute(
                "INSERT INTO events (board_id, seq, kind, at, actor_id, subject_id, data)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    board,
                    seq,
                    kind,
                    origin + timedelta(seconds=at),
                    actor,
                    claim,
                    Jsonb({"role": role, "scope": ""}),
                ],
            )


async def test_holdings_from_buckets_equal_holdings_from_scratch(
    client: httpx.AsyncClient, actors: Actors, database_url: str
) -> None:
    board = (await actors.board())["id"]
    agents = [(await actors.agent())["id"] for _ in range(4)]
    write_claims(database_url, board, agents)
    log = read_log(database_url, board)
    # the whole board, in windows of 1 min and 1 h buckets
    for window_s in (None, 60, 600, 3600, 7200):
        params = {} if window_s is None else {"window_s": window_s}
        assert_same(await metrics(client, board, **params), log, None, None)
    # ranges of whole buckets (the last window cut to nothing), and ranges that cut them
    for lo, hi, window_s in [
        (0, 7200, 3600),
        (3600, 10800, 600),
        (120, 3660, 60),
        (7200, 14400, 3600),
        (30, 7230, 60),
        (150, 3630, 3600),
        (3599, 7201, 3600),
        (100, 400, 1),
        (3590, 3610, 7),
        (150, 150, 60),
    ]:
        since, until = (log.origin + timedelta(seconds=s) for s in (lo, hi))
        m = await metrics(
            client, board, since=since.isoformat(), until=until.isoformat(), window_s=window_s
        )
        assert_same(m, log, lo, hi)
    # and what the buckets say, spot-checked by hand: an hour's holdings of 1 min buckets
    m = await metrics(
        client,
        board,
        since=log.origin.isoformat(),
        until=(log.origin + timedelta(hours=1)).isoformat(),
        window_s=600,
    )
    first, *_, last_full, cut = m["holdings"]["windows"]
    assert first["roles"] == {
        "planner": [agents[0]],
        "critic": [agents[1]],
        "coder": [agents[3]],  # held for no time but touching a second; not agents[2]
    }
    assert set(last_full["roles"]) == {"planner", "critic", "coder"}
    assert cut["roles"] == {}  # [3600, 3600): nothing, though claims go on past it


async def reset(url: str, board: str) -> None:
    """Throw the board's roll-ups away (under its watermark lock), back to watermark 0."""
    async with await psycopg.AsyncConnection.connect(url) as conn, conn.transaction():
        await conn.execute("SELECT 1 FROM rollup_marks WHERE board_id = %s FOR UPDATE", [board])
        for table in rollups.TABLES[:-1]:
            await conn.execute(f"DELETE FROM {table} WHERE board_id = %s", [board])
        await conn.execute(
            "UPDATE rollup_marks SET last_seq = 0, duplicate_versions = 0 WHERE board_id = %s",
            [board],
        )


async def test_a_roll_up_killed_midway_resumes_without_double_counting(
    client: httpx.AsyncClient, busy_board: str, database_url: str
) -> None:
    log = read_log(database_url, busy_board)
    await reset(database_url, busy_board)
    # a pass that has summed half the statements of its batch when its connection dies
    conn = await psycopg.AsyncConnection.connect(database_url)
    await conn.execute("BEGIN")
    cur = await conn.execute(
        "SELECT origin FROM rollup_marks WHERE board_id = %s FOR UPDATE", [busy_board]
    )
    origin = (await cur.fetchone() or [None])[0]
    args = rollups.batch_args(busy_board, origin, 0, len(log.events))  # type: ignore[arg-type]
    for statement in rollups.STATEMENTS[:6]:
        await conn.execute(statement, args)
    with psycopg.connect(database_url, autocommit=True) as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid])
    with pytest.raises(psycopg.OperationalError):
        await conn.execute("SELECT 1")
    await conn.close()
    assert_same(await metrics(client, busy_board), log, None, None)


async def test_two_rolling_up_at_once_count_each_event_once(
    client: httpx.AsyncClient, busy_board: str, database_url: str
) -> None:
    await reset(database_url, busy_board)
    passes: list[int] = []

    async def roll(wait: bool) -> None:
        # a process of its own: its own pool, its own connections
        db = Database(database_url, pool_size=2)
        await db.open()
        try:
            while True:
                async with db.transaction() as conn:
                    done = await rollups.roll_up_batch(
                        conn, board_id=busy_board, wait=wait, batch=7
                    )
                if done is None:
                    await asyncio.sleep(0)
                    continue
                passes.append(done[0])
                if done[1] == 0:
                    return
        finally:
            await db.close()

    # with the app's own background pass as a fourth
    await asyncio.gather(roll(True), roll(False), roll(True))
    log = read_log(database_url, busy_board)
    assert 0 < sum(passes) <= len(log.events)
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT sum(events) FROM rollup_activity WHERE board_id = %s AND size = 1", [busy_board]
        ).fetchone()
    assert row is not None and row[0] == len(log.events)
    assert_same(await metrics(client, busy_board), log, None, None)


async def test_a_run_reports_who_held_which_role_while_it_ran(
    client: httpx.AsyncClient,
    run: dict[str, Any],
) -> None:
    r = await client.get(f"/v1/runs/{run['run']['id']}/metrics", headers=ADMIN)
    assert r.status_code == 200, r.text
    holdings = r.json()["holdings"]
    ann, bob = run["ann"]["id"], run["bob"]["id"]
    held: dict[str, set[str]] = {}
    for window in holdings["windows"]:
        for role, agents in window["roles"].items():
            held.setdefault(role, set()).update(agents)
    # every completed turn claimed its role: ann planner then critic, bob critic twice
    assert held == {"planner": {ann}, "critic": {ann, bob}}
    assert max(w["distinct_roles"] for w in holdings["windows"]) == 2
