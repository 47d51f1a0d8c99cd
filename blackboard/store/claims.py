"""Role claims and their slots.

A claim's lease is over when `expires_at` passes, whatever `status` still says: reads
report such a claim as expired at once, and the reaper later writes `status = 'expired'`
and the `role.expired` event. Scope is stored as '' for "no scope" so that the slot key
has no NULLs.
"""

from typing import Any
from uuid import UUID

from blackboard.records import Claim
from blackboard.store.database import Conn

_COLUMNS = """id, board_id, agent_id, role, NULLIF(scope, '') AS scope, exclusive, fencing_token,
    CASE WHEN status = 'active' AND expires_at <= now() THEN 'expired' ELSE status END AS status,
    rationale, confidence, created_at, expires_at,
    CASE WHEN status = 'active' AND expires_at <= now() THEN expires_at ELSE ended_at END
        AS ended_at, renewed_at, renewals"""


def _claim(row: dict[str, Any] | None) -> Claim | None:
    return Claim.model_validate(row) if row else None


async def next_fencing_token(conn: Conn, *, board_id: UUID, role: str, scope: str) -> int:
    """Lock the (board, role, scope) slot until commit and return its next fencing token."""
    cur = await conn.execute(
        """INSERT INTO role_slots (board_id, role, scope, last_fencing_token)
           VALUES (%s, %s, %s, 1)
           ON CONFLICT (board_id, role, scope)
           DO UPDATE SET last_fencing_token = role_slots.last_fencing_token + 1
           RETURNING last_fencing_token""",
        (board_id, role, scope),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row["last_fencing_token"])


async def active_in_slot(conn: Conn, *, board_id: UUID, role: str, scope: str) -> list[Claim]:
    """Return the claims whose lease is running on this slot."""
    cur = await conn.execute(
        f"""SELECT {_COLUMNS} FROM claims
            WHERE board_id = %s AND role = %s AND scope = %s
              AND status = 'active' AND expires_at > now()
            ORDER BY fencing_token""",
        (board_id, role, scope),
    )
    return [Claim.model_validate(row) for row in await cur.fetchall()]


async def insert(
    conn: Conn,
    *,
    claim_id: UUID,
    board_id: UUID,
    agent_id: UUID,
    role: str,
    scope: str,
    exclusive: bool,
    fencing_token: int,
    ttl_s: float,
    rationale: str | None,
    confidence: float | None,
) -> Claim:
    """Insert an active claim whose lease runs `ttl_s` from now; return it."""
    cur = await conn.execute(
        f"""INSERT INTO claims (id, board_id, agent_id, role, scope, exclusive, fencing_token,
                                status, rationale, confidence, expires_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, 'active', %s, %s,
                    now() + make_interval(secs => %s))
            RETURNING {_COLUMNS}""",
        (
            claim_id,
            board_id,
            agent_id,
            role,
            scope,
            exclusive,
            fencing_token,
            rationale,
            confidence,
            ttl_s,
        ),
    )
    claim = _claim(await cur.fetchone())
    assert claim is not None
    return claim


async def get(conn: Conn, *, claim_id: UUID, lock: str = "") -> Claim | None:
    """Return a claim (lock: '', 'FOR UPDATE' or 'FOR SHARE'), or None."""
    assert lock in ("", "FOR UPDATE", "FOR SHARE")
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM claims WHERE id = %s {lock}", (claim_id,))
    return _claim(await cur.fetchone())


async def extend(conn: Conn, *, claim_id: UUID, ttl_s: float) -> Claim:
    """Move the lease's end to `ttl_s` from now and count the renewal; return the claim."""
    cur = await conn.execute(
        f"""UPDATE claims SET expires_at = now() + make_interval(secs => %s),
                renewed_at = now(), renewals = renewals + 1
            WHERE id = %s RETURNING {_COLUMNS}""",
        (ttl_s, claim_id),
    )
    claim = _claim(await cur.fetchone())
    assert claim is not None
    return claim


async def end(conn: Conn, *, claim_id: UUID, status: str) -> Claim:
    """End a claim as 'released' or 'expired'; return it."""
    cur = await conn.execute(
        f"""UPDATE claims SET status = %s, ended_at = LEAST(now(), expires_at) WHERE id = %s
            RETURNING {_COLUMNS}""",
        (status, claim_id),
    )
    claim = _claim(await cur.fetchone())
    assert claim is not None
    return claim


async def list_claims(
    conn: Conn,
    *,
    board_id: UUID,
    active: bool | None,
    role: str | None,
    agent_id: UUID | None,
    limit: int,
) -> list[Claim]:
    """Return the board's claims, newest first, filtered."""
    cur = await conn.execute(
        f"""SELECT {_COLUMNS} FROM claims
            WHERE board_id = %(board_id)s
              AND (%(role)s::text IS NULL OR role = %(role)s)
              AND (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s)
              AND (%(active)s::bool IS NULL
                   OR %(active)s = (status = 'active' AND expires_at > now()))
            ORDER BY created_at DESC LIMIT %(limit)s""",
        {
            "board_id": board_id,
            "role": role,
            "agent_id": agent_id,
            "active": active,
            "limit": limit,
        },
    )
    return [Claim.model_validate(row) for row in await cur.fetchall()]


# The reaper's pick: leases that ran out, locked so that two reapers (several API
# processes) never expire the same claim twice; SKIP LOCKED also steps around a claim
# whose holder is renewing it right now.
_EXPIRE_DUE = f"""
WITH due AS (
    SELECT id FROM claims
    WHERE status = 'active' AND expires_at <= now()
    ORDER BY expires_at LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE claims c SET status = 'expired', ended_at = c.expires_at
FROM due WHERE c.id = due.id
RETURNING {_COLUMNS.replace("id, board_id", "c.id, c.board_id")}
"""


async def expire_due(conn: Conn, *, limit: int) -> list[Claim]:
    """Mark up to `limit` claims whose lease ran out as expired; return them."""
    cur = await conn.execute(_EXPIRE_DUE, {"limit": limit})
    return [Claim.model_validate(row) for row in await cur.fetchall()]
