-- Run by store/claims.py expire_due.
-- Parameters: limit.
WITH due AS (
    SELECT id FROM claims
    WHERE status = 'active' AND expires_at <= now()
    ORDER BY expires_at LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE claims c SET status = 'expired', ended_at = c.expires_at
FROM due WHERE c.id = due.id
RETURNING c.id, c.board_id, agent_id, role, NULLIF(scope, '') AS scope, exclusive, fencing_token,
    CASE WHEN status = 'active' AND expires_at <= now() THEN 'expired' ELSE status END AS status,
    rationale, confidence, created_at, expires_at,
    CASE WHEN status = 'active' AND expires_at <= now() THEN expires_at ELSE ended_at END
        AS ended_at, renewed_at, renewals
