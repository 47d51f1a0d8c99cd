"""Guards: keys that only the holder of a role's live exclusive claim may write.

Creating or deleting a guard changes which writes the publish statement accepts, from
its next statement on; the check itself is in store/artifact_writes.py.
"""

from uuid import UUID, uuid4

from blackboard.drafts import GuardDraft
from blackboard.errors import FieldError, GuardOverlaps, InvalidPattern, NotFound
from blackboard.key_patterns import KeyPattern, MalformedPattern
from blackboard.records import Guard
from blackboard.services import boards
from blackboard.store import guards as guard_store
from blackboard.store.database import Conn


def parse(text: str) -> KeyPattern:
    """Parse a key pattern; InvalidPattern (pointing at /key_pattern) if it is malformed."""
    try:
        return KeyPattern.parse(text)
    except MalformedPattern as exc:
        raise InvalidPattern(
            f"not a key pattern: {exc}", errors=[FieldError("/key_pattern", str(exc))]
        ) from exc


async def create(conn: Conn, *, board_id: UUID, draft: GuardDraft) -> Guard:
    """Guard the keys `draft.key_pattern` covers with `draft.role`; GuardOverlaps (naming
    the existing guard) if a key could match both it and a guard already on the board."""
    pattern = parse(draft.key_pattern)
    await boards.require(conn, board_id=board_id)
    await guard_store.lock_board_guards(conn, board_id=board_id)
    for existing in await guard_store.on_board(conn, board_id=board_id):
        if pattern.overlaps(KeyPattern.parse(existing.key_pattern)):
            raise GuardOverlaps(
                f"pattern {draft.key_pattern!r} overlaps guard {existing.key_pattern!r}",
                guard=existing.model_dump(mode="json"),
            )
    return await guard_store.insert(
        conn,
        guard_id=uuid4(),
        board_id=board_id,
        key_pattern=pattern.text,
        key_regex=pattern.regex,
        role=draft.role,
        scoped=pattern.scoped,
    )


async def list_guards(conn: Conn, *, board_id: UUID) -> list[Guard]:
    """Return the board's guards, oldest first."""
    await boards.require(conn, board_id=board_id)
    return await guard_store.on_board(conn, board_id=board_id)


async def delete(conn: Conn, *, guard_id: UUID) -> Guard:
    """Remove a guard (its keys are open to anyone's writes again); return it."""
    guard = await guard_store.delete(conn, guard_id=guard_id)
    if guard is None:
        raise NotFound("no guard with this id", guard_id=str(guard_id))
    return guard
