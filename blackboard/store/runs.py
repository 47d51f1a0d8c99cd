"""Runs and their turns.

A run is driven by one controller at a time: `take_drivable` leases it with
`FOR UPDATE SKIP LOCKED` (several controllers never pick the same run) and bumps
`lease_token`; every later write of the driver names that token, so a driver whose lease
was taken over writes nothing more.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from blackboard.errors import BlackboardError, Forbidden, LeaseLost
from blackboard.records import Run, Turn
from blackboard.store.constraints import failed_check
from blackboard.store.database import Conn
from blackboard.store.events import NOTIFIED, logged_from

RUN_COLUMNS = """id, board_id, protocol, roster, goal, params, status, stop_reason, turns_used,
    tokens_used, controller, lease_token, created_at, started_at, ended_at"""
_TURN = """id, run_id, board_id, agent_id, step, round, phase, status, deadline, bundle,
    manifest, role, rationale, reason, artifact_ids, claim_id, call, created_at, completed_at"""


class LostRun(Exception):
    """The driver's lease on the run was taken over: it must stop driving."""


async def insert_run(
    conn: Conn,
    *,
    run_id: UUID,
    board_id: UUID,
    protocol: str,
    roster: list[UUID],
    goal: str | None,
    params: dict[str, Any],
) -> Run:
    """Insert a pending run; return it."""
    cur = await conn.execute(
        f"""INSERT INTO runs (id, board_id, protocol, roster, goal, params, status)
            VALUES (%s, %s, %s, %s, %s, %s, 'pending') RETURNING {RUN_COLUMNS}""",
        (run_id, board_id, protocol, roster, goal, Jsonb(params)),
    )
    row = await cur.fetchone()
    assert row is not None
    return Run.model_validate(row)


async def get_run(conn: Conn, *, run_id: UUID) -> Run | None:
    """Return the run, or None."""
    cur = await conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = %s", (run_id,))
    row = await cur.fetchone()
    return Run.model_validate(row) if row else None


async def list_runs(conn: Conn, *, board_id: UUID, limit: int) -> list[Run]:
    """Return the board's runs, newest first."""
    cur = await conn.execute(
        f"SELECT {RUN_COLUMNS} FROM runs WHERE board_id = %s ORDER BY created_at DESC LIMIT %s",
        (board_id, limit),
    )
    return [Run.model_validate(row) for row in await cur.fetchall()]


_TAKE = f"""
WITH next AS (
    SELECT id FROM runs
    WHERE status IN ('pending', 'running')
      AND (lease_expires_at IS NULL OR lease_expires_at <= now())
    ORDER BY created_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE runs r SET controller = %(controller)s, lease_token = r.lease_token + 1,
    lease_expires_at = now() + make_interval(secs => %(lease_s)s),
    status = 'running', started_at = coalesce(r.started_at, now())
FROM next WHERE r.id = next.id
RETURNING {RUN_COLUMNS.replace("id, board_id", "r.id, r.board_id")}
"""


async def take_drivable(conn: Conn, *, controller: str, lease_s: float) -> Run | None:
    """Lease the oldest run that nobody drives (new, or whose driver's lease ran out)."""
    cur = await conn.execute(_TAKE, {"controller": controller, "lease_s": lease_s})
    row = await cur.fetchone()
    return Run.model_validate(row) if row else None


async def renew_lease(conn: Conn, *, run_id: UUID, lease_token: int, lease_s: float) -> None:
    """Extend the driver's lease; LostRun if another driver took the run over."""
    cur = await conn.execute(
        """UPDATE runs SET lease_expires_at = now() + make_interval(secs => %s)
           WHERE id = %s AND lease_token = %s AND status = 'running' RETURNING id""",
        (lease_s, run_id, lease_token),
    )
    if await cur.fetchone() is None:
        raise LostRun(str(run_id))


_OFFER = f"""
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
){logged_from("evs")}
SELECT inserted.*, {NOTIFIED} FROM inserted
"""


async def offer_turn(
    conn: Conn,
    *,
    turn_id: UUID,
    run_id: UUID,
    lease_token: int,
    board_id: UUID,
    agent_id: UUID,
    model: str | None,
    step: int,
    round: int,
    phase: str,
    timeout_s: float,
    bundle: dict[str, Any],
    manifest: dict[str, Any],
) -> Turn:
    """Insert an offered turn (deadline `timeout_s` from now) and its `turn.offered` event,
    in one statement, if the caller still drives the run (LostRun otherwise).

    The bundle and manifest are not read back: jsonb leaves the database as text, and
    converting a bundle of some kilobytes costs more than the rest of the statement."""
    cur = await conn.execute(
        _OFFER,
        {
            "turn_id": turn_id,
            "run_id": run_id,
            "lease_token": lease_token,
            "board_id": board_id,
            "agent_id": agent_id,
            "model": model,
            "step": step,
            "round": round,
            "phase": phase,
            "timeout_s": timeout_s,
            "bundle": Jsonb(bundle),
            "manifest": Jsonb(manifest),
        },
    )
    row = await cur.fetchone()
    if row is None:
        raise LostRun(str(run_id))
    return Turn(
        id=turn_id,
        run_id=run_id,
        board_id=board_id,
        agent_id=agent_id,
        step=step,
        round=round,
        phase=phase,
        status="offered",
        deadline=row["deadline"],
        bundle=bundle,
        manifest=manifest,
        artifact_ids=[],
        call={},
        created_at=row["created_at"],
    )


async def turn_at(conn: Conn, *, run_id: UUID, step: int) -> Turn | None:
    """Return the run's turn at `step`, or None."""
    cur = await conn.execute(
        f"SELECT {_TURN} FROM turns WHERE run_id = %s AND step = %s", (run_id, step)
    )
    row = await cur.fetchone()
    return Turn.model_validate(row) if row else None


async def get_turn(conn: Conn, *, turn_id: UUID) -> tuple[Turn, bool] | None:
    """Return the turn and whether its deadline is still ahead."""
    cur = await conn.execute(
        f"SELECT {_TURN}, deadline > now() AS open FROM turns WHERE id = %s", (turn_id,)
    )
    row = await cur.fetchone()
    if row is None:
        return None
    still_open = bool(row.pop("open"))
    return Turn.model_validate(row), still_open


@dataclass(frozen=True)
class TurnState:
    """Where a turn stands, without what it carries (its bundle, call and manifest)."""

    status: str
    open: bool  # its deadline is still ahead


async def turn_state(conn: Conn, *, turn_id: UUID, lock: bool = False) -> TurnState | None:
    """Return where the turn stands (its row locked if asked), or None."""
    cur = await conn.execute(
        f"""SELECT status, deadline > now() AS open FROM turns WHERE id = %s
            {"FOR UPDATE" if lock else ""}""",
        (turn_id,),
    )
    row = await cur.fetchone()
    return TurnState(**row) if row else None


async def turns_of(conn: Conn, *, run_id: UUID) -> list[Turn]:
    """Return the run's turns in step order."""
    cur = await conn.execute(
        f"SELECT {_TURN} FROM turns WHERE run_id = %s ORDER BY step", (run_id,)
    )
    return [Turn.model_validate(row) for row in await cur.fetchall()]


async def offered_to(conn: Conn, *, agent_id: UUID, limit: int) -> list[Turn]:
    """Return the turns waiting for this agent, oldest first."""
    cur = await conn.execute(
        f"""SELECT {_TURN} FROM turns
            WHERE agent_id = %s AND status = 'offered' AND deadline > now()
            ORDER BY created_at LIMIT %s""",
        (agent_id, limit),
    )
    return [Turn.model_validate(row) for row in await cur.fetchall()]


def _closed(turn: Turn, row: dict[str, Any], **changes: Any) -> Turn:
    """The turn as a closing statement left it: `turn` with the changes it wrote.

    Built here rather than read back (RETURNING) for the reason `offer_turn` gives."""
    return turn.model_copy(update={**changes, "completed_at": row["completed_at"]})


async def close_turn(
    conn: Conn,
    *,
    turn: Turn,
    status: str,
    reason: str,
    call: dict[str, Any] | None = None,
    tokens: int = 0,
) -> Turn | None:
    """Close an offered turn with an outcome other than an answer ('timed_out', 'invalid')
    and count it on the run; None if it was no longer offered (closed by someone else)."""
    cur = await conn.execute(
        """WITH closed AS (
                UPDATE turns SET status = %(status)s, reason = %(reason)s, call = %(call)s,
                    manifest = manifest || jsonb_build_object('outcome', %(status)s::text),
                    completed_at = now()
                WHERE id = %(turn_id)s AND status = 'offered' RETURNING run_id, completed_at
            ), counted AS (
                UPDATE runs SET turns_used = turns_used + 1,
                    tokens_used = tokens_used + %(tokens)s
                FROM closed WHERE runs.id = closed.run_id
            )
            SELECT completed_at FROM closed""",
        {
            "status": status,
            "reason": reason,
            "call": Jsonb(call or {}),
            "turn_id": turn.id,
            "tokens": tokens,
        },
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return _closed(
        turn,
        row,
        status=status,
        reason=reason,
        call=call or {},
        manifest={**turn.manifest, "outcome": status},
    )


# Answering a turn, by publishing (store/publish_sql.py) or abstaining (below), locks the
# turn's row first and checks it under that lock, by the clock (the statement may have
# queued for the lock).
TURN_HELD = """held AS (
    -- The turn's row, locked first.
    SELECT id, status, agent_id, deadline FROM turns WHERE id = %(turn_id)s FOR UPDATE
), """
TURN_OPEN = """(SELECT CASE WHEN agent_id <> %(agent_id)s
                       THEN blackboard_fail('TurnNotYours', jsonb_build_object('turn_id', id))
                       WHEN status <> 'offered' OR deadline <= clock_timestamp()
                       THEN blackboard_fail('TurnClosed', jsonb_build_object('turn_id', id,
                            'status', CASE status WHEN 'offered' THEN 'timed_out'
                                                  ELSE status END))
                       ELSE 0
                       END
           FROM held) = 0"""


def turn_failure(code: str, detail: dict[str, Any]) -> BlackboardError | None:
    """The domain error for a failed `TURN_OPEN` check (None for any other code)."""
    if code == "TurnClosed":
        return LeaseLost.on_turn(detail["turn_id"], detail["status"])
    if code == "TurnNotYours":
        return Forbidden.not_your_turn(detail["turn_id"])
    return None


@contextmanager
def _turn_checks() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        check = failed_check(exc)
        failure = turn_failure(*check) if check is not None else None
        if failure is None:
            raise
        raise failure from exc


def step_scope(run_id: UUID, step: int) -> str:
    """The scope of what is claimed or declined for one step of a run: nobody else's."""
    return f"run:{run_id}:step:{step}"


def completed(turn: Turn, row: dict[str, Any], **changes: Any) -> Turn:
    """The turn as the publish statement that completed it left it (see TURN_DONE in
    store/publish_sql.py)."""
    return _closed(
        turn,
        row,
        status="completed",
        **changes,
        manifest={
            **turn.manifest,
            "outcome": "acted",
            "role": changes["role"],
            "role_flip": row["role_flip"],
        },
    )


_ABSTAIN_TURN = f"""
WITH {TURN_HELD}answerable AS (
    SELECT 1 FROM held WHERE {TURN_OPEN}
), closed AS (
    UPDATE turns SET status = 'abstained', reason = %(reason)s, call = %(call)s,
        manifest = manifest || '{{"outcome": "abstained"}}'::jsonb, completed_at = now()
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
){logged_from("evs")}
, recorded AS (
    -- the ledger's record of the abstention, at the seq of its agent.abstained event
    INSERT INTO abstentions (id, board_id, agent_id, scope, role, task_id, reason, confidence,
                             seq)
    SELECT %(abstention_id)s, %(board_id)s, c.agent_id, %(scope)s, NULL, NULL, %(reason)s,
           %(confidence)s, r.base + 1
    FROM closed c, ev_reserved r
)
SELECT closed.completed_at, {NOTIFIED} FROM closed
"""


async def abstain_turn(
    conn: Conn,
    *,
    turn: Turn,
    agent_id: UUID,
    abstention_id: UUID,
    reason: str,
    confidence: float | None,
    call: dict[str, Any] | None,
    tokens: int,
) -> Turn | None:
    """Close an offered turn as abstained, record the abstention in the ledger, count the
    turn and log `agent.abstained` and `turn.abstained` — one statement, which locks the
    turn first and checks it under the lock (LeaseLost once it closed, Forbidden unless
    `agent_id` was offered it); None if there is no such turn."""
    with _turn_checks():
        cur = await conn.execute(
            _ABSTAIN_TURN,
            {
                "turn_id": turn.id,
                "agent_id": agent_id,
                "board_id": turn.board_id,
                "abstention_id": abstention_id,
                "scope": step_scope(turn.run_id, turn.step),
                "reason": reason,
                "confidence": confidence,
                "call": Jsonb(call or {}),
                "tokens": tokens,
            },
        )
        row = await cur.fetchone()
    if row is None:
        return None
    return _closed(
        turn,
        row,
        status="abstained",
        reason=reason,
        call=call or {},
        manifest={**turn.manifest, "outcome": "abstained"},
    )
