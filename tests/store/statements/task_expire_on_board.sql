-- Run by store/tasks.py expire_on_board.
-- Parameters: board_id, limit.
WITH due AS (
    SELECT id, holder_id AS former_holder FROM tasks
    WHERE board_id = %(board_id)s AND status = 'leased' AND lease_expires_at <= now()
    ORDER BY lease_expires_at LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), expired AS (
    UPDATE tasks t
    SET status = CASE WHEN t.failures + 1 >= t.max_attempts THEN 'failed' ELSE 'open' END,
        failures = t.failures + 1, holder_id = NULL, lease_expires_at = NULL,
        available_at = now(), last_error = 'lease expired', updated_at = now()
    FROM due WHERE t.id = due.id
    RETURNING t.id, t.title, t.status, t.attempt, due.former_holder
), closed AS (
    UPDATE task_attempts a SET outcome = 'lease_expired', ended_at = now()
    FROM expired e WHERE a.task_id = e.id AND a.attempt = e.attempt
), evs AS (
    SELECT 'task.lease_expired'::text AS kind, NULL::uuid AS actor_id, e.id AS subject_id,
           jsonb_build_object('title', e.title, 'status', e.status, 'attempt', e.attempt,
                              'former_holder', e.former_holder) AS data,
           (row_number() OVER (ORDER BY e.id)) * 2 - 1 AS ord
    FROM expired e
    UNION ALL
    SELECT 'task.failed', NULL, e.id,
           jsonb_build_object('title', e.title, 'status', e.status, 'attempt', e.attempt,
                              'reason', 'lease expired', 'final', true),
           (row_number() OVER (ORDER BY e.id)) * 2
    FROM expired e WHERE e.status = 'failed'
)
, ev_numbered AS (
    SELECT s.*, row_number() OVER (ORDER BY s.ord) AS n FROM evs s
), ev_reserved AS (
    SELECT base FROM (
        SELECT blackboard_take_seqs(%(board_id)s, (SELECT count(*) FROM ev_numbered)) AS base WHERE EXISTS (SELECT 1 FROM ev_numbered)
    ) taken WHERE base IS NOT NULL
), ev_logged AS (
    INSERT INTO events (board_id, seq, kind, actor_id, subject_id, data)
    SELECT %(board_id)s, r.base + e.n, e.kind, e.actor_id, e.subject_id, e.data
    FROM ev_reserved r, ev_numbered e
    RETURNING seq
)
SELECT count(*) AS expired, (SELECT pg_notify('bb_events', %(board_id)s::text || ':' || max(seq)) FROM ev_logged HAVING count(*) > 0) AS notified FROM expired
