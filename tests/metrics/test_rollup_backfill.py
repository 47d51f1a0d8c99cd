"""The roll-up migrations back-fill boards that existed before them, batch by batch."""

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest

from blackboard.store import migrate, rollups
from tests.support.databases import create_database, drop_database

EVENTS = 4 * rollups.BATCH + 123  # several batches, the last one short


@pytest.fixture
def empty_database(server_url: str) -> Iterator[str]:
    url = create_database(server_url)
    yield url
    drop_database(server_url, url)


def old_board(url: str) -> UUID:
    """Migrate the database to head and create a board on it; return the board's id."""
    migrate.upgrade(url)
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO boards (id, name) VALUES (gen_random_uuid(), 'old') RETURNING id"
        ).fetchone()
    assert row is not None
    board: UUID = row[0]
    return board


def test_the_migration_back_fills_existing_boards_in_batches(
    empty_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    board = old_board(empty_database)
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute("INSERT INTO board_seqs (board_id, last_seq) VALUES (%s, %s)", [board, EVENTS])
        # a history: every other event an artifact version, saying "word<g mod 7> shared"
        conn.execute(
            """WITH g AS (SELECT g, now() + g * interval '10 ms' AS at
                          FROM generate_series(1, %(n)s) AS g)
               , a AS (
                   INSERT INTO artifacts (id, board_id, type, type_version, key, version, body,
                                          author_id, seq, content_hash, created_at)
                   SELECT gen_random_uuid(), %(b)s, 'finding', 1, 'k' || g, 1,
                          jsonb_build_object('claim', 'word' || g %% 7 || ' shared'),
                          gen_random_uuid(), g, md5(g::text), at
                   FROM g WHERE g %% 2 = 0)
               INSERT INTO events (board_id, seq, kind, at, actor_id)
               SELECT %(b)s, g, CASE WHEN g %% 2 = 0 THEN 'artifact.published'
                                     ELSE 'agent.abstained' END, at, gen_random_uuid()
               FROM g""",
            {"n": EVENTS, "b": board},
        )
    # back to before the roll-ups, then up again: the board is summed on the way
    migrate.downgrade(empty_database, "0017-1")  # the revision before the roll-ups
    with caplog.at_level(logging.INFO, logger="alembic.runtime.migration"):
        migrate.upgrade(empty_database)
    progress = [r.getMessage() for r in caplog.records if "roll-up back-fill" in r.getMessage()]
    assert len(progress) >= 5, progress
    assert progress[-1] == f"roll-up back-fill: 1 boards, {EVENTS} events"
    with psycopg.connect(empty_database) as conn:
        (mark,) = conn.execute("SELECT last_seq FROM rollup_marks").fetchone()  # type: ignore[misc]
        (events,) = conn.execute(
            "SELECT sum(events) FROM rollup_activity WHERE size = 1"
        ).fetchone()  # type: ignore[misc]
        (abstained,) = conn.execute(
            "SELECT sum(n) FROM rollup_ledger WHERE size = 60 AND kind = 'agent.abstained'"
        ).fetchone()  # type: ignore[misc]
        tokens = dict(
            conn.execute("SELECT token, sum(n) FROM rollup_tokens WHERE size = 3600 GROUP BY 1")
        )
    assert (mark, events, abstained) == (EVENTS, EVENTS, (EVENTS + 1) // 2)
    versions = EVENTS // 2
    assert tokens["shared"] == versions
    assert sum(tokens.values()) == 2 * versions


CLAIMS = 4 * rollups.BATCH + 200  # several batches of ended claims, the last one short

# Role claims, one every 1.7 s, by 17 agents: a few left open, some held for no time (at
# a whole second), some ending on a minute's edge, some held for two hours, the rest for
# up to 2 minutes; released or expired. Seqs in time order, as the log has them.
_CLAIMS = """
WITH c AS (
    SELECT i, md5('agent' || i %% 17)::uuid AS agent, md5('claim' || i)::uuid AS claim,
           (ARRAY['planner', 'critic', 'coder'])[1 + i %% 3] AS role, i * 1.7 AS claimed,
           CASE WHEN i %% 997 = 0 THEN NULL
                WHEN i %% 10 = 0 THEN i * 1.7
                WHEN i %% 7 = 0 THEN ceil(i * 1.7 / 60 + 1) * 60
                WHEN i %% 1000 = 1 THEN i * 1.7 + 7200.3
                ELSE i * 1.7 + (i %% 13) * 9.1 END AS ended
    FROM generate_series(1, %(n)s) AS i
), e AS (
    SELECT claimed AS s, 'role.claimed' AS kind, 0 AS nth, c.* FROM c
    UNION ALL
    SELECT ended, CASE WHEN i %% 2 = 0 THEN 'role.released' ELSE 'role.expired' END, 1, c.*
    FROM c WHERE ended IS NOT NULL
), logged AS (
    INSERT INTO events (board_id, seq, kind, at, actor_id, subject_id, data)
    SELECT %(b)s, row_number() OVER (ORDER BY s, nth, i), kind,
           (SELECT created_at FROM boards WHERE id = %(b)s) + s * interval '1 second',
           agent, claim, jsonb_build_object('role', role, 'scope', '')
    FROM e
    RETURNING seq
)
INSERT INTO board_seqs (board_id, last_seq) SELECT %(b)s, count(*) FROM logged
"""


def held_from_scratch(conn: psycopg.Connection[Any], board: UUID) -> set[tuple[Any, ...]]:
    """Every (size, bucket, role, agent) an ended claim of the board's log was held in:
    over the whole seconds from its claim to its end, if any."""
    row = conn.execute("SELECT created_at FROM boards WHERE id = %s", [board]).fetchone()
    assert row is not None
    origin = row[0]
    second = timedelta(seconds=1)
    claims: dict[UUID, tuple[str, UUID, int]] = {}
    held = set()
    for kind, at, agent, claim, data in conn.execute(
        "SELECT kind, at, actor_id, subject_id, data FROM events WHERE board_id = %s ORDER BY seq",
        [board],
    ):
        if kind == "role.claimed":
            claims[claim] = (data["role"], agent, (at - origin) // second)
        elif kind in ("role.released", "role.expired"):
            role, agent, begin = claims[claim]
            end = -((origin - at) // second)
            for size in (60, 3600):
                buckets = range(begin // size, -(-end // size)) if end > begin else range(0)
                held |= {(size, b, role, agent) for b in buckets}
    return held


def test_the_held_migration_back_fills_ended_claims_in_batches(
    empty_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    board = old_board(empty_database)
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute(_CLAIMS, {"n": CLAIMS, "b": board})
    # the board as a service before rollup_held left it: back to before the roll-ups, and
    # up to 0018, whose back-fill sums the log as that service did
    migrate.downgrade(empty_database, "0017-1")
    migrate.upgrade(empty_database, "0018")
    with psycopg.connect(empty_database) as conn:
        (ended,) = conn.execute(
            "SELECT count(*) FROM rollup_holdings WHERE held_until IS NOT NULL"
        ).fetchone()  # type: ignore[misc]
        assert conn.execute("SELECT to_regclass('rollup_held')").fetchone() == (None,)
    assert ended == CLAIMS - CLAIMS // 997
    with caplog.at_level(logging.INFO, logger="alembic.runtime.migration"):
        migrate.upgrade(empty_database)
    progress = [r.getMessage() for r in caplog.records if "held back-fill" in r.getMessage()]
    assert len(progress) >= 5, progress
    assert progress[-1] == f"held back-fill: {ended} ended claims"
    with psycopg.connect(empty_database) as conn:
        rows = set(conn.execute("SELECT size, bucket, role, agent_id FROM rollup_held"))
        want = held_from_scratch(conn, board)
    assert {s for s, *_ in want} == {60, 3600}
    assert rows == want
