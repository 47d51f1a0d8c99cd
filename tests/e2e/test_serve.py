"""`blackboard serve` as a real process: embedded PostgreSQL, stop, restart, data still there."""

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.support.api import ADMIN, ADMIN_TOKEN
from tests.support.processes import Server
from tests.support.servers import SSE, free_port

pytestmark = pytest.mark.e2e


def test_serve_keeps_data_across_restarts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    server = Server(data_dir, port)
    try:
        output = server.log.read_text()
        token = (data_dir / "admin_token").read_text().strip()
        assert token in output, "serve must print the admin token"
        assert str(data_dir / "pgdata") in output, "serve must say where the data lives"
        assert f"http://127.0.0.1:{port}" in output
        admin = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, timeout=10) as c:
            agent = c.post("/v1/agents", json={"name": "e2e"}, headers=admin).json()
            board = c.post("/v1/boards", json={"name": "e2e"}, headers=admin).json()
            published = c.post(
                f"/v1/boards/{board['id']}/artifacts",
                json={"type": "goal", "key": "goal", "body": {"title": "survive restarts"}},
                headers={"Authorization": f"Bearer {agent['token']}"},
            )
            assert published.status_code == 201, published.text
    finally:
        assert server.stop() == 0
    # PostgreSQL was stopped with the service, not left running
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()

    server = Server(data_dir, port)
    try:
        with httpx.Client(base_url=server.url, timeout=10) as c:
            r = c.get(f"/v1/boards/{board['id']}/keys/goal/history", headers=admin)
            assert r.status_code == 200
            assert [a["id"] for a in r.json()["items"]] == [published.json()["id"]]
            me = c.get("/v1/agents/me", headers={"Authorization": f"Bearer {agent['token']}"})
            assert me.status_code == 200 and me.json()["id"] == agent["id"]
    finally:
        assert server.stop() == 0


async def test_two_processes_on_one_database_behave_as_one_service(
    tmp_path: Path, database_url: str
) -> None:
    shared = {
        "database_url": database_url,
        "admin_token": ADMIN_TOKEN,
        "auto_migrate": "false",
        "fallback_poll_s": "30",  # so that B hears of A's writes by NOTIFY, not by polling
    }
    a = Server(tmp_path / "a", free_port(), **shared)
    b = Server(tmp_path / "b", free_port(), **shared)
    try:
        async with (
            httpx.AsyncClient(base_url=a.url, timeout=30) as on_a,
            httpx.AsyncClient(base_url=b.url, timeout=30) as on_b,
        ):
            agent = (await on_a.post("/v1/agents", json={"name": "two"}, headers=ADMIN)).json()
            board = (await on_b.post("/v1/boards", json={"name": "two"}, headers=ADMIN)).json()
            async with on_b.stream(
                "GET",
                f"/v1/boards/{board['id']}/events/stream",
                params={"after": 1},
                headers=ADMIN,
            ) as stream:
                published = []
                for i in range(5):
                    r = await on_a.post(
                        f"/v1/boards/{board['id']}/artifacts",
                        json={"type": "finding", "body": {"claim": f"from A {i}"}},
                        headers={"Authorization": f"Bearer {agent['token']}"},
                    )
                    assert r.status_code == 201
                    published.append(r.json()["seq"])
                got = await asyncio.wait_for(SSE(stream).read(5), 10)
        assert [int(e["id"]) for e in got] == published
    finally:
        assert a.stop() == 0
        assert b.stop() == 0
