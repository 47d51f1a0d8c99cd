-- Run by store/runs.py take_drivable.
-- Parameters: controller, lease_s.
WITH next AS (
    SELECT id FROM runs
    WHERE status IN ('pending', 'running')
      AND (lease_expires_at IS NULL OR lease_expires_at <= now())
    ORDER BY created_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE runs r SET controller = %(controller)s, lease_token = r.lease_token + 1,
    lease_expires_at = now() + make_interval(secs => %(lease_s)s),
    status = 'running', started_at = coalesce(r.started_at, now())
FROM next WHERE r.id = next.id
RETURNING r.id, r.board_id, protocol, roster, goal, params, status, stop_reason, turns_used,
    tokens_used, controller, lease_token, created_at, started_at, ended_at
