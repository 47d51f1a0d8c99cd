-- Run by store/artifact_writes.py retract.
-- Parameters: actor_id, artifact_id, board_id, key, reason, type, version.
WITH reserved AS (
    SELECT base + 1 AS seq FROM (SELECT base FROM (
        SELECT blackboard_take_seqs(%(board_id)s, 1) AS base 
    ) taken WHERE base IS NOT NULL) taken
), retracted AS (
    INSERT INTO artifact_retractions (artifact_id, board_id, seq, actor_id, reason)
    SELECT %(artifact_id)s, %(board_id)s, seq, %(actor_id)s, %(reason)s FROM reserved
    RETURNING seq, created_at
), logged AS (
    INSERT INTO events (board_id, seq, kind, actor_id, subject_id, data)
    SELECT %(board_id)s, seq, 'artifact.retracted', %(actor_id)s, %(artifact_id)s,
           jsonb_build_object('type', %(type)s::text, 'key', %(key)s::text,
                              'version', %(version)s::int, 'reason', %(reason)s::text)
    FROM reserved
), moved AS (
    -- The key's current version becomes its newest version still standing. Joined to
    -- `reserved` so that the key row is locked only after the board's counter row.
    UPDATE artifact_keys k SET latest_id = c.id, latest_seq = c.seq
    FROM reserved,
         (SELECT (SELECT a.id FROM artifacts a
                  WHERE a.board_id = %(board_id)s AND a.key = %(key)s AND a.id <> %(artifact_id)s
                    AND NOT EXISTS (SELECT 1 FROM artifact_retractions x
                                    WHERE x.artifact_id = a.id)
                  ORDER BY a.version DESC LIMIT 1) AS id) cur
    LEFT JOIN artifacts c ON c.id = cur.id
    WHERE k.board_id = %(board_id)s AND k.key = %(key)s AND k.latest_id = %(artifact_id)s
)
SELECT seq, created_at, pg_notify('bb_events', %(board_id)s::text || ':' || seq)
FROM retracted
