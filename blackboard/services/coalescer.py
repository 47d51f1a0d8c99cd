"""Group commit for publishes: concurrent publishes to one board, and the task completions
that publish a result there, share one statement.

Each publish still gets its own versions, seqs and events, in arrival order (see
services/group_commit.py for who writes when). A group is all or nothing in SQL, but
requests must succeed or fail on their own: when a group fails (a version conflict, an
idempotency race, a key's type), each of its publishes is run again alone, so that every
request gets exactly its own outcome.
"""

from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from blackboard.services.group_commit import GroupCommit
from blackboard.store import artifact_writes as writes
from blackboard.store.artifact_writes import NewVersion, TaskDone
from blackboard.store.database import Conn

MAX_GROUP = 1_000  # versions per statement

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class _Publish:
    versions: list[NewVersion]
    where: list[str]
    tasks: list[TaskDone]  # completed by this publish, with its first version as result

    def completing(self) -> list[TaskDone]:
        """The tasks, each with its result version named (as a member of a group)."""
        return [replace(t, result_id=t.result_id or self.versions[0].id) for t in self.tasks]


async def _write(conn: Conn, board_id: UUID, group: list[_Publish]) -> list[Rows | BaseException]:
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
            outcomes: list[Rows | BaseException] = []
            for p in group:
                outcomes.append(rows[: len(p.versions)])
                rows = rows[len(p.versions) :]
            return outcomes
    outcomes = []
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


class PublishCoalescer(GroupCommit[_Publish, Rows]):
    """Per process: queues publishes per board and writes each queue in groups."""

    def __init__(self) -> None:
        super().__init__(_write, max_size=MAX_GROUP, size=lambda p: len(p.versions))

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
        return await self.submit(conn, board_id=board_id, request=_Publish(versions, where, tasks))
