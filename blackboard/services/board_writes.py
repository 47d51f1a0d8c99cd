"""Group commit for a board's busiest writes: publishes, the task completions that publish
a result, posted tasks and task claims. Those that arrive for one board while its last
group is being written go to the database together (see services/group_commit.py for
who writes when).

A group's publishes (with their completions) are one statement, its posts another and its
claims a third, and they run as one transaction in one round trip
(`store.database.together`): one commit, and one wait for the board's seq lock, for the
lot. Every request still gets its own versions, task, seqs and events, in arrival order
within its kind. Publishes go first: their statement locks the tasks it completes before
the board's seq lock; posts and claims wait for no row lock (claims skip locked rows), so
no writer holds the board's lock while waiting for one.

A group is all or nothing in SQL, but requests must succeed or fail on their own: when a
group fails (a version conflict, an idempotency race, a key's type, a lease that ran
out), each kind is written again on its own, and each publish and post alone, so that
every request gets exactly its own outcome.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from uuid import UUID

from blackboard import telemetry
from blackboard.records import Task
from blackboard.services.group_commit import GroupCommit
from blackboard.store import artifact_writes as writes
from blackboard.store import tasks as task_store
from blackboard.store.artifact_writes import NewVersion, TaskDone
from blackboard.store.database import Conn, Statement, together
from blackboard.store.tasks import Claimant, NewTask

MAX_GROUP = 1_000  # versions, posts and claims per group
EXPIRE_BATCH = 100  # lapsed leases taken back per statement

Rows = list[dict[str, Any]]
M = TypeVar("M")
R = TypeVar("R")


@dataclass(frozen=True)
class _Publish:
    versions: list[NewVersion]
    where: list[str]
    tasks: list[TaskDone]  # completed by this publish, with its first version as result

    def completing(self) -> list[TaskDone]:
        """The tasks, each with its result version named (as a member of a group)."""
        return [replace(t, result_id=t.result_id or self.versions[0].id) for t in self.tasks]


_Write = _Publish | NewTask | Claimant
_Outcome = Rows | Task | None


async def claim_tasks(
    conn: Conn, board_id: UUID, claimants: list[Claimant]
) -> list[Task | BaseException | None]:
    """Lease a task to each claimant (None where there is none for it), taking back the
    board's lapsed leases first if there are any: a crashed holder's task is offered again
    without waiting for the reaper. Usually one statement: the claim finds no lapsed
    lease and claims. If it finds one, it claims nothing; the lapsed leases are taken back
    and the claim runs again. Each statement logs its own events and holds the board's
    seq lock only while it runs."""
    tasks, lapsed = await task_store.claim_next(conn, board_id=board_id, claimants=claimants)
    if lapsed:
        tasks = await _claim_after_lapsed(conn, board_id, claimants)
    return list(tasks)


async def _claim_after_lapsed(
    conn: Conn, board_id: UUID, claimants: list[Claimant]
) -> list[Task | None]:
    expired = await task_store.expire_on_board(conn, board_id=board_id, limit=EXPIRE_BATCH)
    telemetry.LEASE_EXPIRIES.labels("task").inc(expired)
    tasks, _ = await task_store.claim_next(
        conn, board_id=board_id, claimants=claimants, defer_to_lapsed=False
    )
    return tasks


async def _one_else_each(
    members: list[M], write: Callable[[list[M]], Awaitable[list[R]]]
) -> list[R | BaseException]:
    """Write the members in one statement (`write` returns each one's outcome); if that
    fails, each one alone, so that every member gets exactly its own outcome."""
    if len(members) > 1:
        try:
            return list(await write(members))
        except Exception:  # some member failed
            pass
    outcomes: list[R | BaseException] = []
    for member in members:
        try:
            outcomes.extend(await write([member]))
        except Exception as exc:
            outcomes.append(exc)
    return outcomes


async def _publish(conn: Conn, board_id: UUID, group: list[_Publish]) -> list[Rows]:
    """Write the publishes as one statement; return each one's rows."""
    rows = await writes.publish(
        conn,
        board_id=board_id,
        versions=[v for p in group for v in p.versions],
        where=[w for p in group for w in p.where],
        completing=[t for p in group for t in p.completing()],
    )
    return _split(rows, group)


def _split(rows: Rows, group: list[_Publish]) -> list[Rows]:
    """Each publish's rows, from the rows of the statement that wrote them all, in order."""
    outcomes: list[Rows] = []
    for p in group:
        outcomes.append(rows[: len(p.versions)])
        rows = rows[len(p.versions) :]
    return outcomes


async def _together(
    conn: Conn,
    board_id: UUID,
    publishes: list[_Publish],
    posts: list[NewTask],
    claimants: list[Claimant],
) -> list[list[_Outcome | BaseException]] | None:
    """Write the kinds as one transaction: each kind's outcomes, in order; None if that
    failed (and nothing was written)."""
    statements: list[Statement] = []
    if publishes:
        statements.append(
            writes.publish_statement(
                board_id,
                [v for p in publishes for v in p.versions],
                [t for p in publishes for t in p.completing()],
            )
        )
    if posts:
        statements.append(task_store.post_statement(board_id, posts))
    if claimants:
        statements.append(task_store.claim_statement(board_id, claimants))
    try:
        results = iter(await together(conn, statements))
    except Exception:  # some member failed; the caller writes each kind on its own
        return None
    outcomes: list[list[_Outcome | BaseException]] = [[], [], []]
    if publishes:
        rows = next(results)
        if not rows:  # no such board: let each write find out on its own
            return None
        outcomes[0] = list(_split(rows, publishes))
    if posts:
        outcomes[1] = list(task_store.posted(next(results)))
    if claimants:
        tasks, lapsed = task_store.claimed(next(results), len(claimants))
        if lapsed:  # a lease ran out: the claims (none was made) first take it back
            tasks = await _claim_after_lapsed(conn, board_id, claimants)
        outcomes[2] = list(tasks)
    return outcomes


async def _each_kind(
    conn: Conn,
    board_id: UUID,
    publishes: list[_Publish],
    posts: list[NewTask],
    claimants: list[Claimant],
) -> list[list[_Outcome | BaseException]]:
    """Write each kind on its own: each kind's outcomes, in order."""

    async def publish(group: list[_Publish]) -> list[Rows]:
        return await _publish(conn, board_id, group)

    async def post(tasks: list[NewTask]) -> list[Task]:
        return await task_store.post(conn, board_id=board_id, tasks=tasks)

    published = await _one_else_each(publishes, publish)
    posted = await _one_else_each(posts, post)
    claimed = await claim_tasks(conn, board_id, claimants) if claimants else []
    return [list(published), list(posted), list(claimed)]


async def _write(conn: Conn, board_id: UUID, group: list[_Write]) -> list[_Outcome | BaseException]:
    publishes = [w for w in group if isinstance(w, _Publish)]
    posts = [w for w in group if isinstance(w, NewTask)]
    claimants = [w for w in group if isinstance(w, Claimant)]
    outcomes = None
    if sum(map(bool, (publishes, posts, claimants))) > 1:
        outcomes = await _together(conn, board_id, publishes, posts, claimants)
    if outcomes is None:
        outcomes = await _each_kind(conn, board_id, publishes, posts, claimants)
    by_kind = [iter(o) for o in outcomes]
    kind = {_Publish: 0, NewTask: 1, Claimant: 2}
    return [next(by_kind[kind[type(w)]]) for w in group]


def _size(write: _Write) -> int:
    return len(write.versions) if isinstance(write, _Publish) else 1


class BoardWrites(GroupCommit[_Write, _Outcome]):
    """Per process: queues publishes, posts and claims per board and writes each queue in
    groups."""

    def __init__(self) -> None:
        super().__init__(_write, max_size=MAX_GROUP, size=_size)

    async def publish(
        self,
        conn: Conn,
        *,
        board_id: UUID,
        versions: list[NewVersion],
        where: list[str],
        tasks: list[TaskDone],
    ) -> Rows:
        """Write the versions and complete the `tasks` with the first of them (alone or
        grouped with others); return their rows in order."""
        rows = await self.submit(conn, board_id=board_id, request=_Publish(versions, where, tasks))
        assert isinstance(rows, list)
        return rows

    async def post(self, conn: Conn, *, board_id: UUID, task: NewTask) -> Task:
        """Post the task and log its event (alone or grouped with others); return it."""
        posted = await self.submit(conn, board_id=board_id, request=task)
        assert isinstance(posted, Task)
        return posted

    async def claim(self, conn: Conn, *, board_id: UUID, claimant: Claimant) -> Task | None:
        """Lease the claimant the oldest open task it may take (alone or grouped with
        others); None if there is none for it."""
        task = await self.submit(conn, board_id=board_id, request=claimant)
        assert not isinstance(task, list)
        return task
