"""`blackboard serve` killed with SIGKILL under load: nothing acknowledged is lost, seqs
stay gap-free, and once restarted and stopped cleanly no PostgreSQL is left running."""

import asyncio
import os
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.support.processes import Server
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e

PUBLISHERS = 16


def postgres_processes(pgdata: Path) -> list[psutil.Process]:
    """Every PostgreSQL process (postmaster and backends) serving `pgdata`."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.cwd() == str(pgdata) and process.name() == "postgres":
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def all_items(client: httpx.Client, path: str, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        page = client.get(path, params={"after": after, "limit": limit}).json()
        items += page["items"]
        if not page["items"]:
            return items
        after = page["next_after"]


def test_kill_9_under_load_loses_nothing_and_leaves_no_postgres(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    pgdata = (data_dir / "pgdata").resolve()
    port = free_port()
    server = Server(data_dir, port)
    token = (data_dir / "admin_token").read_text().strip()
    admin = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, timeout=10) as c:
        agent = c.post("/v1/agents", json={"name": "crash"}, headers=admin).json()
        board = c.post("/v1/boards", json={"name": "crash"}, headers=admin).json()["id"]
    who = {"Authorization": f"Bearer {agent['token']}"}
    acknowledged: list[str] = []

    async def publish(client: httpx.AsyncClient, n: int) -> None:
        for i in range(100_000):
            try:
                r = await client.post(
                    f"/v1/boards/{board}/artifacts",
                    json={"type": "finding", "key": f"p{n}-{i}", "body": {"claim": "x"}},
                    headers=who,
                )
            except httpx.TransportError:
                return  # the server is gone
            assert r.status_code == 201, r.text
            acknowledged.append(r.json()["id"])

    async def load_then_kill() -> None:
        limits = httpx.Limits(max_connections=PUBLISHERS)
        async with httpx.AsyncClient(base_url=server.url, timeout=10, limits=limits) as c:
            publishers = [asyncio.create_task(publish(c, n)) for n in range(PUBLISHERS)]
            await asyncio.sleep(2.0)
            server.process.kill()
            await asyncio.gather(*publishers)

    asyncio.run(load_then_kill())
    server.process.wait()
    assert len(acknowledged) > PUBLISHERS, "the load did not get going"

    server = Server(data_dir, port)  # the old server stopped by its keeper, or adopted
    try:
        with httpx.Client(base_url=server.url, headers=admin, timeout=30) as c:
            stored = {a["id"] for a in all_items(c, f"/v1/boards/{board}/artifacts", 500)}
            events = all_items(c, f"/v1/boards/{board}/events", 1000)
        assert set(acknowledged) <= stored
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(1, len(seqs) + 1))
    finally:
        assert server.stop() == 0
    assert not (pgdata / "postmaster.pid").exists()
    assert postgres_processes(pgdata) == []
    assert not (data_dir / "postgres.owner").exists()
    assert os.listdir(data_dir)  # the data itself stays
