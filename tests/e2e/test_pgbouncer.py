"""The service behind PgBouncer in transaction pooling mode (BLACKBOARD_POOLER=transaction),
with its LISTEN connection straight to PostgreSQL (BLACKBOARD_LISTEN_DATABASE_URL).

Debian's `pgbouncer` and `postgresql` packages, as `.ci/run` installs them; skipped with
the reason where they are not installed.
"""

import asyncio
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.support.api import ADMIN, ADMIN_TOKEN
from tests.support.processes import Server
from tests.support.servers import SSE, free_port

pytestmark = pytest.mark.e2e

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
POSTGRES_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
USER = "postgres"  # both refuse to run as root; Debian's packages create this user


def _missing() -> str | None:
    if not os.path.exists(PGBOUNCER) or not POSTGRES_BINS:
        return (
            "needs Debian's pgbouncer and postgresql packages "
            "(apt-get install pgbouncer postgresql, as .ci/run does)"
        )
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "needs runuser to start PostgreSQL and PgBouncer as the postgres user"
    return None


def as_postgres(*args: str) -> list[str]:
    return ["runuser", "-u", USER, "--", *args] if os.geteuid() == 0 else list(args)


@pytest.fixture
def pooled() -> Iterator[tuple[str, str]]:
    """(URL through PgBouncer in transaction mode, URL straight to PostgreSQL)."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    bin_dir = Path(POSTGRES_BINS[-1])
    with tempfile.TemporaryDirectory(prefix="bb-pgb-") as tmp:
        root = Path(tmp)
        if os.geteuid() == 0:
            shutil.chown(root, USER)
        pg_port, bouncer_port = free_port(), free_port()
        data = root / "data"
        subprocess.run(
            as_postgres(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", USER),
            check=True,
            capture_output=True,
        )
        options = f"-p {pg_port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        pg_ctl = as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l")
        subprocess.run(
            [*pg_ctl, str(root / "pg.log"), "-o", options, "start"], check=True, capture_output=True
        )
        bouncer = None
        try:
            direct = f"postgresql://{USER}@127.0.0.1:{pg_port}/blackboard"
            with psycopg.connect(direct.replace("/blackboard", "/postgres"), autocommit=True) as c:
                c.execute("CREATE DATABASE blackboard")
                # no session may set it (a transaction pooler would lose it): the database does
                c.execute("ALTER DATABASE blackboard SET timezone = 'UTC'")
            ini = root / "pgbouncer.ini"
            (root / "users.txt").write_text(f'"{USER}" ""\n')
            ini.write_text(
                f"[databases]\nblackboard = host=127.0.0.1 port={pg_port} dbname=blackboard\n"
                f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {bouncer_port}\n"
                f"unix_socket_dir =\nauth_type = trust\nauth_file = {root / 'users.txt'}\n"
                "pool_mode = transaction\ndefault_pool_size = 10\nmax_client_conn = 500\n"
                f"logfile = {root / 'pgbouncer.log'}\n"
            )
            if os.geteuid() == 0:
                for path in (ini, root / "users.txt"):
                    shutil.chown(path, USER)
            bouncer = subprocess.Popen(as_postgres(PGBOUNCER, str(ini)))
            through = f"postgresql://{USER}@127.0.0.1:{bouncer_port}/blackboard"
            deadline = time.monotonic() + 20
            while True:
                try:
                    psycopg.connect(through, connect_timeout=2).close()
                    break
                except psycopg.OperationalError:
                    assert bouncer.poll() is None and time.monotonic() < deadline, "no PgBouncer"
                    time.sleep(0.1)
            yield through, direct
        finally:
            if bouncer is not None:
                bouncer.terminate()
                bouncer.wait(timeout=10)
            subprocess.run([*pg_ctl, str(root / "pg.log"), "-m", "fast", "stop"], check=False)


async def test_the_smoke_set_passes_through_pgbouncer_in_transaction_mode(
    tmp_path: Path, pooled: tuple[str, str]
) -> None:
    through, direct = pooled
    server = Server(
        tmp_path / "data",
        free_port(),
        database_url=through,
        listen_database_url=direct,
        pooler="transaction",
        admin_token=ADMIN_TOKEN,
        pool_size="20",
    )
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
            agent = (
                await c.post(
                    "/v1/agents", json={"name": "pooled", "capabilities": ["x"]}, headers=ADMIN
                )
            ).json()
            who = {"Authorization": f"Bearer {agent['token']}"}
            board = (await c.post("/v1/boards", json={"name": "pooled"}, headers=ADMIN)).json()
            events = f"/v1/boards/{board['id']}/events"
            before = (await c.get(events, headers=ADMIN)).json()["next_after"]
            stream_url = f"{events}/stream?after={before}"
            async with c.stream("GET", stream_url, headers=ADMIN) as stream:

                async def publish(i: int) -> int:
                    r = await c.post(
                        f"/v1/boards/{board['id']}/artifacts",
                        json={"type": "finding", "key": f"k{i % 5}", "body": {"claim": str(i)}},
                        headers=who,
                    )
                    assert r.status_code == 201, r.text
                    return int(r.json()["seq"])

                # more statements than psycopg's prepare threshold, over many server
                # connections: any prepared statement would collide
                seqs = sorted(await asyncio.gather(*(publish(i) for i in range(60))))
                got = await asyncio.wait_for(SSE(stream).read(60), 20)  # LISTEN, direct
            assert [int(e["id"]) for e in got] == seqs == list(range(before + 1, before + 61))
            page = await c.get(events, params={"after": before + 50, "wait": 1}, headers=ADMIN)
            assert [e["seq"] for e in page.json()["items"]] == seqs[50:]
            claim = await c.post(
                f"/v1/boards/{board['id']}/claims", json={"role": "critic"}, headers=who
            )
            assert claim.status_code == 201, claim.text
            task = await c.post(f"/v1/boards/{board['id']}/tasks", json={"title": "t"}, headers=who)
            assert task.status_code == 201, task.text
            got_task = await c.post(f"/v1/boards/{board['id']}/tasks/claim", json={}, headers=who)
            assert got_task.status_code == 200, got_task.text
            metrics = await c.get(f"/v1/boards/{board['id']}/metrics", headers=ADMIN)
            assert metrics.status_code == 200, metrics.text
            # UTC from the database's own setting, not from a session SET
            again = (await c.get(f"/v1/boards/{board['id']}", headers=ADMIN)).json()
            assert again["created_at"].endswith("Z"), again
            assert (await c.get("/healthz")).status_code == 200
    finally:
        assert server.stop() == 0
