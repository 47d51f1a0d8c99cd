"""GroupCommit on its own, without a database: who writes which group, what each waiting
request gets, and what happens when a request goes away or a group fails."""

import asyncio
from typing import cast
from uuid import UUID, uuid4

import pytest

from blackboard.services.group_commit import GroupCommit
from blackboard.store.database import Conn

CONN = cast(Conn, object())  # GroupCommit only hands its connection to the writer


class Writer:
    """Records each group it is given; holds a group until released when asked to, and
    answers each request with its double, or with the exception a request names."""

    def __init__(self, *, hold: bool = False) -> None:
        self.groups: list[list[object]] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        if not hold:
            self.release.set()

    async def __call__(
        self, conn: Conn, board_id: UUID, group: list[object]
    ) -> list[object | BaseException]:
        assert conn is CONN
        self.groups.append(group)
        self.started.set()
        await self.release.wait()
        if "fail the group" in group:
            raise RuntimeError("the statement failed")
        return [r if isinstance(r, BaseException) else f"{r}!" for r in group]


async def waiting(groups: GroupCommit[object, object], board: UUID, count: int) -> None:
    while groups.waiting(board) < count:  # noqa: ASYNC110 (no event to wait on)
        await asyncio.sleep(0)


def submit(
    groups: GroupCommit[object, object], board: UUID, request: object
) -> "asyncio.Task[object]":
    return asyncio.ensure_future(groups.submit(CONN, board_id=board, request=request))


async def test_a_request_alone_is_written_at_once() -> None:
    writer = Writer()
    groups: GroupCommit[object, object] = GroupCommit(writer, max_size=10)
    assert await groups.submit(CONN, board_id=uuid4(), request="a") == "a!"
    assert writer.groups == [["a"]]
    assert groups.groups == 0  # a group of one is no group


async def test_requests_that_arrive_while_a_group_is_written_share_the_next_in_order() -> None:
    writer = Writer(hold=True)
    groups: GroupCommit[object, object] = GroupCommit(writer, max_size=10)
    board = uuid4()
    first = submit(groups, board, "a")
    await writer.started.wait()
    later = [submit(groups, board, r) for r in ("b", "c", "d")]
    await waiting(groups, board, 3)
    writer.release.set()
    assert await asyncio.gather(first, *later) == ["a!", "b!", "c!", "d!"]
    assert writer.groups == [["a"], ["b", "c", "d"]]
    assert (groups.groups, groups.grouped) == (1, 3)
    assert groups.waiting(board) == 0


async def test_a_group_never_exceeds_its_size_and_boards_do_not_wait_for_each_other() -> None:
    writer = Writer(hold=True)
    groups: GroupCommit[object, object] = GroupCommit(writer, max_size=3, size=len)
    board, other = uuid4(), uuid4()
    first = submit(groups, board, "x")
    await writer.started.wait()
    later = [submit(groups, board, r) for r in ("bb", "c", "dd", "e")]
    await waiting(groups, board, 4)
    # another board's request is not queued behind this board's writer
    elsewhere = submit(groups, other, "o")
    while ["o"] not in writer.groups:  # noqa: ASYNC110 (no event to wait on)
        await asyncio.sleep(0)
    writer.release.set()
    assert await asyncio.gather(first, elsewhere, *later) == ["x!", "o!", "bb!", "c!", "dd!", "e!"]
    assert [g for g in writer.groups if g != ["o"]] == [["x"], ["bb", "c"], ["dd", "e"]]


async def test_each_request_gets_its_own_error_and_a_failed_group_fails_only_its_members() -> None:
    writer = Writer(hold=True)
    groups: GroupCommit[object, object] = GroupCommit(writer, max_size=2)
    board = uuid4()
    refused = ValueError("refused")
    first = submit(groups, board, "a")
    await writer.started.wait()
    failing = [submit(groups, board, r) for r in ("fail the group", "b")]
    after = [submit(groups, board, r) for r in (refused, "c")]
    await waiting(groups, board, 4)
    writer.release.set()
    results = await asyncio.gather(first, *failing, *after, return_exceptions=True)
    assert results[0] == "a!"
    assert [str(r) for r in results[1:3]] == ["the statement failed"] * 2
    assert results[3] is refused
    assert results[4] == "c!"
    assert writer.groups == [["a"], ["fail the group", "b"], [refused, "c"]]


async def test_a_waiting_request_that_goes_away_is_never_written() -> None:
    writer = Writer(hold=True)
    groups: GroupCommit[object, object] = GroupCommit(writer, max_size=10)
    board = uuid4()
    first = submit(groups, board, "a")
    await writer.started.wait()
    gone, stays = submit(groups, board, "gone"), submit(groups, board, "b")
    await waiting(groups, board, 2)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert groups.waiting(board) == 1
    writer.release.set()
    assert await asyncio.gather(first, stays) == ["a!", "b!"]
    assert writer.groups == [["a"], ["b"]]


async def test_a_request_chosen_to_write_next_that_goes_away_hands_the_group_on() -> None:
    writer = Writer(hold=True)
    groups: GroupCommit[object, object] = GroupCommit(writer, max_size=10)
    board = uuid4()
    first = submit(groups, board, "a")
    await writer.started.wait()
    chosen, next_one = submit(groups, board, "chosen"), submit(groups, board, "b")
    await waiting(groups, board, 2)
    # Cancel the chosen request in the moment after the writer handed it the group,
    # before it could start writing.
    lead = groups._queues[board][0].lead
    assert lead is not None
    lead.add_done_callback(lambda _: chosen.cancel())
    writer.release.set()
    assert await first == "a!"
    with pytest.raises(asyncio.CancelledError):
        await chosen
    assert await asyncio.wait_for(next_one, 5) == "b!"
    assert writer.groups == [["a"], ["b"]]
    # nobody is left holding the board: the next request writes at once
    assert await groups.submit(CONN, board_id=board, request="c") == "c!"


async def test_the_last_chosen_request_going_away_leaves_the_board_free() -> None:
    writer = Writer(hold=True)
    groups: GroupCommit[object, object] = GroupCommit(writer, max_size=10)
    board = uuid4()
    first = submit(groups, board, "a")
    await writer.started.wait()
    chosen = submit(groups, board, "chosen")
    await waiting(groups, board, 1)
    lead = groups._queues[board][0].lead
    assert lead is not None
    lead.add_done_callback(lambda _: chosen.cancel())
    writer.release.set()
    assert await first == "a!"
    with pytest.raises(asyncio.CancelledError):
        await chosen
    assert await asyncio.wait_for(groups.submit(CONN, board_id=board, request="c"), 5) == "c!"
    assert writer.groups == [["a"], ["c"]]


async def test_a_writer_interrupted_mid_group_fails_its_group_and_the_next_request_writes() -> None:
    writer = Writer(hold=True)
    groups: GroupCommit[object, object] = GroupCommit(writer, max_size=1)
    board = uuid4()
    first = submit(groups, board, "a")
    await writer.started.wait()
    later = submit(groups, board, "b")
    await waiting(groups, board, 1)
    first.cancel()  # e.g. the server shuts down while the statement runs
    with pytest.raises(asyncio.CancelledError):
        await first
    writer.release.set()
    assert await asyncio.wait_for(later, 5) == "b!"
    assert writer.groups == [["a"], ["b"]]
