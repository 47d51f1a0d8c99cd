-- Run by store/tasks.py claim_statement.
-- Parameters: board_id, claimants, defer.
WITH lapsed AS (
    -- a lease on this board that ran out: its task is older than any open one, and must
    -- be taken back (with its events) before anything is claimed
    SELECT EXISTS (SELECT 1 FROM tasks
                   WHERE board_id = %(board_id)s AND status = 'leased'
                     AND lease_expires_at <= now()) AS found
), leased AS (
    SELECT l.ord, (l.task).*
    FROM lapsed CROSS JOIN LATERAL blackboard_lease_tasks(
        %(board_id)s,
        -- with `defer`, nothing is claimed while a lapsed lease waits to be taken back
        CASE WHEN %(defer)s AND lapsed.found THEN '[]'::jsonb ELSE %(claimants)s::jsonb END
    ) l
), evs AS (
    SELECT 'task.claimed'::text AS kind, l.holder_id AS actor_id, l.id AS subject_id,
           jsonb_build_object('title', l.title, 'status', l.status, 'attempt', l.attempt,
                              'lease_token', l.lease_token,
                              'lease_expires_at', l.lease_expires_at) AS data,
           l.ord
    FROM leased l
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
SELECT l.ord, l.id, l.board_id, l.title, l.spec, l.wants_type, l.required_capabilities, l.inputs, l.max_attempts, l.attempt, l.failures, l.status, l.available_at, l.holder_id, l.lease_token, l.lease_expires_at, l.result_id, l.last_error, l.posted_by, l.created_at, l.updated_at, l.renewed_at, l.renewals,
       lapsed.found AS lapsed, (SELECT pg_notify('bb_events', %(board_id)s::text || ':' || max(seq)) FROM ev_logged HAVING count(*) > 0) AS notified
FROM lapsed LEFT JOIN leased l ON true
