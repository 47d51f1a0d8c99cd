"""Webhooks and their delivery attempts.

A webhook delivers its board's events in seq order from its `cursor`. The process that
delivers it holds a lease (`lease_expires_at`, taken with SKIP LOCKED, so processes share
the work and never deliver one webhook at the same time); every write of its progress is
fenced by the lease's token, so a process that lost its lease (it stalled past it) cannot
move the cursor under the new holder.
"""

from typing import Any
from uuid import UUID

from blackboard.records import Webhook, WebhookCreated, WebhookDelivery
from blackboard.store.database import Conn

_COLUMNS = """id, board_id, url, kinds, types, owner_id, active, cursor, attempts,
    next_attempt_at, created_at"""


async def insert(
    conn: Conn,
    *,
    webhook_id: UUID,
    board_id: UUID,
    url: str,
    secret: str,
    kinds: list[str],
    types: list[str],
    owner_id: UUID | None,
    after: int | None,
) -> WebhookCreated | None:
    """Register a webhook starting after `after` (None: the board's newest seq); None if
    there is no such board."""
    cur = await conn.execute(
        f"""INSERT INTO webhooks (id, board_id, url, secret, kinds, types, owner_id, cursor)
            SELECT %(id)s, b.board_id, %(url)s, %(secret)s, %(kinds)s, %(types)s, %(owner_id)s,
                   least(coalesce(%(after)s, b.last_seq), b.last_seq)
            FROM board_seqs b WHERE b.board_id = %(board_id)s
            RETURNING {_COLUMNS}, secret""",
        {
            "id": webhook_id,
            "board_id": board_id,
            "url": url,
            "secret": secret,
            "kinds": kinds,
            "types": types,
            "owner_id": owner_id,
            "after": after,
        },
    )
    row = await cur.fetchone()
    return WebhookCreated.model_validate(row) if row else None


async def get(conn: Conn, *, webhook_id: UUID) -> Webhook | None:
    """Return one webhook, or None."""
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM webhooks WHERE id = %s", (webhook_id,))
    row = await cur.fetchone()
    return Webhook.model_validate(row) if row else None


async def list_for_board(conn: Conn, *, board_id: UUID, owner_id: UUID | None) -> list[Webhook]:
    """Return the board's webhooks (only `owner_id`'s, if given), oldest first."""
    cur = await conn.execute(
        f"""SELECT {_COLUMNS} FROM webhooks
            WHERE board_id = %(board_id)s
              AND (%(owner_id)s::uuid IS NULL OR owner_id = %(owner_id)s)
            ORDER BY created_at, id""",
        {"board_id": board_id, "owner_id": owner_id},
    )
    return [Webhook.model_validate(row) for row in await cur.fetchall()]


async def deactivate(conn: Conn, *, webhook_id: UUID) -> None:
    """Stop delivering to a webhook (its delivery history stays)."""
    await conn.execute("UPDATE webhooks SET active = false WHERE id = %s", (webhook_id,))


async def deliveries(
    conn: Conn, *, webhook_id: UUID, after: int, limit: int
) -> list[WebhookDelivery]:
    """Return delivery attempts with id above `after`, oldest first."""
    cur = await conn.execute(
        """SELECT id, webhook_id, seq, kind, attempt, outcome, status_code, error, duration_ms,
                  created_at
           FROM webhook_deliveries WHERE webhook_id = %s AND id > %s ORDER BY id LIMIT %s""",
        (webhook_id, after, limit),
    )
    return [WebhookDelivery.model_validate(row) for row in await cur.fetchall()]


# Due: active, with undelivered events, past its retry time, and nobody's lease running.
_TAKE_DUE = f"""
WITH due AS (
    SELECT w.id FROM webhooks w JOIN board_seqs b ON b.board_id = w.board_id
    WHERE w.active AND w.next_attempt_at <= now() AND w.cursor < b.last_seq
      AND (w.lease_expires_at IS NULL OR w.lease_expires_at <= now())
    ORDER BY w.next_attempt_at
    LIMIT %(limit)s
    FOR UPDATE OF w SKIP LOCKED
)
UPDATE webhooks w
SET lease_token = w.lease_token + 1,
    lease_expires_at = now() + make_interval(secs => %(lease_s)s)
FROM due WHERE w.id = due.id
RETURNING {", ".join("w." + c.strip() for c in _COLUMNS.split(","))}, w.secret, w.lease_token
"""


async def take_due(conn: Conn, *, limit: int, lease_s: float) -> list[dict[str, Any]]:
    """Lease up to `limit` webhooks that have events to deliver; return their rows (with
    `secret` and `lease_token`)."""
    cur = await conn.execute(_TAKE_DUE, {"limit": limit, "lease_s": lease_s})
    return list(await cur.fetchall())


async def any_active(conn: Conn) -> bool:
    """Whether any board has an active webhook."""
    cur = await conn.execute("SELECT EXISTS (SELECT 1 FROM webhooks WHERE active) AS found")
    row = await cur.fetchone()
    return bool(row and row["found"])


_RECORD = """
WITH moved AS (
    UPDATE webhooks
    SET cursor = %(cursor)s, attempts = %(attempts)s,
        next_attempt_at = now() + make_interval(secs => %(delay_s)s)
    WHERE id = %(webhook_id)s AND lease_token = %(lease_token)s
    RETURNING id, active
), recorded AS (
    INSERT INTO webhook_deliveries (webhook_id, seq, kind, attempt, outcome, status_code,
                                    error, duration_ms)
    SELECT id, %(seq)s, %(kind)s, %(attempt)s, %(outcome)s, %(status_code)s, %(error)s,
           %(duration_ms)s
    FROM moved
)
SELECT active FROM moved
"""


async def record_attempt(
    conn: Conn,
    *,
    webhook_id: UUID,
    lease_token: int,
    seq: int,
    kind: str,
    attempt: int,
    outcome: str,
    status_code: int | None,
    error: str | None,
    duration_ms: float,
    cursor: int,
    attempts: int,
    delay_s: float,
) -> bool:
    """Record one attempt and move the webhook on (cursor, failed attempts, next try) in
    one statement; return whether to go on: False if the lease was lost (nothing written)
    or the webhook was removed meanwhile (the attempt, made already, is recorded)."""
    cur = await conn.execute(
        _RECORD,
        {
            "webhook_id": webhook_id,
            "lease_token": lease_token,
            "seq": seq,
            "kind": kind,
            "attempt": attempt,
            "outcome": outcome,
            "status_code": status_code,
            "error": error,
            "duration_ms": duration_ms,
            "cursor": cursor,
            "attempts": attempts,
            "delay_s": delay_s,
        },
    )
    row = await cur.fetchone()
    return row is not None and bool(row["active"])


async def release(conn: Conn, *, webhook_id: UUID, lease_token: int, cursor: int) -> None:
    """Give the lease back, moving the cursor to `cursor` (past events the filter skips)."""
    await conn.execute(
        """UPDATE webhooks SET lease_expires_at = NULL, cursor = greatest(cursor, %s)
           WHERE id = %s AND lease_token = %s""",
        (cursor, webhook_id, lease_token),
    )
