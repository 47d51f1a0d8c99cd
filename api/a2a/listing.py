"""ListTasks: the caller's tasks, newest first, paged by an opaque cursor.

The page token is the last task's (created_at, id), so a page is the same however many
tasks were posted since: new ones come before the first page, never inside a later one.
"""

import base64
import binascii
from datetime import UTC, datetime
from uuid import UUID

from a2a.types.a2a_pb2 import ListTasksRequest, ListTasksResponse, TaskState
from a2a.utils.constants import DEFAULT_LIST_TASKS_PAGE_SIZE
from a2a.utils.task import apply_history_length, validate_history_length, validate_page_size

from api.a2a.errors import invalid_params, translated
from api.a2a.tasks import STATUSES, a2a_task
from blackboard import records
from blackboard.errors import FieldError
from blackboard.services import posted_tasks
from blackboard.store.database import Database


def page_token(task: records.Task) -> str:
    """The cursor that continues after `task`."""
    raw = f"{task.created_at.isoformat()}|{task.id}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def after_token(token: str) -> tuple[datetime, UUID]:
    """The (created_at, id) a page token continues after."""
    try:
        at, _, ident = base64.urlsafe_b64decode(token.encode()).decode().partition("|")
        return datetime.fromisoformat(at), UUID(ident)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid_params(
            "pageToken is not one this service gave out",
            [FieldError("/pageToken", "not a page token of ours")],
        ) from None


def _board(context_id: str) -> UUID | None:
    if not context_id:
        return None
    try:
        return UUID(context_id)
    except ValueError:
        raise invalid_params(
            "contextId must be a board id", [FieldError("/contextId", "not a board id (a UUID)")]
        ) from None


async def list_tasks(
    db: Database, agent: records.Agent, params: ListTasksRequest
) -> ListTasksResponse:
    """A page of the tasks `agent` posted, as `params` asks."""
    validate_history_length(params)
    size = params.page_size if params.HasField("page_size") else DEFAULT_LIST_TASKS_PAGE_SIZE
    validate_page_size(size)
    board_id = _board(params.context_id)
    before = after_token(params.page_token) if params.page_token else None
    status = None
    if params.status != TaskState.TASK_STATE_UNSPECIFIED:
        status = STATUSES.get(params.status)
        if status is None:  # a state no task here is ever in
            return ListTasksResponse(page_size=size)
    changed_after = (
        params.status_timestamp_after.ToDatetime(tzinfo=UTC)
        if params.HasField("status_timestamp_after")
        else None
    )
    with translated():
        async with db.connection() as conn:
            found, total = await posted_tasks.page(
                conn,
                poster=agent,
                board_id=board_id,
                status=status,
                changed_after=changed_after,
                before=before,
                limit=size + 1,  # one more: whether there is a next page
            )
    shown = found[:size]
    return ListTasksResponse(
        tasks=[apply_history_length(a2a_task(p), params) for p in shown],
        next_page_token=page_token(shown[-1].task) if len(found) > size else "",
        page_size=size,
        total_size=total,
    )
