-- Run by store/runs.py abstain_turn.
-- Parameters: abstention_id, agent_id, board_id, call, confidence, reason, scope,
-- tokens, turn_id.
WITH held AS (
    -- The turn's row, locked first.
    SELECT id, status, agent_id, deadline FROM turns WHERE id = %(turn_id)s FOR UPDATE
), answerable AS (
    SELECT 1 FROM held WHERE (SELECT CASE WHEN agent_id <> %(agent_id)s
                       THEN blackboard_fail('TurnNotYours', jsonb_build_object('turn_id', id))
                       WHEN status <> 'offered' OR deadline <= clock_timestamp()
                       THEN blackboard_fail('TurnClosed', jsonb_build_object('turn_id', id,
                            'status', CASE status WHEN 'offered' THEN 'timed_out'
                                                  ELSE status END))
                       ELSE 0
                       END
           FROM held) = 0
), closed AS (
    UPDATE turns SET status = 'abstained', reason = %(reason)s, call = %(call)s,
        manifest = manifest || '{"outcome": "abstained"}'::jsonb, completed_at = now()
    WHERE id = %(turn_id)s AND EXISTS (SELECT 1 FROM answerable)
    RETURNING id, run_id, agent_id, step, round, phase, completed_at
), counted AS (
    UPDATE runs SET turns_used = turns_used + 1, tokens_used = tokens_used + %(tokens)s
    FROM closed WHERE runs.id = closed.run_id
), evs AS (
    SELECT 'agent.abstained'::text AS kind, c.agent_id AS actor_id,
           %(abstention_id)s::uuid AS subject_id,
           jsonb_build_object('scope', %(scope)s::text, 'role', NULL, 'task_id', NULL,
                              'reason', %(reason)s::text, 'confidence', %(confidence)s::float8,
                              'run_id', c.run_id, 'turn_id', c.id) AS data,
           1 AS ord
    FROM closed c
    UNION ALL
    SELECT 'turn.abstained', c.agent_id, c.id,
           jsonb_build_object('run_id', c.run_id, 'agent_id', c.agent_id, 'step', c.step,
                              'round', c.round, 'phase', c.phase, 'reason', %(reason)s::text),
           2
    FROM closed c
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
, recorded AS (
    -- the ledger's record of the abstention, at the seq of its agent.abstained event
    INSERT INTO abstentions (id, board_id, agent_id, scope, role, task_id, reason, confidence,
                             seq)
    SELECT %(abstention_id)s, %(board_id)s, c.agent_id, %(scope)s, NULL, NULL, %(reason)s,
           %(confidence)s, r.base + 1
    FROM closed c, ev_reserved r
)
SELECT closed.completed_at, (SELECT pg_notify('bb_events', %(board_id)s::text || ':' || max(seq)) FROM ev_logged HAVING count(*) > 0) AS notified FROM closed
