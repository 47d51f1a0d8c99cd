"""Artifact type rows: versioned JSON Schemas, one row per (name, version)."""

from typing import Any

from psycopg.types.json import Jsonb

from blackboard.records import TypeVersion
from blackboard.store.database import Conn

_COLUMNS = "name, version, schema, schema_hash, description, created_at"


async def latest(conn: Conn, *, name: str) -> TypeVersion | None:
    """Return the newest version of type `name`, or None."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM artifact_types WHERE name = %s ORDER BY version DESC LIMIT 1",
        (name,),
    )
    row = await cur.fetchone()
    return TypeVersion.model_validate(row) if row else None


async def latest_versions(conn: Conn, *, names: list[str]) -> dict[str, int]:
    """Return the newest version number of each of `names` that is registered."""
    cur = await conn.execute(
        """SELECT name, max(version) AS version FROM artifact_types WHERE name = ANY(%s)
           GROUP BY name""",
        (names,),
    )
    return {row["name"]: row["version"] for row in await cur.fetchall()}


async def get(conn: Conn, *, name: str, version: int) -> TypeVersion | None:
    """Return one version of a type, or None."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM artifact_types WHERE name = %s AND version = %s",
        (name, version),
    )
    row = await cur.fetchone()
    return TypeVersion.model_validate(row) if row else None


async def versions(conn: Conn, *, name: str) -> list[TypeVersion]:
    """Return every version of type `name`, oldest first."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM artifact_types WHERE name = %s ORDER BY version", (name,)
    )
    return [TypeVersion.model_validate(row) for row in await cur.fetchall()]


async def list_latest(conn: Conn) -> list[TypeVersion]:
    """Return the newest version of every type, by name."""
    cur = await conn.execute(
        f"""SELECT DISTINCT ON (name) {_COLUMNS} FROM artifact_types
            ORDER BY name, version DESC"""
    )
    return [TypeVersion.model_validate(row) for row in await cur.fetchall()]


async def lock_name(conn: Conn, *, name: str) -> None:
    """Serialise registrations of one type name until the transaction ends."""
    # Two concurrent PUTs of the same name would otherwise both compute version n+1.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (name,))


async def insert(
    conn: Conn,
    *,
    name: str,
    version: int,
    schema: dict[str, Any],
    schema_hash: str,
    description: str | None,
) -> TypeVersion:
    """Insert a type version and return it."""
    cur = await conn.execute(
        f"""INSERT INTO artifact_types (name, version, schema, schema_hash, description)
            VALUES (%s, %s, %s, %s, %s) RETURNING {_COLUMNS}""",
        (name, version, Jsonb(schema), schema_hash, description),
    )
    row = await cur.fetchone()
    assert row is not None
    return TypeVersion.model_validate(row)
