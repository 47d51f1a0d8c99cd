"""Group commit for a board's busiest writes: publishes, the task completions that publish
a result, and task claims. Those that arrive for one board while its last group is being
written go to the database together (see services/group_commit.py for who writes when).

A group's publishes (with their completions) are one statement and its claims another,
and both run as one transaction in one round trip (`store.database.together`): one
commit, and one wait for the board's seq lock, for the lot. Every request still gets its
own versions, task, seqs and events, in arrival order.

A group is all or nothing in SQL, but requests must succeed or fail on their own: when a
group fails (a version conflict, an idempotency race, a key's type, a lease that ran
out), its claims are written again on their own, and each of its publishes alone, so
that every request gets exactly its own outcome.
"""

from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from blackboard import telemetry
from blackboard.records import Task
from blackboard.services.group_commit import GroupCommit
from blackboard.store import artifact_writes as writes
from blackboard.store import tasks as task_store
from blackboard.store.artifact_writes import NewVersion, TaskDone
from blackboard.store.database import Conn, together
from blackboard.store.tasks import Claimant

MAX_GROUP = 1_000  # versions and claims per group
EXPIRE_BATCH = 100  # lapsed leases taken back per statement

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class _Publish:
    versions: list[NewVersion]
    where: list[str]
    tasks: list[TaskDone]  # completed by this publish, with its first version as result

    def completing(self) -> list[TaskDone]:
        """The tasks, each with its result version named (as a member of a group)."""
        return [replace(t, result_id=t.result_id or self.versions[0].id) for t in self.tasks]


_Write = _Publish | Claimant
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


async def _publish_each(
    conn: Conn, board_id: UUID, group: list[_Publish]
) -> list[Rows | BaseException]:
    """Write the publishes as one statement; if that fails, each one alone."""
    if len(group) > 1:
        try:
            rows = await writes.publish(
                conn,
                board_id=board_id,
                versions=[v for p in group for v in p.versions],
                where=[w for p in group for w in p.where],
                completing=[t for p in group for t in p.completing()],
            )
        except Exception:  # some member failed: give every member its own outcome
            pass
        else:
            return _split(rows, group)
    outcomes: list[Rows | BaseException] = []
    for p in group:
        try:
            outcomes.append(
                await writes.publish(
                    conn,
                    board_id=board_id,
                    versions=p.versions,
                    where=p.where,
                    completing=p.tasks,
                )
            )
        except Exception as exc:
            outcomes.append(exc)
    return outcomes


def _split(rows: Rows, group: list[_Publish]) -> list[Rows | BaseException]:
    """Each publish's rows, from the rows of the statement that wrote them all, in order."""
    outcomes: list[Rows | BaseException] = []
    for p in group:
        outcomes.append(rows[: len(p.versions)])
        rows = rows[len(p.versions) :]
    return outcomes


async def _publish_and_claim(
    conn: Conn, board_id: UUID, publishes: list[_Publish], claimants: list[Claimant]
) -> tuple[list[Rows | BaseException], list[Task | BaseException | None]] | None:
    """Write the publishes and the claims as one transaction; None if that failed (and
    nothing was written). The publishes go first: their statement locks the tasks it
    completes before the board's seq lock, and the claims, which skip locked rows instead
    of waiting for them, take no lock that anyone could hold while waiting for that one."""
    try:
        published, claimed = await together(
            conn,
            [
                writes.publish_statement(
                    board_id,
                    [v for p in publishes for v in p.versions],
                    [t for p in publishes for t in p.completing()],
                ),
                task_store.claim_statement(board_id, claimants),
            ],
        )
    except Exception:  # some member failed; the caller writes each kind on its own
        return None
    if not published:  # no such board: let each write find out on its own
        return None
    tasks, lapsed = task_store.claimed(claimed, len(claimants))
    if lapsed:  # a lease ran out: the claims (none was made) first take it back
        tasks = await _claim_after_lapsed(conn, board_id, claimants)
    return _split(published, publishes), list(tasks)


async def _write(conn: Conn, board_id: UUID, group: list[_Write]) -> list[_Outcome | BaseException]:
    publishes = [w for w in group if isinstance(w, _Publish)]
    claimants = [w for w in group if isinstance(w, Claimant)]
    both = None
    if publishes and claimants:
        both = await _publish_and_claim(conn, board_id, publishes, claimants)
    if both is None:
        both = (
            await _publish_each(conn, board_id, publishes) if publishes else [],
            await claim_tasks(conn, board_id, claimants) if claimants else [],
        )
    published, claimed = iter(both[0]), iter(both[1])
    return [next(published) if isinstance(w, _Publish) else next(claimed) for w in group]


def _size(write: _Write) -> int:
    return len(write.versions) if isinstance(write, _Publish) else 1


class BoardWrites(GroupCommit[_Write, _Outcome]):
    """Per process: queues publishes and claims per board and writes each queue in groups."""

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

    async def claim(self, conn: Conn, *, board_id: UUID, claimant: Claimant) -> Task | None:
        """Lease the claimant the oldest open task it may take (alone or grouped with
        others); None if there is none for it."""
        task = await self.submit(conn, board_id=board_id, request=claimant)
        assert not isinstance(task, list)
        return task
