"""The inspector's pages: read-only, server-rendered views of boards, artifacts and runs."""

from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import parse_qs
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent

from api.deps import DatabaseDep, FeedsDep
from api.inspector import auth, data, timeline
from api.inspector.auth import StreamViewer, Viewer
from api.inspector.render import PageRoute, page
from api.routes.events import resume_point
from blackboard.metrics.runs import MAX_COMPARED, compare_runs
from blackboard.services import boards

router = APIRouter(prefix=auth.PREFIX, include_in_schema=False, route_class=PageRoute)

MAX_FORM_BYTES = 16 * 1024  # a token form; nothing bigger is ever legitimate


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    """The token form."""
    return page(request, "login.html", viewer=None, next=auth.safe_next(next), error=None)


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the token exactly as the API would; keep it in the cookie if it is valid."""
    # a urlencoded form is all the login page sends: parsed here, without a multipart library
    raw = await request.body()
    fields = parse_qs(raw[:MAX_FORM_BYTES].decode("utf-8", "replace"))
    token = (fields.get("token") or [""])[0].strip()
    target = auth.safe_next((fields.get("next") or [""])[0])
    principal = await auth.authenticate(request, token) if token else None
    if principal is None:
        return page(
            request,
            "login.html",
            viewer=None,
            status_code=401,
            next=target,
            error="That token is not valid: use the admin token or an agent's token.",
        )
    response = RedirectResponse(target, status_code=303)
    auth.set_session(response, request, token)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Forget the token; back to the form."""
    response = RedirectResponse(auth.LOGIN, status_code=303)
    auth.clear_session(response, request)
    return response


@router.get("/")
async def boards_list(request: Request, viewer: Viewer, db: DatabaseDep) -> HTMLResponse:
    """Every board: name, mission, created, newest seq."""
    async with db.connection() as conn:
        found = await boards.list_boards(conn, limit=1000, after=None)
    return page(request, "boards.html", viewer=viewer, boards=found)


@router.get("/boards/{board_id}")
async def board(
    board_id: UUID,
    request: Request,
    viewer: Viewer,
    db: DatabaseDep,
    feeds: FeedsDep,
    before: Annotated[
        int | None, Query(ge=1, description="Show the events before this seq.")
    ] = None,
) -> HTMLResponse:
    """A board: counters, role chart, interaction graph, a page of the timeline (the first
    live), runs, artifacts and abstentions."""
    context = await data.board_page(db, feeds, board_id, before)
    return page(request, "board.html", viewer=viewer, **context)


async def _streamed_board(board_id: UUID, _: StreamViewer, db: DatabaseDep) -> UUID:
    """The stream's board, checked after the viewer (so the check tells strangers nothing)
    and before the stream starts (a 404, not a 200 that breaks off)."""
    async with db.connection() as conn:
        await boards.require(conn, board_id=board_id)
    return board_id


@router.get("/boards/{board_id}/stream", response_class=EventSourceResponse)
async def board_stream(
    board_id: Annotated[UUID, Depends(_streamed_board)],
    start: Annotated[int, Depends(resume_point)],
    db: DatabaseDep,
    feeds: FeedsDep,
) -> AsyncIterator[ServerSentEvent]:
    """The live timeline: each new event as a rendered row (`event: row`, `id:` the seq),
    resumable with Last-Event-ID like the API's stream. Authenticates by the cookie,
    because an EventSource cannot send headers."""
    async for event in timeline.relay(db, feeds, board_id=board_id, after=start):
        yield event


@router.get("/artifacts/{artifact_id}")
async def artifact(
    artifact_id: UUID,
    request: Request,
    viewer: Viewer,
    db: DatabaseDep,
    against: Annotated[int | None, Query(ge=1, description="The version to diff with.")] = None,
) -> HTMLResponse:
    """An artifact version, its key's history, a diff, and its lineage."""
    context = await data.artifact_page(db, artifact_id, against)
    return page(request, "artifact.html", viewer=viewer, **context)


@router.get("/runs/{run_id}")
async def run(run_id: UUID, request: Request, viewer: Viewer, db: DatabaseDep) -> HTMLResponse:
    """A run and each of its turns: what it was shown, what was hidden, what it did."""
    context = await data.run_page(db, run_id)
    return page(request, "run.html", viewer=viewer, **context)


@router.get("/compare")
async def compare(
    request: Request,
    viewer: Viewer,
    db: DatabaseDep,
    run_id: Annotated[list[UUID] | None, Query(max_length=MAX_COMPARED)] = None,
) -> HTMLResponse:
    """Runs side by side: turns, abstentions, roles, tokens, wall time, duplicate work."""
    ids = list(dict.fromkeys(run_id or []))
    comparison = await compare_runs(db, ids) if ids else None
    return page(request, "compare.html", viewer=viewer, comparison=comparison)
