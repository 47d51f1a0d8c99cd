"""Artifact type rows: versioned JSON Schemas, one row per (name, version)."""

from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from blackboard.records import TypeVersion
from blackboard.store.database import Conn

_COLUMNS = (
    "name, version, schema, schema_hash, description, created_at, compatibility, registered_by,"
    " overrode"
)


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
    compatibility: str,
    registered_by: str,
    overrode: str | None = None,
) -> TypeVersion:
    """Insert a type version and return it."""
    cur = await conn.execute(
        f"""INSERT INTO artifact_types (name, version, schema, schema_hash, description,
                                        compatibility, registered_by, overrode)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}""",
        (
            name,
            version,
            Jsonb(schema),
            schema_hash,
            description,
            compatibility,
            registered_by,
            overrode,
        ),
    )
    row = await cur.fetchone()
    assert row is not None
    return TypeVersion.model_validate(row)


async def mode(conn: Conn, *, name: str) -> str | None:
    """Return the compatibility mode set for type `name`, or None if none was set."""
    cur = await conn.execute(
        "SELECT compatibility FROM artifact_type_modes WHERE name = %s", (name,)
    )
    row = await cur.fetchone()
    return str(row["compatibility"]) if row else None


async def set_mode(conn: Conn, *, name: str, compatibility: str) -> None:
    """Set the compatibility mode that type `name`'s next versions are checked under."""
    await conn.execute(
        """INSERT INTO artifact_type_modes (name, compatibility) VALUES (%s, %s)
           ON CONFLICT (name) DO UPDATE SET compatibility = EXCLUDED.compatibility""",
        (name, compatibility),
    )


async def latest_hash_by(conn: Conn, *, name: str, registered_by: str) -> str | None:
    """Return the schema hash of the newest version of `name` that `registered_by` made."""
    cur = await conn.execute(
        """SELECT schema_hash FROM artifact_types WHERE name = %s AND registered_by = %s
           ORDER BY version DESC LIMIT 1""",
        (name, registered_by),
    )
    row = await cur.fetchone()
    return str(row["schema_hash"]) if row else None


async def boards_using(conn: Conn, *, name: str) -> list[UUID]:
    """Return the boards that hold an artifact of type `name`, by id."""
    # One index probe per board (ix_artifact_keys_board_type_latest_seq), not a scan of
    # every key of every type.
    cur = await conn.execute(
        """SELECT b.id FROM boards b
           WHERE EXISTS (SELECT 1 FROM artifact_keys k WHERE k.board_id = b.id AND k.type = %s)
           ORDER BY b.id""",
        (name,),
    )
    return [row["id"] for row in await cur.fetchall()]


async def current_bodies(
    conn: Conn, *, name: str, after: tuple[UUID, str] | None, limit: int
) -> list[dict[str, Any]]:
    """Return up to `limit` current versions (board_id, key, version, body) of type `name`,
    in (board, key) order after `after`: the newest version of each key not retracted."""
    cur = await conn.execute(
        """SELECT k.board_id, k.key, a.version, a.body
           FROM artifact_keys k JOIN artifacts a ON a.id = k.latest_id
           WHERE k.type = %(name)s
             AND (%(board)s::uuid IS NULL OR (k.board_id, k.key) > (%(board)s, %(key)s))
           ORDER BY k.board_id, k.key LIMIT %(limit)s""",
        {
            "name": name,
            "board": after[0] if after else None,
            "key": after[1] if after else None,
            "limit": limit,
        },
    )
    return list(await cur.fetchall())
