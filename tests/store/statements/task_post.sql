-- Run by store/tasks.py post_statement.
-- Parameters: board_id, tasks.
WITH input AS (
    SELECT * FROM jsonb_to_recordset(%(tasks)s::jsonb)
        AS p(id uuid, title text, spec jsonb, wants_type text, required_capabilities jsonb,
             inputs jsonb, max_attempts int, posted_by uuid, ord int)
), posted AS (
    INSERT INTO tasks (id, board_id, title, spec, wants_type, required_capabilities,
                       inputs, max_attempts, status, posted_by, created_at)
    SELECT p.id, %(board_id)s, p.title, p.spec, p.wants_type,
           ARRAY(SELECT jsonb_array_elements_text(p.required_capabilities)),
           ARRAY(SELECT jsonb_array_elements_text(p.inputs))::uuid[],
           p.max_attempts, 'open', p.posted_by, clock_timestamp()
    FROM input p ORDER BY p.ord
    RETURNING id, board_id, title, spec, wants_type, required_capabilities, inputs,
    max_attempts, attempt, failures, status, available_at, holder_id, lease_token,
    lease_expires_at, result_id, last_error, posted_by, created_at, updated_at, renewed_at,
    renewals
), evs AS (
    SELECT 'task.posted'::text AS kind, t.posted_by AS actor_id, t.id AS subject_id,
           jsonb_build_object('title', t.title, 'status', t.status, 'attempt', t.attempt,
                              'required_capabilities', t.required_capabilities,
                              'wants_type', t.wants_type) AS data,
           p.ord
    FROM posted t JOIN input p USING (id)
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
SELECT t.id, t.board_id, t.title, t.spec, t.wants_type, t.required_capabilities, t.inputs, t.max_attempts, t.attempt, t.failures, t.status, t.available_at, t.holder_id, t.lease_token, t.lease_expires_at, t.result_id, t.last_error, t.posted_by, t.created_at, t.updated_at, t.renewed_at, t.renewals, (SELECT pg_notify('bb_events', %(board_id)s::text || ':' || max(seq)) FROM ev_logged HAVING count(*) > 0) AS notified
FROM posted t JOIN input p USING (id) ORDER BY p.ord
