"""PostgreSQL killed under load: 503 DatabaseUnavailable within 2 s (never 500), /healthz
503 within 2 s, streams that end cleanly or carry on, and recovery once it is back."""

import asyncio
import contextlib
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from prometheus_client import REGISTRY

from blackboard.config import Settings
from blackboard.store import migrate
from blackboard.store.embedded import EmbeddedPostgres
from tests.support.api import ADMIN, ADMIN_TOKEN
from tests.support.servers import SSE, serve_app

PUBLISHERS = 16
FINDING = {"type": "finding", "body": {"claim": "x"}}


@pytest.fixture
def private_postgres() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of this test's own, to kill (the shared one serves other tests)."""
    with tempfile.TemporaryDirectory(prefix="bb-test-") as tmp:  # one its user may enter
        pg = EmbeddedPostgres(Path(tmp) / "pgdata")
        migrate.upgrade(pg.start())
        yield pg
        pg.stop()


def kill_postmaster(pgdata: Path) -> None:
    pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)


def wait_for_backends_to_exit(pgdata: Path, deadline_s: float = 20) -> None:
    """Backends notice their postmaster's death by themselves; a new server cannot start
    while they still hold the old one's shared memory."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        busy = [
            p
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and _cmdline(p).startswith("postgres:") and _in(p, pgdata)
        ]
        if not busy:
            return
        time.sleep(0.1)


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _in(proc: Path, pgdata: Path) -> bool:
    try:
        return os.readlink(proc / "cwd") == str(pgdata)
    except OSError:
        return False


def outages() -> float:
    return REGISTRY.get_sample_value("blackboard_database_outages_total") or 0.0


async def test_the_database_killed_under_load_is_503_then_recovery(
    private_postgres: EmbeddedPostgres, tmp_path: Path
) -> None:
    url = private_postgres.url("blackboard")
    settings = Settings(database_url=url, admin_token=ADMIN_TOKEN, data_dir=tmp_path, pool_size=20)
    outages_before = outages()
    async with (
        serve_app(settings) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as client,
    ):
        agent = (await client.post("/v1/agents", json={"name": "a"}, headers=ADMIN)).json()
        board = (await client.post("/v1/boards", json={"name": "b"}, headers=ADMIN)).json()["id"]
        who = {"Authorization": f"Bearer {agent['token']}"}
        answers: list[tuple[float, float, int, dict[str, Any], dict[str, str]]] = []
        stop = asyncio.Event()

        async def publish() -> None:
            while not stop.is_set():
                began = time.monotonic()
                r = await client.post(f"/v1/boards/{board}/artifacts", json=FINDING, headers=who)
                answers.append((began, time.monotonic(), r.status_code, r.json(), r.headers))
                if r.status_code == 503:
                    await asyncio.sleep(0.05)

        streamed: list[dict[str, str]] = []

        async def follow() -> None:
            async with client.stream(
                "GET", f"/v1/boards/{board}/events/stream", headers=ADMIN, timeout=None
            ) as response:
                sse = SSE(response)
                while batch := await sse.read(1):
                    streamed.extend(batch)

        stream = asyncio.create_task(follow())
        publishers = [asyncio.create_task(publish()) for _ in range(PUBLISHERS)]
        await asyncio.sleep(1.0)
        killed = time.monotonic()
        kill_postmaster(private_postgres.pgdata)
        await asyncio.sleep(3.0)

        health_began = time.monotonic()
        health = await client.get("/healthz")
        assert time.monotonic() - health_began < 2.0
        assert health.status_code == 503 and health.json()["error"] == "DatabaseUnavailable"

        await asyncio.to_thread(wait_for_backends_to_exit, private_postgres.pgdata)
        private_postgres.stop()  # forget the dead server
        await asyncio.to_thread(private_postgres.start)
        back = time.monotonic() + 30
        while (await client.get("/healthz")).status_code != 200:
            assert time.monotonic() < back, "never healthy again"
            await asyncio.sleep(0.2)
        recovered = time.monotonic()
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*publishers)

        statuses = {status for *_, status, _, _ in answers}
        assert statuses <= {201, 503}, statuses
        down = [a for a in answers if a[2] == 503]
        assert down, "no request saw the outage"
        for _, _, _, body, headers in down:
            assert body["error"] == "DatabaseUnavailable" and headers["retry-after"]
        # every request sent while the database was away was answered within 2 s
        during = [a for a in answers if killed < a[0] and a[1] < recovered - 2]
        assert during and max(end - began for began, end, *_ in during) < 2.0
        assert any(a[2] == 201 and a[0] > recovered for a in answers), "no publish after"
        assert outages() >= outages_before + 1

        acknowledged = {body["id"] for _, _, status, body, _ in answers if status == 201}
        with psycopg.connect(private_postgres.url("blackboard")) as db:
            stored = {str(r[0]) for r in db.execute("SELECT id FROM artifacts").fetchall()}
            seqs = [r[0] for r in db.execute("SELECT seq FROM events ORDER BY seq").fetchall()]
        assert acknowledged <= stored
        assert seqs == list(range(1, len(seqs) + 1))

        # The stream ended cleanly (or carried on); resumed from its last id, it has every
        # event once.
        stream.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stream  # re-raises whatever broke it, if it did not end cleanly
        last = int(streamed[-1]["id"]) if streamed else 0
        async with client.stream(
            "GET",
            f"/v1/boards/{board}/events/stream",
            headers={**ADMIN, "Last-Event-ID": str(last)},
        ) as response:
            rest = await SSE(response).read(len(seqs) - last)
        ids = [int(e["id"]) for e in streamed + rest]
        assert ids == seqs
