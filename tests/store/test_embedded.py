"""The embedded PostgreSQL runs with the service's settings, also in a data directory that
an older version made (before a setting was added)."""

from pathlib import Path

import psycopg

from blackboard.store.embedded import EmbeddedPostgres


def settings(url: str) -> dict[str, str]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)",
            (["max_connections", "shared_buffers", "wal_writer_delay"],),
        ).fetchall()
    return dict(rows)


def test_settings_are_applied_on_every_start(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    server = EmbeddedPostgres(pgdata)
    url = server.start()
    try:
        wanted = {"max_connections": "300", "shared_buffers": "256MB", "wal_writer_delay": "10ms"}
        assert settings(url) == wanted
        with psycopg.connect(url, autocommit=True) as conn:  # as an older version left it
            conn.execute("ALTER SYSTEM RESET wal_writer_delay")
            conn.execute("ALTER SYSTEM RESET shared_buffers")
    finally:
        server.stop()
    url = server.start()
    try:
        assert settings(url) == wanted
    finally:
        server.stop()
