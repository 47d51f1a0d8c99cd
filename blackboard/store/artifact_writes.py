"""Writing artifact versions and retractions: one statement each.

Why one statement: every write to a board takes its counter row's lock to number its
events (see store/events.py), and that lock is held until commit. Run as a single
autocommitted statement, the lock is held for the statement's own execution and the
commit — never across a round trip to a busy API process. So the statement does it all
in a fixed order: take the board's seqs first (the lock), then the key rows (version
counters: only ever locked by holders of the board lock, hence no deadlocks), check
what can only be checked there (the key's type, `expected_version`, that the type's
schema version is still the newest) and that every parent exists, and write versions,
events and the NOTIFY.
A failed check aborts the statement through `blackboard_fail` (SQLSTATE BB001).
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from blackboard.errors import (
    FieldError,
    InvalidInput,
    LeaseLost,
    NotFound,
    Retry,
    UnknownParent,
    VersionConflict,
)
from blackboard.records import Retraction
from blackboard.store import fencing, runs
from blackboard.store.constraints import failed_check, translated
from blackboard.store.database import Conn, Statement, execute
from blackboard.store.events import CHANNEL, seqs_taken
from blackboard.store.tasks import task_columns


@dataclass(frozen=True)
class NewVersion:
    """A validated artifact version to write; the statement numbers its version and seq."""

    id: UUID
    author_id: UUID
    type: str
    type_version: int
    key: str
    expected_version: int | None
    body: dict[str, Any]
    role: str | None
    claim_id: UUID | None
    parents: list[UUID]
    tags: list[str]
    content_hash: str
    idempotency_key: str | None
    request_hash: str | None


class TypeChanged(Retry):
    """A newer schema version was registered after we validated: validate again."""


@dataclass(frozen=True)
class TaskDone:
    """A task that the same statement completes with version `result_id` (by default the
    first version written) as its result, if `holder_id` holds its lease (whichever
    attempt that is)."""

    task_id: UUID
    holder_id: UUID
    result_id: UUID | None = None


@dataclass(frozen=True)
class TurnDone:
    """A turn that the same statement completes: it claims `role` for the turn's own step
    (`claim_id`, chosen by the caller and named by every version) and closes the turn."""

    turn_id: UUID
    run_id: UUID
    step: int
    agent_id: UUID
    claim_id: UUID
    role: str
    rationale: str | None
    confidence: float | None
    call: dict[str, Any]
    tokens: int
    claim_ttl_s: float = 60.0

    @property
    def scope(self) -> str:
        """The claim's scope: this step of this run, which nobody else can hold."""
        return runs.step_scope(self.run_id, self.step)


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


_TASKS = _Completion(
    _HELD,
    _LEASES_RUNNING,
    _DONE,
    " (SELECT to_jsonb(d) FROM done d WHERE d.result_id = inserted.id) AS task,",
)
_TURN = _Completion(
    runs.TURN_HELD, runs.TURN_OPEN, runs.TURN_DONE, runs.TURN_RETURNED, fencing.TURN_CLAIM
)
_NOTHING = _Completion("", "", "", "")


def _publish_sql(completion: _Completion) -> str:
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
        + "reserved AS (\n"
        + seqs_taken("%(n)s", *filter(None, [_PARENTS_EXIST, fencing.VETTED_OK, completion.check]))
        + """
), items AS (
    SELECT d.id, d.author_id, d.type, d.type_version, d.key, d.expected_version, d.body,
           v.role, d.parents, d.tags, d.content_hash, d.idempotency_key, d.request_hash,
           d.claim_id, d.ord, v.fencing_token, v.guarded,
           reserved.base + %(before)s + d.ord AS seq
    FROM reserved, drafts d JOIN vetted v USING (ord)
), per_key AS (
    SELECT key, min(type) AS type, count(*)::int AS n, max(seq) AS latest_seq,
           (array_agg(id ORDER BY seq DESC))[1] AS latest_id,
           max(fencing_token) FILTER (WHERE guarded) AS fencing_token,
           min(fencing_token) FILTER (WHERE guarded) AS lowest_token
    FROM items GROUP BY key
), keyed AS (
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
    INSERT INTO events (board_id, seq, kind, actor_id, subject_id, data)
    SELECT %(board_id)s, seq, 'artifact.published', author_id, id,
           jsonb_build_object('type', type, 'key', key, 'version', version, 'role', role,
                              'claim_id', claim_id, 'fencing_token', fencing_token)
    FROM checked"""
        + completion.tail
        + """
)
SELECT id, seq, version, created_at, role, fencing_token,"""
        + completion.returned
        + """
       pg_notify('"""
        + CHANNEL
        + """', %(board_id)s::text || ':' || (SELECT base + %(n)s FROM reserved))
FROM inserted ORDER BY seq
"""
    )


_PUBLISH = _publish_sql(_NOTHING)
_PUBLISH_COMPLETING_TASKS = _publish_sql(_TASKS)
_PUBLISH_COMPLETING_TURN = _publish_sql(_TURN)


@contextmanager
def _failed_checks(versions: list[NewVersion], where: list[str]) -> Iterator[None]:
    """Turn `blackboard_fail` aborts into domain errors; `where[i]` locates draft i."""
    try:
        yield
    except psycopg.Error as exc:
        check = failed_check(exc)
        if check is None:
            raise
        code, detail = check
        if code == "TypeChanged":
            raise TypeChanged("the type got a new schema version while publishing") from exc
        if code == "LeaseLost":
            raise LeaseLost.on_task(detail["task_id"], detail["status"]) from exc
        if code == "UnknownParent":
            raise _unknown_parents(versions, where, {UUID(m) for m in detail["missing"]}) from exc
        failure = runs.turn_failure(code, detail) or fencing.fencing_failure(code, detail, where)
        if failure is not None:
            raise failure from exc
        index = int(detail["index"])
        key = detail["key"]
        if code == "VersionConflict":
            current = int(detail["current_version"])
            raise VersionConflict(
                f"key {key!r} is at version {current}",
                key=key,
                current_version=current,
                index=index,
            ) from exc
        key_type = detail["key_type"]
        raise InvalidInput(
            f"key {key!r} holds artifacts of type {key_type!r}",
            errors=[FieldError(where[index] + "/type", f"must be {key_type!r} for this key")],
            index=index,
        ) from exc


def _unknown_parents(
    versions: list[NewVersion], where: list[str], missing: set[UUID]
) -> UnknownParent:
    errors = [
        (i, FieldError(f"{where[i]}/parents/{j}", "no artifact with this id on this board"))
        for i, v in enumerate(versions)
        for j, p in enumerate(v.parents)
        if p in missing
    ]
    return UnknownParent(
        "a parent is not an artifact on this board",
        errors=[e for _, e in errors],
        index=errors[0][0],
    )


def publish_statement(
    board_id: UUID, versions: list[NewVersion], completing: Sequence[TaskDone] | TurnDone = ()
) -> Statement:
    """The statement `publish` runs (see there); read its rows with `published`."""
    params: dict[str, Any] = {
        "board_id": board_id,
        "n": len(versions),
        "items": Jsonb([{**vars(v), "ord": i} for i, v in enumerate(versions, 1)]),
        "before": 1 if isinstance(completing, TurnDone) else 0,  # `role.claimed` goes first
        "parents": Jsonb(list({p for v in versions for p in v.parents})),
    }
    query = _PUBLISH
    if isinstance(completing, TurnDone):
        query = _PUBLISH_COMPLETING_TURN
        params.update(
            {k: v for k, v in vars(completing).items() if k != "call"},
            n=len(versions) + 2,  # the claim's event first, the turn's last
            scope=completing.scope,
            call=Jsonb(completing.call),
            artifact_ids=[v.id for v in versions],
        )
    elif completing:
        query = _PUBLISH_COMPLETING_TASKS
        params.update(
            n=len(versions) + len(completing),  # the tasks' events take the last seqs
            versions=len(versions),
            tasks=Jsonb(
                [
                    {
                        "id": t.task_id,
                        "holder": t.holder_id,
                        "result_id": t.result_id or versions[0].id,
                        "n": i,
                    }
                    for i, t in enumerate(completing, 1)
                ]
            ),
        )
    return Statement(query, params)


def published(board_id: UUID, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of a `publish_statement`; NotFound if it found no such board."""
    if not rows:
        raise NotFound("no board with this id", board_id=str(board_id))
    return rows


async def publish(
    conn: Conn,
    *,
    board_id: UUID,
    versions: list[NewVersion],
    where: list[str],
    completing: Sequence[TaskDone] | TurnDone = (),
) -> list[dict[str, Any]]:
    """Write the versions (of one author or several) and their events in one statement;
    return [{id, seq, version, created_at}] in input order. NotFound if no such board.

    With `TaskDone`s, the same statement completes each of those tasks with its result
    version (LeaseLost unless each holder's lease is still running); each row then also
    carries the task it completed as `task` (None if none). With a `TurnDone`, it claims
    the turn's role, writes the versions under that claim and closes the turn (LeaseLost
    once the turn closed, Forbidden if it is another agent's); each row then also carries
    the turn's `completed_at` and `role_flip`."""
    statement = publish_statement(board_id, versions, completing)
    with translated(), _failed_checks(versions, where):
        cur = await execute(conn, statement)
        rows = await cur.fetchall()
    return published(board_id, rows)


_RETRACT = (
    """
WITH reserved AS (
    SELECT base + 1 AS seq FROM ("""
    + seqs_taken("1")
    + """) taken
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
SELECT seq, created_at, pg_notify('"""
    + CHANNEL
    + """', %(board_id)s::text || ':' || seq)
FROM retracted
"""
)


async def retract(
    conn: Conn,
    *,
    board_id: UUID,
    artifact_id: UUID,
    key: str,
    type: str,
    version: int,
    actor_id: UUID | None,
    reason: str,
) -> Retraction:
    """Record the retraction and its event, and move the key's current version back."""
    with translated():
        cur = await conn.execute(
            _RETRACT,
            {
                "board_id": board_id,
                "artifact_id": artifact_id,
                "actor_id": actor_id,
                "reason": reason,
                "key": key,
                "type": type,
                "version": version,
            },
        )
        row = await cur.fetchone()
    assert row is not None
    return Retraction(seq=row["seq"], by=actor_id, reason=reason, at=row["created_at"])
