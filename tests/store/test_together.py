"""Statements run `together`: one transaction, in one round trip, all or nothing."""

import psycopg
import pytest
from psycopg.rows import dict_row

from blackboard.store.database import Statement, together

INSERT = "INSERT INTO t VALUES (%(x)s) RETURNING x, pg_current_xact_id()::text AS xid"


async def test_statements_run_together_commit_as_one_transaction_or_not_at_all(
    database_url: str,
) -> None:
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, row_factory=dict_row
    ) as conn:
        await conn.execute("CREATE TABLE t (x int NOT NULL)")
        first, second = await together(
            conn, [Statement(INSERT, {"x": 1}), Statement(INSERT, {"x": 2})]
        )
        assert [first[0]["x"], second[0]["x"]] == [1, 2]
        assert first[0]["xid"] == second[0]["xid"]

        with pytest.raises(psycopg.errors.NotNullViolation):
            await together(conn, [Statement(INSERT, {"x": 3}), Statement(INSERT, {"x": None})])
        cur = await conn.execute("SELECT array_agg(x ORDER BY x) AS xs FROM t")
        assert await cur.fetchone() == {"xs": [1, 2]}  # 3 went with the failed one
        # and the connection is ready for more
        (only,) = await together(conn, [Statement(INSERT, {"x": 4})])
        assert only[0]["x"] == 4
