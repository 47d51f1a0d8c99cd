"""Boards."""

from uuid import UUID, uuid4

from blackboard.drafts import BoardDraft
from blackboard.errors import NotFound
from blackboard.records import Board
from blackboard.store import boards as board_store
from blackboard.store import events as event_store
from blackboard.store.database import Conn
from blackboard.store.events import EventDraft


async def create(conn: Conn, *, draft: BoardDraft) -> Board:
    """Create a board whose log starts with a `board.created` event; return it."""
    board = await board_store.insert(conn, board_id=uuid4(), name=draft.name, mission=draft.mission)
    seqs = await event_store.append(
        conn,
        board_id=board.id,
        events=[EventDraft("board.created", subject_id=board.id, data={"name": board.name})],
    )
    return board.model_copy(update={"last_seq": seqs[-1]})


async def get(conn: Conn, *, board_id: UUID) -> Board:
    """Return the board or raise NotFound."""
    board = await board_store.get(conn, board_id=board_id)
    if board is None:
        raise NotFound("no board with this id", board_id=str(board_id))
    return board


async def require(conn: Conn, *, board_id: UUID) -> None:
    """Raise NotFound unless the board exists."""
    if not await board_store.exists(conn, board_id=board_id):
        raise NotFound("no board with this id", board_id=str(board_id))


async def list_boards(conn: Conn, *, limit: int, after: str | None) -> list[Board]:
    """Return boards by name."""
    return await board_store.list_all(conn, limit=limit, after_name=after)
