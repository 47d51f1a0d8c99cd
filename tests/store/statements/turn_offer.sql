-- Run by store/runs.py offer_turn.
-- Parameters: agent_id, board_id, bundle, lease_token, manifest, model, phase, round,
-- run_id, step, timeout_s, turn_id.
WITH inserted AS (
    INSERT INTO turns (id, run_id, board_id, agent_id, step, round, phase, status, deadline,
                       bundle, manifest)
    SELECT %(turn_id)s, %(run_id)s, %(board_id)s, %(agent_id)s, %(step)s, %(round)s,
           %(phase)s, 'offered', now() + make_interval(secs => %(timeout_s)s), %(bundle)s,
           %(manifest)s
    WHERE EXISTS (SELECT 1 FROM runs WHERE id = %(run_id)s AND lease_token = %(lease_token)s)
    RETURNING id, run_id, agent_id, step, round, phase, deadline, created_at
), evs AS (
    SELECT 'turn.offered'::text AS kind, i.agent_id AS actor_id, i.id AS subject_id,
           jsonb_build_object('run_id', i.run_id, 'agent_id', i.agent_id, 'step', i.step,
                              'round', i.round, 'phase', i.phase, 'model', %(model)s::text)
               AS data,
           1 AS ord
    FROM inserted i
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
SELECT inserted.*, (SELECT pg_notify('bb_events', %(board_id)s::text || ':' || max(seq)) FROM ev_logged HAVING count(*) > 0) AS notified FROM inserted
