-- Run by store/artifact_writes.py publish (with TaskDone).
-- Parameters: before, board_id, items, n, parents, tasks, versions.
WITH held AS (
    -- The tasks' rows, locked first in id order.
    SELECT t.id, t.status, t.holder_id, t.attempt, t.lease_expires_at,
           (d->>'holder')::uuid AS holder, (d->>'result_id')::uuid AS result_id,
           (d->>'n')::int AS n
    FROM blackboard_items(%(tasks)s::jsonb) AS d
    JOIN tasks t ON t.id = (d->>'id')::uuid
    ORDER BY t.id
    FOR UPDATE OF t
), drafts AS (
    -- One jsonb parameter for all drafts: far cheaper to send than a dozen arrays.
    SELECT * FROM jsonb_to_recordset(%(items)s::jsonb)
        AS v(id uuid, author_id uuid, type text, type_version int, key text,
             expected_version int, body jsonb, role text, parents jsonb, tags jsonb,
             content_hash text, idempotency_key text, request_hash text, claim_id uuid,
             ord bigint)
), fence AS (
    -- The claims the drafts name, locked FOR SHARE in id order.
    SELECT c.id, c.board_id, c.agent_id, c.role, c.scope, c.exclusive, c.fencing_token,
           c.status, c.expires_at
    FROM claims c WHERE c.id IN (SELECT claim_id FROM drafts)
    ORDER BY c.id
    FOR SHARE OF c
), named AS (
    -- ...and any claim the statement itself makes.
    SELECT * FROM fence
), vetted AS (
    -- Each draft against its claim and its key's guard: 0, or an abort.
    SELECT d.ord, coalesce(d.role, c.role) AS role, c.fencing_token, g.id IS NOT NULL AS guarded,
        CASE
        WHEN d.claim_id IS NOT NULL
             AND (c.id IS NULL OR c.agent_id <> d.author_id OR c.board_id <> %(board_id)s
                  OR c.status <> 'active' OR c.expires_at <= clock_timestamp())
            THEN blackboard_fail('StaleClaim', jsonb_build_object('index', d.ord - 1,
                 'claim_id', d.claim_id,
                 'status', CASE WHEN c.id IS NULL OR c.agent_id <> d.author_id THEN 'foreign'
                                WHEN c.board_id <> %(board_id)s THEN 'on another board'
                                WHEN c.status = 'active' THEN 'expired' ELSE c.status END))
        WHEN g.id IS NOT NULL AND d.claim_id IS NULL
            THEN blackboard_fail('ClaimRequired', jsonb_build_object('index', d.ord - 1,
                 'key', d.key, 'guard_id', g.id, 'role', g.role, 'scope', g.scope))
        WHEN g.id IS NOT NULL
             AND (c.role <> g.role OR NOT c.exclusive OR (g.scoped AND c.scope <> g.scope))
            THEN blackboard_fail('WrongClaim', jsonb_build_object('index', d.ord - 1,
                 'key', d.key, 'guard_id', g.id, 'role', g.role, 'scope', g.scope,
                 'claim_id', c.id, 'claim_role', c.role, 'claim_scope', NULLIF(c.scope, '')))
        WHEN d.role IS NOT NULL AND d.claim_id IS NOT NULL AND d.role <> c.role
            THEN blackboard_fail('RoleMismatch', jsonb_build_object('index', d.ord - 1,
                 'role', c.role))
        WHEN d.role IS NOT NULL AND d.claim_id IS NULL
             AND NOT EXISTS (SELECT 1 FROM claims x
                             WHERE x.board_id = %(board_id)s AND x.agent_id = d.author_id
                               AND x.role = d.role AND x.status = 'active'
                               AND x.expires_at > clock_timestamp())
            THEN blackboard_fail('RoleWithoutClaim', jsonb_build_object('index', d.ord - 1,
                 'role', d.role))
        ELSE 0
        END AS failed
    FROM drafts d
    LEFT JOIN named c ON c.id = d.claim_id
    LEFT JOIN LATERAL (
        SELECT g.id, g.role, g.scoped,
               CASE WHEN g.scoped THEN (regexp_match(d.key, g.key_regex))[1] END AS scope
        FROM guards g WHERE g.board_id = %(board_id)s AND d.key ~ g.key_regex
        LIMIT 1
    ) g ON true
), reserved AS (
    -- The board's seqs (its lock), once every check before it passed.
SELECT base FROM (
        SELECT blackboard_take_seqs(%(board_id)s, %(n)s) AS base WHERE (SELECT CASE WHEN missing IS NULL THEN 0
                       ELSE blackboard_fail('UnknownParent',
                                            jsonb_build_object('missing', missing))
                       END
           FROM (SELECT jsonb_agg(p.id) AS missing
                 FROM blackboard_items(%(parents)s::jsonb) AS p(id)
                 WHERE NOT EXISTS (SELECT 1 FROM artifacts a
                                   WHERE a.id = (p.id #>> '{}')::uuid
                                     AND a.board_id = %(board_id)s)) m) = 0 AND (SELECT coalesce(sum(failed), 0) FROM vetted) = 0 AND (SELECT coalesce(min(blackboard_fail('LeaseLost',
                                   jsonb_build_object('task_id', id, 'status', status))), 0)
           FROM held
           WHERE NOT (status = 'leased' AND holder_id = holder
                      AND lease_expires_at > clock_timestamp())) = 0
    ) taken WHERE base IS NOT NULL
), items AS (
    -- Each draft with its vetted claim and token, numbered after the reserved base.
    SELECT d.id, d.author_id, d.type, d.type_version, d.key, d.expected_version, d.body,
           v.role, d.parents, d.tags, d.content_hash, d.idempotency_key, d.request_hash,
           d.claim_id, d.ord, v.fencing_token, v.guarded,
           reserved.base + %(before)s + d.ord AS seq
    FROM reserved, drafts d JOIN vetted v USING (ord)
), per_key AS (
    -- One row a key: how many versions it takes, its newest, its tokens.
    SELECT key, min(type) AS type, count(*)::int AS n, max(seq) AS latest_seq,
           (array_agg(id ORDER BY seq DESC))[1] AS latest_id,
           max(fencing_token) FILTER (WHERE guarded) AS fencing_token,
           min(fencing_token) FILTER (WHERE guarded) AS lowest_token
    FROM items GROUP BY key
), keyed AS (
    -- The key rows, locked in key order (only ever by holders of the board's seq lock),
    -- their version counters moved on by the versions written here.
    INSERT INTO artifact_keys AS k (board_id, key, type, last_version, latest_id, latest_seq,
                                    fencing_token)
    SELECT %(board_id)s, key, type, n, latest_id, latest_seq, fencing_token
    FROM per_key ORDER BY key
    ON CONFLICT (board_id, key) DO UPDATE
        SET last_version = k.last_version + EXCLUDED.last_version,
            latest_id = EXCLUDED.latest_id, latest_seq = EXCLUDED.latest_seq,
            -- the fencing token check, on the key's row as it stands (locked here): a
            -- guarded key never takes a lower token than it has had
            fencing_token = CASE
                WHEN k.fencing_token > (SELECT p.lowest_token FROM per_key p WHERE p.key = k.key)
                THEN blackboard_fail('Outfenced', (
                    SELECT jsonb_build_object('index', i.ord - 1, 'key', i.key,
                                              'claim_id', i.claim_id,
                                              'fencing_token', i.fencing_token,
                                              'highest', k.fencing_token)
                    FROM items i
                    WHERE i.key = k.key AND i.guarded AND i.fencing_token < k.fencing_token
                    ORDER BY i.ord LIMIT 1))
                ELSE GREATEST(k.fencing_token, EXCLUDED.fencing_token)
                END
    RETURNING key, type AS key_type, last_version
), checked AS (
    -- What only the locked key row can tell: its type, the expected version, the newest
    -- schema version; each draft's version number.
    SELECT i.*,
        CASE
        WHEN keyed.key_type <> i.type THEN blackboard_fail('KeyTypeMismatch',
            jsonb_build_object('index', i.ord - 1, 'key', i.key, 'key_type', keyed.key_type))
        WHEN i.expected_version IS NOT NULL
             AND i.expected_version <> keyed.last_version - p.n + i.rank - 1
            THEN blackboard_fail('VersionConflict', jsonb_build_object('index', i.ord - 1,
                 'key', i.key, 'current_version', keyed.last_version - p.n + i.rank - 1))
        WHEN i.type_version <> (SELECT max(t.version) FROM artifact_types t WHERE t.name = i.type)
            THEN blackboard_fail('TypeChanged', jsonb_build_object('type', i.type))
        -- ...and within the statement, no version takes a lower token than one before it
        WHEN i.guarded AND i.fencing_token < i.token_before
            THEN blackboard_fail('Outfenced', jsonb_build_object('index', i.ord - 1,
                 'key', i.key, 'claim_id', i.claim_id, 'fencing_token', i.fencing_token,
                 'highest', i.token_before))
        ELSE keyed.last_version - p.n + i.rank
        END AS version
    FROM (SELECT items.*, row_number() OVER (PARTITION BY key ORDER BY ord)::int AS rank,
                 max(fencing_token) FILTER (WHERE guarded) OVER (PARTITION BY key ORDER BY ord
                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS token_before
          FROM items) i
    JOIN keyed USING (key) JOIN per_key p USING (key)
), inserted AS (
    -- The versions themselves.
    INSERT INTO artifacts (id, board_id, type, type_version, key, version, body, author_id,
                           role, parents, tags, seq, content_hash, idempotency_key, request_hash,
                           claim_id, fencing_token)
    SELECT id, %(board_id)s, type, type_version, key, version, body, author_id, role,
           ARRAY(SELECT jsonb_array_elements_text(parents))::uuid[],
           ARRAY(SELECT jsonb_array_elements_text(tags)),
           seq, content_hash, idempotency_key, request_hash, claim_id, fencing_token
    FROM checked
    RETURNING id, seq, version, created_at, role, fencing_token
), logged AS (
    -- One artifact.published event a version, at the version's seq.
    INSERT INTO events (board_id, seq, kind, actor_id, subject_id, data)
    SELECT %(board_id)s, seq, 'artifact.published', author_id, id,
           jsonb_build_object('type', type, 'key', key, 'version', version, 'role', role,
                              'claim_id', claim_id, 'fencing_token', fencing_token)
    FROM checked
), finished AS (
    -- Close the attempts, complete the tasks, log task.completed at the last seqs.
    UPDATE task_attempts a SET outcome = 'completed', ended_at = now()
    FROM held h WHERE a.task_id = h.id AND a.attempt = h.attempt
), done AS (
    UPDATE tasks t SET status = 'completed', result_id = h.result_id, lease_expires_at = NULL,
                       updated_at = now()
    FROM held h WHERE t.id = h.id
    RETURNING t.id, t.board_id, t.title, t.spec, t.wants_type, t.required_capabilities, t.inputs, t.max_attempts, t.attempt, t.failures, t.status, t.available_at, t.holder_id, t.lease_token, t.lease_expires_at, t.result_id, t.last_error, t.posted_by, t.created_at, t.updated_at, t.renewed_at, t.renewals
), task_logged AS (
    INSERT INTO events (board_id, seq, kind, actor_id, subject_id, data)
    SELECT %(board_id)s, reserved.base + %(versions)s + h.n, 'task.completed', d.holder_id,
           d.id, jsonb_build_object('title', d.title, 'status', d.status,
                                    'attempt', d.attempt, 'result_id', d.result_id)
    FROM done d JOIN held h USING (id), reserved
)
-- A row a version, in seq order; the NOTIFY names the board's last seq.
SELECT id, seq, version, created_at, role, fencing_token, (SELECT to_jsonb(d) FROM done d WHERE d.result_id = inserted.id) AS task,
       pg_notify('bb_events', %(board_id)s::text || ':' || (SELECT base + %(n)s FROM reserved))
FROM inserted ORDER BY seq
