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
from blackboard.store.publish_sql import (
    PUBLISH,
    PUBLISH_COMPLETING_TASKS,
    PUBLISH_COMPLETING_TURN,
)


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
    query = PUBLISH
    if isinstance(completing, TurnDone):
        query = PUBLISH_COMPLETING_TURN
        params.update(
            {k: v for k, v in vars(completing).items() if k != "call"},
            n=len(versions) + 2,  # the claim's event first, the turn's last
            scope=completing.scope,
            call=Jsonb(completing.call),
            artifact_ids=[v.id for v in versions],
        )
    elif completing:
        query = PUBLISH_COMPLETING_TASKS
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
