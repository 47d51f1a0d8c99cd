"""One owner per embedded PostgreSQL: others share it, a crashed owner's server is
stopped by its keeper or adopted by the next start, and nothing is left running."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from blackboard.store.embedded import EmbeddedPostgres

OWNER = """
import sys
from pathlib import Path
from blackboard.store.embedded import EmbeddedPostgres
pg = EmbeddedPostgres(Path(sys.argv[1]))
pg.start()
print("ready", flush=True)
sys.stdin.read()
pg.stop()
"""


@pytest.fixture
def pgdata() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bb-test-") as tmp:  # one postgres may enter
        yield Path(tmp) / "pgdata"


def start_owner(pgdata: Path) -> subprocess.Popen[str]:
    """Another process that starts (and owns) the server in `pgdata`."""
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(pgdata)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert owner.stdout is not None and owner.stdout.readline() == "ready\n"
    return owner


def postmaster(pgdata: Path) -> int | None:
    """The pid of the server running in `pgdata`, if one is."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" else None


def wait_until_stopped(pgdata: Path, deadline_s: float = 20) -> None:
    end = time.monotonic() + deadline_s
    while postmaster(pgdata) is not None:
        assert time.monotonic() < end, "PostgreSQL is still running"
        time.sleep(0.1)


def answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


def test_a_second_process_shares_the_server_and_leaves_it_to_its_owner(pgdata: Path) -> None:
    owner = start_owner(pgdata)
    try:
        second = EmbeddedPostgres(pgdata)
        url = second.start()
        assert not second.owned and second.shared_with == owner.pid
        assert f"process {owner.pid} owns" in second.describe()
        second.stop()
        assert answers(url), "a sharing process must not stop its owner's server"
        assert (pgdata.parent / "postgres.owner").read_text().split() == [str(owner.pid)]
    finally:
        owner.communicate("", timeout=60)  # end of input: the owner stops, cleanly
    assert owner.returncode == 0
    wait_until_stopped(pgdata, deadline_s=1)
    assert not (pgdata.parent / "postgres.owner").exists()


def test_the_keeper_stops_the_server_of_a_killed_owner(pgdata: Path) -> None:
    owner = start_owner(pgdata)
    assert postmaster(pgdata) is not None
    owner.kill()
    owner.wait()
    wait_until_stopped(pgdata)


def test_the_next_start_adopts_a_server_whose_owner_and_keeper_died(pgdata: Path) -> None:
    owner = start_owner(pgdata)
    keeper = [p for p in psutil.Process(owner.pid).children() if "keeper" in " ".join(p.cmdline())]
    assert len(keeper) == 1
    keeper[0].kill()
    owner.kill()
    owner.wait()
    left = postmaster(pgdata)
    assert left is not None, "the server outlived its owner, as after kill -9 of both"

    again = EmbeddedPostgres(pgdata)
    url = again.start()
    try:
        assert again.owned and again.adopted and "adopted" in again.describe()
        assert postmaster(pgdata) == left, "adopted, not restarted"
        assert answers(url)
        assert (pgdata.parent / "postgres.owner").read_text().split() == [str(os.getpid())]
    finally:
        again.stop()
    wait_until_stopped(pgdata, deadline_s=1)


def test_sigterm_of_an_owner_stops_its_server(pgdata: Path) -> None:
    """What `serve`, `worker` and `demo` do: the server goes with the owner's SIGTERM."""
    script = OWNER.replace(
        "pg.start()",
        "from blackboard.cli.runtime import stopped_by_sigterm\n"
        "with stopped_by_sigterm():\n"
        "    try:\n"
        "        pg.start()\n"
        "        print('ready', flush=True)\n"
        "        sys.stdin.read()\n"
        "    finally:\n"
        "        pg.stop()\n"
        "raise SystemExit(0)",
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script, str(pgdata)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert owner.stdout is not None and owner.stdout.readline() == "ready\n"
    keeper = psutil.Process(owner.pid).children()
    owner.send_signal(signal.SIGTERM)
    owner.wait(timeout=60)
    # stopped by the owner itself, on its way out, not later by its keeper
    assert postmaster(pgdata) is None
    psutil.wait_procs(keeper, timeout=15)
