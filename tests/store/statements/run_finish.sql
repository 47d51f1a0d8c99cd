-- Run by store/run_endings.py finish.
-- Parameters: board_id, lease_token, reason, run_id, status.
WITH ended AS (
    UPDATE runs SET status = %(status)s, stop_reason = %(reason)s, ended_at = now(),
        lease_expires_at = NULL
    WHERE id = %(run_id)s AND lease_token = %(lease_token)s
    RETURNING id, board_id, protocol, roster, goal, params, status, stop_reason, turns_used,
    tokens_used, controller, lease_token, created_at, started_at, ended_at
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
SELECT ended.*, (SELECT pg_notify('bb_events', %(board_id)s::text || ':' || max(seq)) FROM ev_logged HAVING count(*) > 0) AS notified FROM ended
