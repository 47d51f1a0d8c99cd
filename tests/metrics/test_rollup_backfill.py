"""The roll-up migration back-fills boards that existed before it, batch by batch."""

import logging
from collections.abc import Iterator

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


def test_the_migration_back_fills_existing_boards_in_batches(
    empty_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    migrate.upgrade(empty_database)
    with psycopg.connect(empty_database, autocommit=True) as conn:
        board = conn.execute(
            "INSERT INTO boards (id, name) VALUES (gen_random_uuid(), 'old') RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
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
    progress = [r.getMessage() for r in caplog.records if "back-fill" in r.getMessage()]
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
