"""Ending a run: the run's row, and the role claims its turns took, end together.

A turn's claim (store/runs.py TURN_DONE) lasts as long as its run: when the run ends,
for whatever reason, the claims still open are released in the same statement, each
with its `role.released` event, so a finished run leaves no active claim to lapse later.
"""

from uuid import UUID

from blackboard.records import Run
from blackboard.store.database import Conn
from blackboard.store.events import NOTIFIED, logged_from
from blackboard.store.runs import RUN_COLUMNS, LostRun

_FINISH = f"""
WITH ended AS (
    UPDATE runs SET status = %(status)s, stop_reason = %(reason)s, ended_at = now(),
        lease_expires_at = NULL
    WHERE id = %(run_id)s AND lease_token = %(lease_token)s
    RETURNING {RUN_COLUMNS}
), released AS (
    -- a lease that ran out but was not reaped yet ends when it ran out, as released
    UPDATE claims c SET status = 'released', ended_at = LEAST(now(), c.expires_at)
    FROM turns t, ended
    WHERE t.run_id = ended.id AND c.id = t.claim_id AND c.status = 'active'
    RETURNING c.id, c.agent_id, c.role, c.scope, c.exclusive, c.fencing_token, c.expires_at
), evs AS (
    SELECT 'role.released'::text AS kind, r.agent_id AS actor_id, r.id AS subject_id,
           jsonb_build_object('role', r.role, 'scope', NULLIF(r.scope, ''),
                              'exclusive', r.exclusive, 'fencing_token', r.fencing_token,
                              'expires_at', r.expires_at) AS data,
           row_number() OVER (ORDER BY r.scope, r.id) AS ord
    FROM released r
){logged_from("evs")}
SELECT ended.*, {NOTIFIED} FROM ended
"""


async def finish(
    conn: Conn, *, run_id: UUID, board_id: UUID, lease_token: int, status: str, reason: str
) -> Run:
    """End the run as 'completed' or 'stopped' with its reason, and release its turns'
    claims (logging `role.released` for each); LostRun if the caller no longer drives it."""
    cur = await conn.execute(
        _FINISH,
        {
            "run_id": run_id,
            "board_id": board_id,
            "lease_token": lease_token,
            "status": status,
            "reason": reason,
        },
    )
    row = await cur.fetchone()
    if row is None:
        raise LostRun(str(run_id))
    row.pop("notified")
    return Run.model_validate(row)
