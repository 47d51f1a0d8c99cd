"""Runs from the outside: start one, look at it, read what each call saw and did."""

from typing import Any
from uuid import UUID, uuid4

from blackboard.controller.protocols import PROTOCOLS
from blackboard.controller.views import View
from blackboard.drafts import RunDraft
from blackboard.errors import FieldError, InvalidInput, NotFound
from blackboard.records import Abstention, Claim, Run, Turn
from blackboard.services import boards
from blackboard.store import abstentions as abstention_store
from blackboard.store import agents as agent_store
from blackboard.store import claims as claim_store
from blackboard.store import events as event_store
from blackboard.store import runs as run_store
from blackboard.store.database import Conn
from blackboard.store.events import EventDraft


async def create(conn: Conn, *, board_id: UUID, draft: RunDraft) -> Run:
    """Create a pending run (a controller picks it up); return it."""
    await boards.require(conn, board_id=board_id)
    if draft.protocol not in PROTOCOLS:
        raise InvalidInput(
            f"no protocol named {draft.protocol!r}",
            errors=[FieldError("/protocol", f"one of {sorted(PROTOCOLS)}")],
        )
    known = {a.id for a in await agent_store.get_many(conn, agent_ids=draft.roster)}
    missing = [
        FieldError(f"/roster/{i}", "no agent with this id")
        for i, a in enumerate(draft.roster)
        if a not in known
    ]
    if missing:
        raise InvalidInput("the roster names unknown agents", errors=missing)
    if draft.view is not None:
        try:
            View.model_validate(draft.view)
        except ValueError as exc:
            raise InvalidInput("not a valid view", errors=[FieldError("/view", str(exc))]) from exc
    params: dict[str, Any] = draft.model_dump(
        mode="json",
        include={"rounds", "turn_timeout_s", "max_turns", "max_tokens", "max_wall_s", "view"},
    )
    run = await run_store.insert_run(
        conn,
        run_id=uuid4(),
        board_id=board_id,
        protocol=draft.protocol,
        roster=list(draft.roster),
        goal=draft.goal,
        params=params,
    )
    await event_store.append(
        conn,
        board_id=board_id,
        events=[
            EventDraft(
                "run.created",
                subject_id=run.id,
                data={
                    "protocol": run.protocol,
                    "roster": [str(a) for a in run.roster],
                    "goal": run.goal,
                },
            )
        ],
    )
    return run


async def get(conn: Conn, *, run_id: UUID) -> Run:
    """Return the run or raise NotFound."""
    run = await run_store.get_run(conn, run_id=run_id)
    if run is None:
        raise NotFound("no run with this id", run_id=str(run_id))
    return run


async def detail(
    conn: Conn, *, run_id: UUID
) -> tuple[Run, list[Turn], list[Claim], list[Abstention]]:
    """Return the run, its turns, and the claims and abstentions made in it."""
    run = await get(conn, run_id=run_id)
    turns = await run_store.turns_of(conn, run_id=run_id)
    claim_ids = [t.claim_id for t in turns if t.claim_id is not None]
    claims = [c for cid in claim_ids if (c := await claim_store.get(conn, claim_id=cid))]
    abstentions = await abstention_store.in_run(conn, board_id=run.board_id, run_id=run.id)
    return run, turns, claims, abstentions


async def list_runs(conn: Conn, *, board_id: UUID, limit: int) -> list[Run]:
    """Return the board's runs, newest first."""
    await boards.require(conn, board_id=board_id)
    return await run_store.list_runs(conn, board_id=board_id, limit=limit)
