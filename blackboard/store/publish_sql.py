"""The publish statement's SQL, whole: the template and what completes a task or a turn
in it. store/artifact_writes.py runs it; tests/store/statements/publish*.sql show each
variant as rendered.
"""

from dataclasses import dataclass

from blackboard.store import fencing
from blackboard.store.events import CHANNEL, seqs_taken
from blackboard.store.runs import TURN_HELD, TURN_OPEN
from blackboard.store.tasks import task_columns


@dataclass(frozen=True)
class _Completion:
    """SQL put around the publish statement to complete something in it: `held` locks its
    row first, `check` (then, before the board's seq lock) aborts unless it may be completed,
    `tail` writes the completion after the versions, `returned` adds columns to every row,
    `own_claim` adds the claim the completion makes to those the versions may name."""

    held: str
    check: str
    tail: str
    returned: str
    own_claim: str = ""  # a claim the statement itself makes, as a row of `named`


# Completing tasks in the publish statement (their rows locked first, in id order, like
# every writer locks its rows before the board's): each lease is checked under that lock,
# and by the clock rather than the statement's start (it may have queued for the lock), so
# a lease that ran out since the caller looked aborts the statement with LeaseLost.
# Lists come as one jsonb parameter, and are read with blackboard_items (migration 0011),
# so that the statement is planned once per connection, for a few rows looked up by key.
_HELD = """held AS (
    -- The tasks' rows, locked first in id order.
    SELECT t.id, t.status, t.holder_id, t.attempt, t.lease_expires_at,
           (d->>'holder')::uuid AS holder, (d->>'result_id')::uuid AS result_id,
           (d->>'n')::int AS n
    FROM blackboard_items(%(tasks)s::jsonb) AS d
    JOIN tasks t ON t.id = (d->>'id')::uuid
    ORDER BY t.id
    FOR UPDATE OF t
), """
# Evaluated over `held`'s output, i.e. once the rows are locked: a projection inside `held`
# would read the clock before the lock wait.
_LEASES_RUNNING = """(SELECT coalesce(min(blackboard_fail('LeaseLost',
                                   jsonb_build_object('task_id', id, 'status', status))), 0)
           FROM held
           WHERE NOT (status = 'leased' AND holder_id = holder
                      AND lease_expires_at > clock_timestamp())) = 0"""
# ...and after the versions: close the attempts, complete the tasks, log `task.completed`
# for each with the last of the reserved seqs.
_DONE = f"""
), finished AS (
    -- Close the attempts, complete the tasks, log task.completed at the last seqs.
    UPDATE task_attempts a SET outcome = 'completed', ended_at = now()
    FROM held h WHERE a.task_id = h.id AND a.attempt = h.attempt
), done AS (
    UPDATE tasks t SET status = 'completed', result_id = h.result_id, lease_expires_at = NULL,
                       updated_at = now()
    FROM held h WHERE t.id = h.id
    RETURNING {task_columns("t")}
), task_logged AS (
    INSERT INTO events (board_id, seq, kind, actor_id, subject_id, data)
    SELECT %(board_id)s, reserved.base + %(versions)s + h.n, 'task.completed', d.holder_id,
           d.id, jsonb_build_object('title', d.title, 'status', d.status,
                                    'attempt', d.attempt, 'result_id', d.result_id)
    FROM done d JOIN held h USING (id), reserved"""


# Every parent must be an artifact on this board, checked as the statement starts rather
# than by a query before it: a round trip less for every publish with lineage (a turn's
# answer usually has some). Versions are immutable, so it is the same check either way.
_PARENTS_EXIST = """(SELECT CASE WHEN missing IS NULL THEN 0
                       ELSE blackboard_fail('UnknownParent',
                                            jsonb_build_object('missing', missing))
                       END
           FROM (SELECT jsonb_agg(p.id) AS missing
                 FROM blackboard_items(%(parents)s::jsonb) AS p(id)
                 WHERE NOT EXISTS (SELECT 1 FROM artifacts a
                                   WHERE a.id = (p.id #>> '{}')::uuid
                                     AND a.board_id = %(board_id)s)) m) = 0"""


# Completing a turn in the publish statement: the turn's row is locked and checked first
# (runs.TURN_HELD, runs.TURN_OPEN, shared with abstaining); then, after the board's seqs
# are taken, the role is claimed for the turn's own step (`role.claimed` takes the first
# seq), the versions are written under that claim, and the turn is closed and counted
# (`turn.completed` takes the last seq).
TURN_DONE = """
), slot AS (
    -- The role's fencing counter for the turn's step, moved on.
    INSERT INTO role_slots (board_id, role, scope, last_fencing_token)
    SELECT %(board_id)s, %(role)s, %(scope)s, 1 FROM reserved
    ON CONFLICT (board_id, role, scope)
    DO UPDATE SET last_fencing_token = role_slots.last_fencing_token + 1
    RETURNING last_fencing_token
), claimed AS (
    -- The turn's claim, which every version names.
    INSERT INTO claims (id, board_id, agent_id, role, scope, exclusive, fencing_token, status,
                        rationale, confidence, expires_at)
    SELECT %(claim_id)s, %(board_id)s, %(agent_id)s, %(role)s, %(scope)s, true,
           slot.last_fencing_token, 'active', %(rationale)s, %(confidence)s,
           now() + make_interval(secs => %(claim_ttl_s)s)
    FROM slot
    RETURNING *
), claim_logged AS (
    -- role.claimed takes the first seq.
    INSERT INTO events (board_id, seq, kind, actor_id, subject_id, data)
    SELECT %(board_id)s, reserved.base + 1, 'role.claimed', c.agent_id, c.id,
           jsonb_build_object('role', c.role, 'scope', c.scope, 'exclusive', c.exclusive,
                              'fencing_token', c.fencing_token, 'expires_at', c.expires_at,
                              'rationale', c.rationale, 'confidence', c.confidence)
    FROM claimed c, reserved
), prev AS (
    -- The role this agent took in its last completed turn of the run.
    SELECT role FROM turns
    WHERE run_id = %(run_id)s AND agent_id = %(agent_id)s AND status = 'completed'
      AND step < %(step)s
    ORDER BY step DESC LIMIT 1
), flip AS (
    -- role flipping (a new role for the same agent in the same run) is recorded
    SELECT CASE WHEN p.role IS NOT NULL AND p.role <> %(role)s
                THEN jsonb_build_object('from', p.role, 'to', %(role)s::text) END AS f
    FROM (SELECT 1) one LEFT JOIN prev p ON true
), closed AS (
    -- The turn, completed.
    UPDATE turns SET status = 'completed', role = %(role)s, rationale = %(rationale)s,
        artifact_ids = %(artifact_ids)s, claim_id = %(claim_id)s, call = %(call)s,
        manifest = manifest || jsonb_build_object('outcome', 'acted', 'role', %(role)s::text,
                                                  'role_flip', (SELECT f FROM flip)),
        completed_at = now()
    WHERE id = %(turn_id)s
    RETURNING id, run_id, agent_id, step, round, phase, role, artifact_ids, completed_at
), counted AS (
    -- ...and counted against the run.
    UPDATE runs SET turns_used = turns_used + 1, tokens_used = tokens_used + %(tokens)s
    FROM closed WHERE runs.id = closed.run_id
), turn_logged AS (
    -- turn.completed takes the last seq.
    INSERT INTO events (board_id, seq, kind, actor_id, subject_id, data)
    SELECT %(board_id)s, reserved.base + %(n)s, 'turn.completed', c.agent_id, c.id,
           jsonb_build_object('run_id', c.run_id, 'agent_id', c.agent_id, 'step', c.step,
                              'round', c.round, 'phase', c.phase, 'role', c.role,
                              'role_flip', (SELECT f FROM flip),
                              'artifact_ids', to_jsonb(c.artifact_ids))
    FROM closed c, reserved"""
TURN_RETURNED = """ (SELECT completed_at FROM closed) AS completed_at,
       (SELECT f FROM flip) AS role_flip,"""


# A turn's answer claims the turn's role in the statement itself (TURN_DONE below):
# its drafts may name that claim before it exists, as this row, with the token it will get.
TURN_CLAIM = """
    UNION ALL
    SELECT %(claim_id)s::uuid, %(board_id)s::uuid, %(agent_id)s::uuid, %(role)s::text,
           %(scope)s::text, true,
           coalesce((SELECT s.last_fencing_token FROM role_slots s
                     WHERE s.board_id = %(board_id)s AND s.role = %(role)s
                       AND s.scope = %(scope)s), 0) + 1,
           'active'::text, 'infinity'::timestamptz"""


_TASKS = _Completion(
    _HELD,
    _LEASES_RUNNING,
    _DONE,
    " (SELECT to_jsonb(d) FROM done d WHERE d.result_id = inserted.id) AS task,",
)
_TURN = _Completion(TURN_HELD, TURN_OPEN, TURN_DONE, TURN_RETURNED, TURN_CLAIM)
_NOTHING = _Completion("", "", "", "")


def publish_sql(completion: _Completion) -> str:
    return (
        """
WITH """
        + completion.held
        + """drafts AS (
    -- One jsonb parameter for all drafts: far cheaper to send than a dozen arrays.
    SELECT * FROM jsonb_to_recordset(%(items)s::jsonb)
        AS v(id uuid, author_id uuid, type text, type_version int, key text,
             expected_version int, body jsonb, role text, parents jsonb, tags jsonb,
             content_hash text, idempotency_key text, request_hash text, claim_id uuid,
             ord bigint)
), """
        + fencing.FENCE
        + completion.own_claim
        + "\n), "
        + fencing.VETTED
        + "reserved AS (\n    -- The board's seqs (its lock), once every check before it passed.\n"
        + seqs_taken("%(n)s", *filter(None, [_PARENTS_EXIST, fencing.VETTED_OK, completion.check]))
        + """
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
    FROM checked"""
        + completion.tail
        + """
)
-- A row a version, in seq order; the NOTIFY names the board's last seq.
SELECT id, seq, version, created_at, role, fencing_token,"""
        + completion.returned
        + """
       pg_notify('"""
        + CHANNEL
        + """', %(board_id)s::text || ':' || (SELECT base + %(n)s FROM reserved))
FROM inserted ORDER BY seq
"""
    )


PUBLISH = publish_sql(_NOTHING)
PUBLISH_COMPLETING_TASKS = publish_sql(_TASKS)
PUBLISH_COMPLETING_TURN = publish_sql(_TURN)
