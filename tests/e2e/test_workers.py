"""`blackboard serve --workers N`: every worker listens on a socket of its own (SO_REUSEPORT),
so connections spread over all of them; a worker that dies is replaced."""

import asyncio
import os
import signal
import socket
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.support.api import ADMIN
from tests.support.processes import Server, connections_by_worker, two_workers, workers_of
from tests.support.servers import free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not sys.platform.startswith("linux") or not hasattr(socket, "SO_REUSEPORT"),
        reason="reads connections from /proc; SO_REUSEPORT as Linux has it",
    ),
]


async def connect_at_once(server: Server, port: int, count: int) -> Counter[int]:
    """Open `count` connections at the same moment, each with a request answered; return
    how many each worker holds."""
    clients = [httpx.AsyncClient(base_url=server.url, timeout=10) for _ in range(count)]
    try:
        answers = await asyncio.gather(*(c.get("/v1/boards", headers=ADMIN) for c in clients))
        assert all(r.status_code == 200 for r in answers)
        return connections_by_worker(server, port)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


def test_connections_spread_over_every_worker_and_a_dead_worker_is_replaced(
    tmp_path: Path, database_url: str
) -> None:
    port = free_port()
    server = two_workers(tmp_path, port, database_url)
    try:
        workers = workers_of(server)
        assert len(workers) == 2
        # 32 agents connecting at once: with one shared socket, the first worker to wake
        # often accepted all of them
        held = asyncio.run(connect_at_once(server, port, 32))
        assert sum(held.values()) == 32
        assert set(held) == set(workers), f"connections per worker: {dict(held)}"

        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = workers_of(server)
            if len(now) == 2 and workers[0] not in now:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the dead worker was not replaced:\n" + server.log.read_text())
        for _ in range(10):  # whichever socket a new connection hashes to answers
            with httpx.Client(base_url=server.url, timeout=10) as c:
                assert c.get("/healthz").status_code == 200
    finally:
        assert server.stop() == 0
    assert workers_of(server) == []


def test_serve_fails_at_once_when_the_port_is_taken(tmp_path: Path, database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(AssertionError, match="Address already in use"):
            two_workers(tmp_path, port, database_url)
