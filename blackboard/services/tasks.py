"""Tasks: posted on a board, leased to one volunteer at a time, done exactly once or failed."""

from uuid import UUID, uuid4

from blackboard import telemetry
from blackboard.content import content_hash
from blackboard.drafts import ArtifactDraft, TaskDraft
from blackboard.errors import (
    Conflict,
    FieldError,
    Forbidden,
    IdempotencyKeyReused,
    InvalidInput,
    LeaseLost,
    NotFound,
    UnknownParent,
)
from blackboard.records import Agent, Artifact, Task
from blackboard.services import abstentions, artifacts, boards
from blackboard.services.board_writes import BoardWrites, claim_tasks
from blackboard.services.schemas import SchemaCache
from blackboard.store import artifacts as artifact_store
from blackboard.store import events as event_store
from blackboard.store import posted_tasks as posted_store
from blackboard.store import tasks as task_store
from blackboard.store import types as type_store
from blackboard.store.artifact_writes import TaskDone
from blackboard.store.database import Conn
from blackboard.store.events import EventDraft

MAX_BACKOFF_S = 300.0


class KnownTasks:
    """What never changes about a task (its board, the type it wants), for the tasks this
    process handed out lately: so that completing one needs no read before the statement
    that completes it (which checks the lease itself), a round trip less per task. An
    agent's claim and completion usually come through one process: its connection's."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._facts: dict[UUID, tuple[UUID, str | None]] = {}

    def remember(self, task: Task) -> None:
        """Remember `task`'s board and wanted type."""
        if len(self._facts) >= self.max_entries:
            del self._facts[next(iter(self._facts))]  # the oldest
        self._facts[task.id] = (task.board_id, task.wants_type)

    def get(self, task_id: UUID) -> tuple[UUID, str | None] | None:
        """Return (board id, wanted type) of a task handed out lately, or None."""
        return self._facts.get(task_id)


KNOWN = KnownTasks()  # per process, like the telemetry counters: task ids are unique


def task_event(kind: str, task: Task, actor_id: UUID | None, **data: object) -> EventDraft:
    """Return the event for something that happened to `task`."""
    return EventDraft(
        kind,
        actor_id=actor_id,
        subject_id=task.id,
        data={"title": task.title, "status": task.status, "attempt": task.attempt, **data},
    )


def expired_events(expired: list[tuple[Task, UUID]]) -> list[EventDraft]:
    """Return `task.lease_expired` (and `task.failed` when out of attempts) events."""
    events = []
    for task, holder in expired:
        events.append(task_event("task.lease_expired", task, None, former_holder=str(holder)))
        if task.status == "failed":
            events.append(task_event("task.failed", task, None, reason="lease expired", final=True))
    return events


async def post(
    conn: Conn,
    *,
    board_id: UUID,
    poster: Agent | None,
    draft: TaskDraft,
    grouped: BoardWrites | None = None,
) -> Task:
    """Post an open task on the board (and log `task.posted`), in one statement; return
    it. With `grouped` (only outside a transaction), the statement may also post other
    tasks on the board."""
    await boards.require(conn, board_id=board_id)
    if draft.wants_type is not None:
        registered = await type_store.latest_versions(conn, names=[draft.wants_type])
        if draft.wants_type not in registered:
            raise InvalidInput(
                f"artifact type {draft.wants_type!r} is not registered",
                errors=[FieldError("/wants_type", "unknown artifact type")],
            )
    if draft.inputs:
        present = await artifact_store.existing_ids(conn, board_id=board_id, ids=draft.inputs)
        missing = [
            FieldError(f"/inputs/{i}", "no artifact with this id on this board")
            for i, a in enumerate(draft.inputs)
            if a not in present
        ]
        if missing:
            raise UnknownParent("an input is not an artifact on this board", errors=missing)
    new = task_store.NewTask(
        id=uuid4(),
        title=draft.title,
        spec=draft.spec,
        wants_type=draft.wants_type,
        required_capabilities=sorted(set(draft.required_capabilities)),
        inputs=list(dict.fromkeys(draft.inputs)),
        max_attempts=draft.max_attempts,
        posted_by=poster.id if poster else None,
    )
    if grouped is not None:
        task = await grouped.post(conn, board_id=board_id, task=new)
    else:
        (task,) = await task_store.post(conn, board_id=board_id, tasks=[new])
    telemetry.TASK_TRANSITIONS.labels("posted").inc()
    return task


async def post_message(
    conn: Conn, *, board_id: UUID, poster: Agent, draft: TaskDraft, message_id: str
) -> Task:
    """In the caller's transaction: post the task a message asks for, unless the poster
    sent a message with this id before; then return the task that one posted (a client
    retrying a message it is not sure arrived must not post the task twice)."""
    earlier = await posted_store.task_of_message(conn, poster=poster.id, message_id=message_id)
    if earlier is not None:
        return earlier
    task = await post(conn, board_id=board_id, poster=poster, draft=draft)
    await posted_store.remember_message(
        conn, poster=poster.id, message_id=message_id, task_id=task.id
    )
    return task


async def claim_next(
    conn: Conn,
    *,
    board_id: UUID,
    agent: Agent,
    lease_s: float,
    grouped: BoardWrites | None = None,
) -> Task | None:
    """Lease the oldest task the agent can do (by capabilities, not declined); None if none.
    With `grouped` (only outside a transaction), the claim may share its transaction with
    other writes to the same board."""
    claimant = task_store.Claimant(agent.id, agent.capabilities, lease_s)
    if grouped is not None:
        task = await grouped.claim(conn, board_id=board_id, claimant=claimant)
    else:
        outcome = (await claim_tasks(conn, board_id, [claimant]))[0]
        assert not isinstance(outcome, BaseException)
        task = outcome
    if task is None:
        await boards.require(conn, board_id=board_id)  # 404 rather than "nothing to do"
    else:
        KNOWN.remember(task)
        telemetry.TASK_TRANSITIONS.labels("claimed").inc()
    return task


async def _leased_to(conn: Conn, *, task_id: UUID, agent: Agent, lock: bool = True) -> Task:
    """Return the task (locked unless not `lock`), if the caller holds a running lease on
    it; else LeaseLost."""
    found = await task_store.get_with_lease(conn, task_id=task_id, lock=lock)
    if found is None:
        raise NotFound("no task with this id", task_id=str(task_id))
    task, lease_running = found
    if not (lease_running and task.holder_id == agent.id):
        raise LeaseLost.on_task(str(task.id), task.status)
    return task


async def heartbeat(conn: Conn, *, task_id: UUID, agent: Agent, lease_s: float) -> Task:
    """Extend the caller's lease on the task; LeaseLost if it already ran out."""
    await _leased_to(conn, task_id=task_id, agent=agent)
    return await task_store.extend_lease(conn, task_id=task_id, lease_s=lease_s)


async def complete(
    conn: Conn,
    *,
    task_id: UUID,
    agent: Agent,
    artifact: ArtifactDraft,
    schemas: SchemaCache,
    idempotency_key: str | None,
    grouped: BoardWrites | None = None,
) -> tuple[Task, Artifact]:
    """Publish the task's result and complete it, atomically: one statement, outside a
    transaction, so the board's seq lock is held only while it runs and commits. With
    `grouped`, it may share its statement and transaction with other writes to the board.

    A retry of a completion that already succeeded (same Idempotency-Key) gets the same
    task and result again instead of LeaseLost."""
    if idempotency_key is not None:
        replayed = await _completed_before(conn, task_id, agent, idempotency_key, artifact)
        if replayed is not None:
            return replayed
    # The statement checks the lease under the task's row lock. A task this process did
    # not hand out gets a first look without a lock, for a clear answer before any work.
    known = KNOWN.get(task_id)
    if known is None:
        task = await _leased_to(conn, task_id=task_id, agent=agent, lock=False)
        KNOWN.remember(task)
        known = task.board_id, task.wants_type
    board_id, wants_type = known
    if wants_type is not None and artifact.type != wants_type:
        raise InvalidInput(
            f"this task wants a {wants_type!r} artifact",
            errors=[FieldError("/artifact/type", f"must be {wants_type!r}")],
        )
    try:
        published = await artifacts.publish(
            conn,
            board_id=board_id,
            author=agent,
            drafts=[artifact],
            idempotency_key=idempotency_key,
            schemas=schemas,
            grouped=grouped,
            completing=TaskDone(task_id=task_id, holder_id=agent.id),
        )
    except InvalidInput as exc:
        # The draft sits at /artifact of the request: point there, not at a bare publish body.
        exc.errors = [FieldError("/artifact" + e.path, e.message) for e in exc.errors]
        exc.extra.pop("index", None)
        raise
    done = published.completed_task
    if done is None:  # the key named an earlier publish of the same body, not this task's
        raise IdempotencyKeyReused("this Idempotency-Key was already used for another request")
    telemetry.TASK_TRANSITIONS.labels("completed").inc()
    return done, published.artifacts[0]


async def _completed_before(
    conn: Conn, task_id: UUID, agent: Agent, idempotency_key: str, draft: ArtifactDraft
) -> tuple[Task, Artifact] | None:
    current = await task_store.get(conn, task_id=task_id)
    if current is None or current.status != "completed" or current.result_id is None:
        return None
    found = await artifact_store.find_idempotent(
        conn, board_id=current.board_id, author_id=agent.id, idempotency_keys=[idempotency_key]
    )
    earlier = found.get(idempotency_key)
    if earlier is None or earlier.artifact.id != current.result_id:
        return None
    if earlier.request_hash != content_hash(draft.model_dump(mode="json")):
        raise IdempotencyKeyReused("this Idempotency-Key was already used for a different result")
    return current, earlier.artifact


async def fail(
    conn: Conn,
    *,
    task_id: UUID,
    agent: Agent,
    reason: str,
    retry: bool,
    retry_after_s: float | None,
) -> Task:
    """End the caller's attempt as failed: back to the pool after a backoff, or failed for good."""
    task = await _leased_to(conn, task_id=task_id, agent=agent)
    final = not retry or task.failures + 1 >= task.max_attempts
    backoff = retry_after_s if retry_after_s is not None else min(2.0**task.failures, MAX_BACKOFF_S)
    await task_store.finish_attempt(
        conn, task_id=task.id, attempt=task.attempt, outcome="failed", reason=reason
    )
    released = await task_store.release(
        conn,
        task_id=task.id,
        status="failed" if final else "open",
        failed=True,
        retry_after_s=0.0 if final else backoff,
        error=reason,
    )
    await event_store.append(
        conn,
        board_id=task.board_id,
        events=[
            task_event(
                "task.failed",
                released,
                agent.id,
                reason=reason,
                final=final,
                retry_after_s=None if final else backoff,
            )
        ],
    )
    telemetry.TASK_TRANSITIONS.labels("failed" if final else "retried").inc()
    return released


async def abstain(
    conn: Conn, *, task_id: UUID, agent: Agent, reason: str, confidence: float | None
) -> Task:
    """Decline the task: it will never be offered to the caller again; if the caller holds it,
    it goes back to the pool at once without spending an attempt."""
    found = await task_store.get_with_lease(conn, task_id=task_id)
    if found is None:
        raise NotFound("no task with this id", task_id=str(task_id))
    task, lease_running = found
    held = lease_running and task.holder_id == agent.id
    if held:
        await task_store.finish_attempt(
            conn, task_id=task.id, attempt=task.attempt, outcome="abstained", reason=reason
        )
        task = await task_store.release(
            conn, task_id=task.id, status="open", failed=False, retry_after_s=0.0, error=None
        )
    await abstentions.abstain(
        conn,
        board_id=task.board_id,
        agent=agent,
        reason=reason,
        scope=f"task:{task.id}",
        task_id=task.id,
        confidence=confidence,
        extra={"returned_to_pool": held},
    )
    if held:
        telemetry.TASK_TRANSITIONS.labels("abstained").inc()
    return task


async def cancel(conn: Conn, *, task_id: UUID, caller: Agent | None) -> Task:
    """Withdraw an open task (its poster, or the operator as `caller` None), logging
    `task.cancelled`; once an agent holds it, or it is done, it can no longer be."""
    found = await task_store.get_with_lease(conn, task_id=task_id)
    if found is None:
        raise NotFound("no task with this id", task_id=str(task_id))
    task, _ = found
    if caller is not None and task.posted_by != caller.id:
        raise Forbidden("only the task's poster may cancel it", task_id=str(task_id))
    cancelled = await task_store.cancel(conn, task_id=task_id)
    if cancelled is None:
        raise Conflict(
            f"only an open task can be cancelled; this one is {task.status}",
            task_id=str(task_id),
            status=task.status,
        )
    await event_store.append(
        conn,
        board_id=task.board_id,
        events=[task_event("task.cancelled", cancelled, caller.id if caller else None)],
    )
    telemetry.TASK_TRANSITIONS.labels("cancelled").inc()
    return cancelled


async def get(conn: Conn, *, task_id: UUID) -> Task:
    """Return the task with its attempts, or raise NotFound."""
    task = await task_store.get(conn, task_id=task_id)
    if task is None:
        raise NotFound("no task with this id", task_id=str(task_id))
    return task.model_copy(update={"attempts": await task_store.attempts(conn, task_id=task_id)})


async def list_tasks(conn: Conn, *, board_id: UUID, status: str | None, limit: int) -> list[Task]:
    """Return the board's tasks, oldest first."""
    await boards.require(conn, board_id=board_id)
    return await task_store.list_tasks(conn, board_id=board_id, status=status, limit=limit)
