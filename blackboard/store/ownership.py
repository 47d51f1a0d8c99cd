"""Who stops the embedded PostgreSQL of a data directory: exactly one live process.

The owner holds an exclusive lock on `postgres.lock` next to the server's data for as
long as it lives; the kernel lets go of it when the process ends, however it ends (a
SIGKILL too), so a lock that can be taken means nobody owns the server now. The owner
also writes its pid to `postgres.owner`, for people and for the processes that share.

A process that cannot take the lock shares the server and never stops it. One that
can takes over whatever runs there: it starts the server, or adopts the one a crashed
owner left behind, and stops it when it is done.

Each owner also starts a keeper (`python -m blackboard.store.keeper`), a small process
of its own session that waits for the owner to end: if the owner ended without stopping
the server (SIGKILL, a crash) and nobody took it over, the keeper stops it. So even a
killed `blackboard demo`, whose temporary data directory nobody will start again,
leaves no PostgreSQL behind.
"""

import contextlib
import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

LOCK_FILE = "postgres.lock"
OWNER_FILE = "postgres.owner"


class Ownership:
    """This process's claim on the PostgreSQL in `pgdata` (taken or not)."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.lock_path = pgdata.parent / LOCK_FILE
        self.owner_path = pgdata.parent / OWNER_FILE
        self._lock: IO[bytes] | None = None
        self._keeper: subprocess.Popen[bytes] | None = None

    @property
    def owned(self) -> bool:
        """Return whether this process owns the server."""
        return self._lock is not None

    def claim(self, wait_s: float = 5.0, *, record: bool = True, ended: int | None = None) -> bool:
        """Take ownership if no live process has it; return whether we now own it.

        A lock held by a process that has not written its pid yet (an owner starting, a
        keeper finishing up), or by `ended` (an owner on its way out, whose lock the
        kernel lets go of a moment later), is waited for up to `wait_s`. The keeper
        takes the lock without recording itself (`record=False`): nobody must share a
        server it stops."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        end = time.monotonic() + wait_s
        while True:
            lock = self.lock_path.open("ab")  # not inherited by children (O_CLOEXEC)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                if self.owner() not in (None, ended) or time.monotonic() > end:
                    return False
                time.sleep(0.05)
                continue
            self._lock = lock
            if record:
                self.owner_path.write_text(f"{os.getpid()}\n")
            return True

    def owner(self) -> int | None:
        """Return the pid of the live process that owns the server, if one does."""
        try:
            pid = int(self.owner_path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, another user's
        return pid

    def start_keeper(self) -> None:
        """Start the keeper that stops the server should this process end without."""
        self._keeper = subprocess.Popen(
            [sys.executable, "-m", "blackboard.store.keeper", str(self.pgdata)],
            stdin=subprocess.PIPE,
            # its own session: a Ctrl-C (SIGINT to the terminal's process group) or a
            # kill of our group must not take it with us
            start_new_session=True,
        )

    def release(self) -> None:
        """Give up ownership (after stopping the server) and dismiss the keeper."""
        if self._lock is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.owner_path.unlink()
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()
        self._lock = None
        if self._keeper is not None:
            assert self._keeper.stdin is not None
            self._keeper.stdin.close()  # end of file: the keeper finds nothing to do
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._keeper.wait(timeout=10)
            self._keeper = None
