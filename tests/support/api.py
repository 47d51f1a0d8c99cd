"""Acting on the API as the operator and as agents, and counting what was written."""

import itertools
from typing import Any

import httpx
import psycopg

ADMIN_TOKEN = "bbadmin_test-token"


ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


_counter = itertools.count()


class Actors:
    """Shortcuts to create agents and boards through the API."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def agent(
        self, name: str | None = None, capabilities: list[str] | None = None
    ) -> dict[str, Any]:
        """Register an agent; return its record plus `headers` for acting as it."""
        r = await self.client.post(
            "/v1/agents",
            json={"name": name or f"agent-{next(_counter)}", "capabilities": capabilities or []},
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text
        agent: dict[str, Any] = r.json()
        agent["headers"] = {"Authorization": f"Bearer {agent['token']}"}
        return agent

    async def board(self, name: str | None = None) -> dict[str, Any]:
        """Create a board; return its record."""
        r = await self.client.post(
            "/v1/boards", json={"name": name or f"board-{next(_counter)}"}, headers=ADMIN
        )
        assert r.status_code == 201, r.text
        board: dict[str, Any] = r.json()
        return board


def count_rows(db: psycopg.Connection[Any], table: str) -> int:
    """Return how many rows `table` holds."""
    row = db.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])
