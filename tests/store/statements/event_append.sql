-- Run by store/events.py append.
-- Parameters: actors, board_id, datas, kinds, subjects.
WITH evs AS (
    SELECT e.kind, e.actor_id, e.subject_id, e.data, e.ord
    FROM unnest(%(kinds)s::text[], %(actors)s::uuid[], %(subjects)s::uuid[], %(datas)s::jsonb[])
         WITH ORDINALITY AS e(kind, actor_id, subject_id, data, ord)
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
SELECT seq, (SELECT pg_notify('bb_events', %(board_id)s::text || ':' || max(seq)) FROM ev_logged HAVING count(*) > 0) AS notified FROM ev_logged
