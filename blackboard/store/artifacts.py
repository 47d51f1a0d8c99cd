"""Artifact versions, keys, retractions and lineage.

A publish runs, in one transaction: (1) `reserve_versions` — upsert the key rows,
which locks them, so concurrent publishers to one key queue up and each gets the next
version exactly once; (2) `insert_versions` — one statement that reserves event seqs on
the board row (see store/events.py for why), inserts the versions and their
`artifact.published` events, and moves each key's current-version pointer.
"""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Jsonb

from blackboard.records import Artifact, LineageEdge, Retraction
from blackboard.store.constraints import translated
from blackboard.store.database import Conn
from blackboard.store.events import CHANNEL

_SELECT = """
SELECT a.id, a.board_id, a.type, a.type_version, a.key, a.version, a.body, a.author_id,
       a.role, a.claim_id, a.parents, a.tags, a.seq, a.content_hash, a.created_at,
       r.seq AS r_seq, r.actor_id AS r_by, r.reason AS r_reason, r.created_at AS r_at
"""


def _artifact(row: dict[str, Any]) -> Artifact:
    r_seq = row.pop("r_seq")
    r_by, r_reason, r_at = row.pop("r_by"), row.pop("r_reason"), row.pop("r_at")
    if r_seq is not None:
        row["retracted"] = Retraction(seq=r_seq, by=r_by, reason=r_reason, at=r_at)
    return Artifact.model_validate(row)


@dataclass(frozen=True)
class NewVersion:
    """A validated artifact version about to be written; the store assigns its seq."""

    id: UUID
    type: str
    type_version: int
    key: str
    version: int
    body: dict[str, Any]
    role: str | None
    claim_id: UUID | None
    parents: list[UUID]
    tags: list[str]
    content_hash: str
    idempotency_key: str | None
    request_hash: str | None


@dataclass(frozen=True)
class StoredIdempotent:
    """An artifact written earlier under an idempotency key, and the request that wrote it."""

    artifact: Artifact
    request_hash: str | None


async def find_idempotent(
    conn: Conn, *, board_id: UUID, author_id: UUID, idempotency_keys: list[str]
) -> dict[str, StoredIdempotent]:
    """Return the artifacts this author already published under these idempotency keys."""
    cur = await conn.execute(
        _SELECT
        + """, a.idempotency_key, a.request_hash FROM artifacts a
        LEFT JOIN artifact_retractions r ON r.artifact_id = a.id
        WHERE a.author_id = %s AND a.board_id = %s AND a.idempotency_key = ANY(%s)""",
        (author_id, board_id, idempotency_keys),
    )
    found: dict[str, StoredIdempotent] = {}
    for row in await cur.fetchall():
        key, request_hash = row.pop("idempotency_key"), row.pop("request_hash")
        found[key] = StoredIdempotent(_artifact(row), request_hash)
    return found


async def existing_ids(conn: Conn, *, board_id: UUID, ids: list[UUID]) -> set[UUID]:
    """Return which of `ids` are artifacts on this board."""
    cur = await conn.execute(
        "SELECT id FROM artifacts WHERE board_id = %s AND id = ANY(%s)", (board_id, ids)
    )
    return {row["id"] for row in await cur.fetchall()}


# Keys are upserted in key order so that two batches touching the same keys lock them in
# the same order and cannot deadlock.
_RESERVE = """
INSERT INTO artifact_keys (board_id, key, type, last_version)
SELECT %(board_id)s, k.key, k.type, k.n
FROM unnest(%(keys)s::text[], %(types)s::text[], %(counts)s::int[]) AS k(key, type, n)
ORDER BY k.key
ON CONFLICT (board_id, key) DO UPDATE
    SET last_version = artifact_keys.last_version + EXCLUDED.last_version
RETURNING key, type, last_version
"""


async def reserve_versions(
    conn: Conn, *, board_id: UUID, counts: dict[str, tuple[str, int]]
) -> dict[str, tuple[str, int]]:
    """Lock each key and add n to its version counter; return key → (type, last_version).

    `counts` maps key → (type, number of new versions). The returned type is the key's
    type, which the caller compares with the requested one.
    """
    keys = sorted(counts)
    with translated():
        cur = await conn.execute(
            _RESERVE,
            {
                "board_id": board_id,
                "keys": keys,
                "types": [counts[k][0] for k in keys],
                "counts": [counts[k][1] for k in keys],
            },
        )
    return {row["key"]: (row["type"], row["last_version"]) for row in await cur.fetchall()}


_INSERT = (
    """
WITH reserved AS (
    UPDATE boards SET last_seq = last_seq + %(n)s WHERE id = %(board_id)s
    RETURNING last_seq - %(n)s AS base
), new AS (
    SELECT v.*, reserved.base + v.ord AS seq
    FROM reserved,
         unnest(%(ids)s::uuid[], %(types)s::text[], %(type_versions)s::int[], %(keys)s::text[],
                %(versions)s::int[], %(bodies)s::jsonb[], %(roles)s::text[], %(parents)s::jsonb[],
                %(tags)s::jsonb[], %(hashes)s::text[], %(idempotency_keys)s::text[],
                %(request_hashes)s::text[], %(claim_ids)s::uuid[])
         WITH ORDINALITY AS v(id, type, type_version, key, version, body, role, parents, tags,
                              content_hash, idempotency_key, request_hash, claim_id, ord)
), inserted AS (
    INSERT INTO artifacts (id, board_id, type, type_version, key, version, body, author_id,
                           role, parents, tags, seq, content_hash, idempotency_key, request_hash,
                           claim_id)
    SELECT id, %(board_id)s, type, type_version, key, version, body, %(author_id)s, role,
           ARRAY(SELECT jsonb_array_elements_text(parents))::uuid[],
           ARRAY(SELECT jsonb_array_elements_text(tags)),
           seq, content_hash, idempotency_key, request_hash, claim_id
    FROM new
    RETURNING id, seq, created_at
), logged AS (
    INSERT INTO events (board_id, seq, kind, actor_id, subject_id, data)
    SELECT %(board_id)s, seq, 'artifact.published', %(author_id)s, id,
           jsonb_build_object('type', type, 'key', key, 'version', version, 'role', role,
                              'claim_id', claim_id)
    FROM new
), moved AS (
    UPDATE artifact_keys k SET latest_id = c.id, latest_seq = c.seq
    FROM (SELECT DISTINCT ON (key) key, id, seq FROM new ORDER BY key, seq DESC) c
    WHERE k.board_id = %(board_id)s AND k.key = c.key
)
SELECT id, seq, created_at,
       pg_notify('"""
    + CHANNEL
    + """', %(board_id)s::text || ':' || max(seq) OVER ())
FROM inserted
"""
)


async def insert_versions(
    conn: Conn, *, board_id: UUID, author_id: UUID, versions: list[NewVersion]
) -> list[dict[str, Any]]:
    """Write the versions and their events; return [{id, seq, created_at}] in input order."""
    with translated():
        cur = await conn.execute(
            _INSERT,
            {
                "board_id": board_id,
                "author_id": author_id,
                "n": len(versions),
                "ids": [v.id for v in versions],
                "types": [v.type for v in versions],
                "type_versions": [v.type_version for v in versions],
                "keys": [v.key for v in versions],
                "versions": [v.version for v in versions],
                "bodies": [Jsonb(v.body) for v in versions],
                "roles": [v.role for v in versions],
                "parents": [Jsonb([str(p) for p in v.parents]) for v in versions],
                "tags": [Jsonb(v.tags) for v in versions],
                "hashes": [v.content_hash for v in versions],
                "idempotency_keys": [v.idempotency_key for v in versions],
                "request_hashes": [v.request_hash for v in versions],
                "claim_ids": [v.claim_id for v in versions],
            },
        )
    return sorted(await cur.fetchall(), key=lambda row: row["seq"])


async def get(conn: Conn, *, board_id: UUID, artifact_id: UUID) -> Artifact | None:
    """Return one artifact version on this board, or None."""
    cur = await conn.execute(
        _SELECT
        + """FROM artifacts a LEFT JOIN artifact_retractions r ON r.artifact_id = a.id
        WHERE a.id = %s AND a.board_id = %s""",
        (artifact_id, board_id),
    )
    row = await cur.fetchone()
    return _artifact(row) if row else None


async def get_many(conn: Conn, *, ids: list[UUID]) -> list[Artifact]:
    """Return these artifact versions, in seq order."""
    cur = await conn.execute(
        _SELECT
        + """FROM artifacts a LEFT JOIN artifact_retractions r ON r.artifact_id = a.id
        WHERE a.id = ANY(%s) ORDER BY a.seq""",
        (ids,),
    )
    return [_artifact(row) for row in await cur.fetchall()]


@dataclass(frozen=True)
class ArtifactFilter:
    """Which artifacts a listing returns; None means no restriction."""

    type: str | None = None
    key: str | None = None
    author_id: UUID | None = None
    role: str | None = None
    tag: str | None = None


def _conditions(f: ArtifactFilter, alias: str, *, skip_key_level: bool) -> list[sql.Composable]:
    conds: list[sql.Composable] = []
    a = sql.Identifier(alias)
    if f.type is not None and not skip_key_level:
        conds.append(sql.SQL("{}.type = %(type)s").format(a))
    if f.key is not None and not skip_key_level:
        conds.append(sql.SQL("{}.key = %(key)s").format(a))
    if f.author_id is not None:
        conds.append(sql.SQL("{}.author_id = %(author_id)s").format(a))
    if f.role is not None:
        conds.append(sql.SQL("{}.role = %(role)s").format(a))
    if f.tag is not None:
        conds.append(sql.SQL("{}.tags @> ARRAY[%(tag)s]::text[]").format(a))
    return conds


def _and(conds: list[sql.Composable]) -> sql.Composable:
    return sql.SQL("").join(sql.SQL(" AND ") + c for c in conds)


async def list_versions(
    conn: Conn,
    *,
    board_id: UUID,
    filters: ArtifactFilter,
    latest: bool,
    as_of: int | None,
    after: int,
    limit: int,
) -> list[Artifact]:
    """Return artifacts with seq > `after` in seq order, as the board stood at `as_of`.

    latest=True: only each key's current (newest, not retracted) version.
    """
    params: dict[str, Any] = {
        "board_id": board_id,
        "after": after,
        "limit": limit,
        "as_of": as_of,
        "type": filters.type,
        "key": filters.key,
        "author_id": filters.author_id,
        "role": filters.role,
        "tag": filters.tag,
    }
    if latest and as_of is None:
        # The board as it stands: one index range scan over key pointers.
        key_conds: list[sql.Composable] = []
        if filters.type is not None:
            key_conds.append(sql.SQL("k.type = %(type)s"))
        if filters.key is not None:
            key_conds.append(sql.SQL("k.key = %(key)s"))
        query = sql.SQL(
            _SELECT
            + """FROM artifact_keys k JOIN artifacts a ON a.id = k.latest_id
            LEFT JOIN artifact_retractions r ON r.artifact_id = a.id
            WHERE k.board_id = %(board_id)s AND k.latest_seq > %(after)s {key_conds} {conds}
            ORDER BY k.latest_seq LIMIT %(limit)s"""
        ).format(
            key_conds=_and(key_conds),
            conds=_and(_conditions(filters, "a", skip_key_level=True)),
        )
    elif latest:
        # The board at a past seq: newest version per key among those published by then
        # and not retracted by then.
        query = sql.SQL(
            """SELECT * FROM ("""
            + _SELECT
            + """FROM (SELECT DISTINCT ON (a.key) a.* FROM artifacts a
                  WHERE a.board_id = %(board_id)s AND a.seq <= %(as_of)s {key_conds}
                    AND NOT EXISTS (SELECT 1 FROM artifact_retractions x
                                    WHERE x.artifact_id = a.id AND x.seq <= %(as_of)s)
                  ORDER BY a.key, a.version DESC) a
            LEFT JOIN artifact_retractions r ON false
            ) a WHERE a.seq > %(after)s {conds} ORDER BY a.seq LIMIT %(limit)s"""
        ).format(
            key_conds=_and(
                [
                    c
                    for c in _conditions(
                        ArtifactFilter(type=filters.type, key=filters.key),
                        "a",
                        skip_key_level=False,
                    )
                ]
            ),
            conds=_and(_conditions(filters, "a", skip_key_level=True)),
        )
    else:
        retraction_visible = (
            sql.SQL(" AND r.seq <= %(as_of)s") if as_of is not None else sql.SQL("")
        )
        upper = sql.SQL(" AND a.seq <= %(as_of)s") if as_of is not None else sql.SQL("")
        query = sql.SQL(
            _SELECT
            + """FROM artifacts a
            LEFT JOIN artifact_retractions r ON r.artifact_id = a.id {retraction_visible}
            WHERE a.board_id = %(board_id)s AND a.seq > %(after)s {upper} {conds}
            ORDER BY a.seq LIMIT %(limit)s"""
        ).format(
            retraction_visible=retraction_visible,
            upper=upper,
            conds=_and(_conditions(filters, "a", skip_key_level=False)),
        )
    cur = await conn.execute(query, params)
    return [_artifact(row) for row in await cur.fetchall()]


async def history(conn: Conn, *, board_id: UUID, key: str) -> list[Artifact]:
    """Return every version of `key`, oldest first."""
    cur = await conn.execute(
        _SELECT
        + """FROM artifacts a LEFT JOIN artifact_retractions r ON r.artifact_id = a.id
        WHERE a.board_id = %s AND a.key = %s ORDER BY a.version""",
        (board_id, key),
    )
    return [_artifact(row) for row in await cur.fetchall()]


_WALK_UP = """
WITH RECURSIVE walk(id, depth) AS (
    SELECT p, 1 FROM artifacts a, unnest(a.parents) AS p
    WHERE a.id = %(root)s AND a.board_id = %(board_id)s
  UNION
    SELECT p, w.depth + 1 FROM walk w JOIN artifacts a ON a.id = w.id, unnest(a.parents) AS p
    WHERE w.depth < %(depth)s
)
SELECT DISTINCT id FROM walk
"""

_WALK_DOWN = """
WITH RECURSIVE walk(id, depth) AS (
    SELECT c.id, 1 FROM artifacts c
    WHERE c.board_id = %(board_id)s AND c.parents @> ARRAY[%(root)s]::uuid[]
  UNION
    SELECT c.id, w.depth + 1 FROM walk w
    JOIN artifacts c ON c.board_id = %(board_id)s AND c.parents @> ARRAY[w.id]
    WHERE w.depth < %(depth)s
)
SELECT DISTINCT id FROM walk
"""


async def lineage(
    conn: Conn, *, board_id: UUID, root: Artifact, direction: str, depth: int
) -> tuple[list[Artifact], list[LineageEdge]]:
    """Return the ancestors (up) or descendants (down) of `root` within `depth` links."""
    cur = await conn.execute(
        _WALK_UP if direction == "up" else _WALK_DOWN,
        {"root": root.id, "board_id": board_id, "depth": depth},
    )
    ids = [row["id"] for row in await cur.fetchall()]
    nodes = await get_many(conn, ids=ids) if ids else []
    members = {n.id for n in nodes} | {root.id}
    edges = [
        LineageEdge(parent=p, child=n.id) for n in [root, *nodes] for p in n.parents if p in members
    ]
    return nodes, edges


async def lock_key(conn: Conn, *, board_id: UUID, key: str) -> None:
    """Lock the key row until the transaction ends (serialises with publishers to it)."""
    await conn.execute(
        "SELECT 1 FROM artifact_keys WHERE board_id = %s AND key = %s FOR UPDATE", (board_id, key)
    )


_RETRACT = (
    """
WITH reserved AS (
    UPDATE boards SET last_seq = last_seq + 1 WHERE id = %(board_id)s RETURNING last_seq AS seq
), retracted AS (
    INSERT INTO artifact_retractions (artifact_id, board_id, seq, actor_id, reason)
    SELECT %(artifact_id)s, %(board_id)s, seq, %(actor_id)s, %(reason)s FROM reserved
    RETURNING seq, created_at
), logged AS (
    INSERT INTO events (board_id, seq, kind, actor_id, subject_id, data)
    SELECT %(board_id)s, seq, 'artifact.retracted', %(actor_id)s, %(artifact_id)s,
           jsonb_build_object('type', %(type)s::text, 'key', %(key)s::text,
                              'version', %(version)s::int, 'reason', %(reason)s::text)
    FROM reserved
), moved AS (
    -- the key's current version becomes its newest version that is still standing
    UPDATE artifact_keys k SET latest_id = c.id, latest_seq = c.seq
    FROM (SELECT (SELECT a.id FROM artifacts a
                  WHERE a.board_id = %(board_id)s AND a.key = %(key)s AND a.id <> %(artifact_id)s
                    AND NOT EXISTS (SELECT 1 FROM artifact_retractions x WHERE x.artifact_id = a.id)
                  ORDER BY a.version DESC LIMIT 1) AS id) cur
    LEFT JOIN artifacts c ON c.id = cur.id
    WHERE k.board_id = %(board_id)s AND k.key = %(key)s AND k.latest_id = %(artifact_id)s
)
SELECT seq, created_at, pg_notify('"""
    + CHANNEL
    + """', %(board_id)s::text || ':' || seq)
FROM retracted
"""
)


async def retract(
    conn: Conn, *, board_id: UUID, artifact: Artifact, actor_id: UUID | None, reason: str
) -> Retraction:
    """Record the retraction and its event, and move the key's current version back."""
    await lock_key(conn, board_id=board_id, key=artifact.key)
    cur = await conn.execute(
        _RETRACT,
        {
            "board_id": board_id,
            "artifact_id": artifact.id,
            "actor_id": actor_id,
            "reason": reason,
            "key": artifact.key,
            "type": artifact.type,
            "version": artifact.version,
        },
    )
    row = await cur.fetchone()
    assert row is not None
    return Retraction(seq=row["seq"], by=actor_id, reason=reason, at=row["created_at"])
