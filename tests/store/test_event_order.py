"""The event log's ordering guarantee, shown with raw concurrent transactions.

A reader paging with after=<seq> must never miss an event. That needs: an event with a
higher seq never becomes visible before one with a lower seq. Our writers take seqs on
the board's counter row, so the second writer cannot even get its seq until the first commits.
"""

import threading
import time
from typing import Any
from uuid import uuid4

import psycopg

APPEND = """
WITH reserved AS (
    UPDATE board_seqs SET last_seq = last_seq + 1 WHERE board_id = %s RETURNING last_seq
)
INSERT INTO events (board_id, seq, kind) SELECT %s, last_seq, 'test' FROM reserved RETURNING seq
"""


def visible_seqs(url: str, board_id: Any) -> list[int]:
    with psycopg.connect(url) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT seq FROM events WHERE board_id = %s ORDER BY seq", (board_id,)
            )
        ]


def test_a_later_seq_cannot_commit_before_an_earlier_one(database_url: str) -> None:
    board_id = uuid4()
    with psycopg.connect(database_url, autocommit=True) as setup:
        setup.execute("INSERT INTO boards (id, name) VALUES (%s, 'order')", (board_id,))
        setup.execute("INSERT INTO board_seqs (board_id) VALUES (%s)", (board_id,))

    first = psycopg.connect(database_url)
    row = first.execute(APPEND, (board_id, board_id)).fetchone()
    assert row == (1,)

    second_result: list[int] = []

    def second_writer() -> None:
        with psycopg.connect(database_url) as conn:
            r = conn.execute(APPEND, (board_id, board_id)).fetchone()
            assert r is not None
            second_result.append(r[0])
            conn.commit()

    t = threading.Thread(target=second_writer)
    t.start()
    time.sleep(0.3)
    # The second writer is still waiting for the first's seq to be committed: a reader sees
    # neither event, so it cannot skip over seq 1.
    assert second_result == []
    assert visible_seqs(database_url, board_id) == []
    first.commit()
    t.join(timeout=5)
    assert second_result == [2]
    assert visible_seqs(database_url, board_id) == [1, 2]
    first.close()
