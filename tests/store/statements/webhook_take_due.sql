-- Run by store/webhooks.py take_due.
-- Parameters: lease_s, limit.
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
RETURNING w.id, w.board_id, w.url, w.kinds, w.types, w.owner_id, w.active, w.cursor, w.attempts, w.next_attempt_at, w.created_at, w.secret, w.lease_token
