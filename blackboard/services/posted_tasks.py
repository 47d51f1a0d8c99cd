"""A poster's view of its own tasks: each with its result and the abstentions on it.

Only the poster sees a task this way (its id alone is no permission): a task posted by
someone else reads as not found, so that its existence does not leak either."""

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from blackboard.errors import NotFound
from blackboard.records import Abstention, Agent, Artifact, Task
from blackboard.store import artifacts as artifact_store
from blackboard.store import posted_tasks as posted_store
from blackboard.store import tasks as task_store
from blackboard.store.database import Conn


@dataclass(frozen=True)
class PostedTask:
    """A task as its poster follows it."""

    task: Task
    result: Artifact | None = None
    abstentions: list[Abstention] = field(default_factory=list)


def not_found(task_id: UUID | str) -> NotFound:
    """The answer for a task that does not exist or that the caller did not post."""
    return NotFound("you posted no task with this id", task_id=str(task_id))


async def own(conn: Conn, *, task_id: UUID, poster: Agent) -> Task:
    """Return the task if `poster` posted it; else NotFound."""
    task = await task_store.get(conn, task_id=task_id)
    if task is None or task.posted_by != poster.id:
        raise not_found(task_id)
    return task


async def detailed(conn: Conn, tasks: list[Task]) -> list[PostedTask]:
    """Return each task with its result (if completed) and the abstentions on it."""
    results = await artifact_store.get_many(
        conn, ids=[t.result_id for t in tasks if t.result_id is not None]
    )
    by_id = {a.id: a for a in results}
    declined = await posted_store.abstentions_on(conn, task_ids=[t.id for t in tasks])
    return [
        PostedTask(
            task=t,
            result=by_id.get(t.result_id) if t.result_id else None,
            abstentions=[a for a in declined if a.task_id == t.id],
        )
        for t in tasks
    ]


async def get(conn: Conn, *, task_id: UUID, poster: Agent) -> PostedTask:
    """Return one of the poster's tasks with its result and abstentions; else NotFound."""
    (found,) = await detailed(conn, [await own(conn, task_id=task_id, poster=poster)])
    return found


async def page(
    conn: Conn,
    *,
    poster: Agent,
    board_id: UUID | None,
    status: str | None,
    changed_after: datetime | None,
    before: tuple[datetime, UUID] | None,
    limit: int,
) -> tuple[list[PostedTask], int]:
    """Return a page of the poster's tasks (on one board, of one status, changed after a
    time: each if given), newest first, and how many match in all."""
    tasks, total = await posted_store.page(
        conn,
        poster=poster.id,
        board_id=board_id,
        status=status,
        changed_after=changed_after,
        before=before,
        limit=limit,
    )
    return await detailed(conn, tasks), total
