"""Databases on the test server: created per test (from a template) and dropped after."""

import itertools
import os

import psycopg
from sqlalchemy.engine import make_url

_counter = itertools.count()


def with_database(url: str, name: str) -> str:
    """Return `url` pointing at database `name` on the same server."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def create_database(server_url: str, template: str | None = None) -> str:
    """Create a fresh database (a copy of `template` if given); return its URL."""
    name = f"bb_test_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    return with_database(server_url, name)


def drop_database(server_url: str, url: str) -> None:
    """Drop the database at `url`, disconnecting whoever is still on it."""
    name = make_url(url).database
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
