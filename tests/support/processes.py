"""`blackboard serve` as a real process, and the worker processes it spawns."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

from tests.support.api import ADMIN_TOKEN

BLACKBOARD = str(Path(sys.executable).with_name("blackboard"))


class Server:
    """One `blackboard serve` process."""

    def __init__(self, data_dir: Path, port: int, **settings: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BLACKBOARD_")}
        env.update({f"BLACKBOARD_{k.upper()}": v for k, v in settings.items()})
        self.url = f"http://127.0.0.1:{port}"
        self.log = data_dir.parent / f"serve-{port}-{time.monotonic_ns()}.log"
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [BLACKBOARD, "serve", "--port", str(port), "--data-dir", str(data_dir)],
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("server did not come up:\n" + self.log.read_text())

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self._log_file.close()
        return code


def workers_of(server: Server) -> list[int]:
    """The pids of the server's worker processes (multiprocessing's, not its helpers)."""
    pid = server.process.pid
    return [
        int(p)
        for p in os.listdir("/proc")
        if p.isdigit() and _parent(int(p)) == pid and _alive(int(p)) and _spawned(int(p))
    ]


def _spawned(pid: int) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def connections_by_worker(server: Server, port: int) -> Counter[int]:
    """How many established TCP connections to `port` each worker holds."""
    inodes: dict[str, int] = {}
    for pid in workers_of(server):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes[target[8:-1]] = pid
    held: Counter[int] = Counter()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01" and fields[9] in inodes:  # 01: ESTABLISHED
            held[inodes[fields[9]]] += 1
    return held


def two_workers(tmp_path: Path, port: int, database_url: str) -> Server:
    """`blackboard serve --workers 2` on `port`, against the test's database."""
    return Server(
        tmp_path / "data",
        port,
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        auto_migrate="false",
        workers="2",
    )
