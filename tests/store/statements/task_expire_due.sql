-- Run by store/tasks.py expire_due.
-- Parameters: limit.
WITH due AS (
    SELECT id, holder_id AS former_holder FROM tasks
    WHERE status = 'leased' AND lease_expires_at <= now() {board_filter}
    ORDER BY lease_expires_at LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), expired AS (
    UPDATE tasks t
    SET status = CASE WHEN t.failures + 1 >= t.max_attempts THEN 'failed' ELSE 'open' END,
        failures = t.failures + 1, holder_id = NULL, lease_expires_at = NULL,
        available_at = now(), last_error = 'lease expired', updated_at = now()
    FROM due WHERE t.id = due.id
    RETURNING t.id, t.board_id, t.title, t.spec, t.wants_type, t.required_capabilities, t.inputs, t.max_attempts, t.attempt, t.failures, t.status, t.available_at, t.holder_id, t.lease_token, t.lease_expires_at, t.result_id, t.last_error, t.posted_by, t.created_at, t.updated_at, t.renewed_at, t.renewals, due.former_holder
), closed AS (
    UPDATE task_attempts a SET outcome = 'lease_expired', ended_at = now()
    FROM expired e WHERE a.task_id = e.id AND a.attempt = e.attempt
)
SELECT * FROM expired
