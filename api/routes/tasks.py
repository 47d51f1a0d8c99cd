"""Tasks: post, claim the next one, heartbeat, complete, fail, abstain."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Query, Request, Response

from api.deps import CurrentAgent, DatabaseDep, PrincipalDep
from api.errors import ERROR_RESPONSES
from api.routes.artifacts import IdempotencyKey
from api.routing import CheckedRoute
from api.schemas import Items, TaskCompleted
from api.services import services_of
from blackboard.drafts import (
    HeartbeatDraft,
    TaskAbstention,
    TaskClaimDraft,
    TaskCompletion,
    TaskDraft,
    TaskFailure,
)
from blackboard.records import Task
from blackboard.services import tasks

router = APIRouter(tags=["tasks"], responses=ERROR_RESPONSES, route_class=CheckedRoute)

TASK_STATUSES = "^(open|leased|completed|failed|cancelled)$"


@router.post("/v1/boards/{board_id}/tasks", status_code=201)
async def post_task(
    board_id: UUID, draft: TaskDraft, principal: PrincipalDep, request: Request
) -> Task:
    """Post a task that agents with the required capabilities can volunteer for."""
    services = services_of(request)  # a busy route: no dependency (see claim)
    return await services.database.run(
        lambda conn: tasks.post(
            conn,
            board_id=board_id,
            poster=principal.agent,
            draft=draft,
            grouped=services.board_writes,
        ),
        atomic=False,  # one statement: the task and its event
    )


@router.get("/v1/boards/{board_id}/tasks")
async def list_tasks(
    board_id: UUID,
    _: PrincipalDep,
    db: DatabaseDep,
    status: Annotated[str | None, Query(pattern=TASK_STATUSES)] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most 1,000.")] = 100,
) -> Items[Task]:
    """List the board's tasks, oldest first."""
    async with db.connection() as conn:
        return Items(
            items=await tasks.list_tasks(conn, board_id=board_id, status=status, limit=limit)
        )


@router.post(
    "/v1/boards/{board_id}/tasks/claim",
    response_model=Task,
    responses={204: {"description": "Nothing to do for you right now."}},
)
async def claim_task(
    board_id: UUID,
    agent: CurrentAgent,
    request: Request,
    draft: Annotated[TaskClaimDraft | None, Body()] = None,
) -> Task | Response:
    """Lease the oldest open task you can do (by capability, not declined); 204 if none."""
    # A busy route: its collaborators come straight from the services rather than as
    # a dependency, which FastAPI would resolve on every request.
    services = services_of(request)
    lease_s = (draft or TaskClaimDraft()).lease_s
    task = await services.database.run(
        lambda conn: tasks.claim_next(
            conn, board_id=board_id, agent=agent, lease_s=lease_s, grouped=services.board_writes
        ),
        atomic=False,  # each of its statements is atomic with its events
    )
    return task if task is not None else Response(status_code=204)


@router.get("/v1/tasks/{task_id}")
async def get_task(task_id: UUID, _: PrincipalDep, db: DatabaseDep) -> Task:
    """Return a task with every attempt."""
    async with db.connection() as conn:
        return await tasks.get(conn, task_id=task_id)


@router.post("/v1/tasks/{task_id}/heartbeat")
async def heartbeat(
    task_id: UUID,
    agent: CurrentAgent,
    db: DatabaseDep,
    draft: Annotated[HeartbeatDraft | None, Body()] = None,
) -> Task:
    """Extend your lease on the task; 409 LeaseLost if it already ran out."""
    lease_s = (draft or HeartbeatDraft()).lease_s
    return await db.run(
        lambda conn: tasks.heartbeat(conn, task_id=task_id, agent=agent, lease_s=lease_s)
    )


@router.post("/v1/tasks/{task_id}/complete")
async def complete_task(
    task_id: UUID,
    draft: TaskCompletion,
    agent: CurrentAgent,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> TaskCompleted:
    """Publish the result artifact and complete the task, atomically."""
    services = services_of(request)  # a busy route: no dependency (see claim)
    task, artifact = await services.database.run(
        lambda conn: tasks.complete(
            conn,
            task_id=task_id,
            agent=agent,
            artifact=draft.artifact,
            schemas=services.schemas,
            idempotency_key=idempotency_key,
            grouped=services.board_writes,
        ),
        atomic=False,  # one statement: the result, the task and both events
    )
    return TaskCompleted(task=task, artifact=artifact)


@router.post("/v1/tasks/{task_id}/cancel")
async def cancel_task(task_id: UUID, principal: PrincipalDep, db: DatabaseDep) -> Task:
    """Withdraw your open task (the operator may withdraw any): `cancelled`, never offered
    again; 409 once an agent holds it or it is done, 403 if you did not post it."""
    return await db.run(lambda conn: tasks.cancel(conn, task_id=task_id, caller=principal.agent))


@router.post("/v1/tasks/{task_id}/fail")
async def fail_task(
    task_id: UUID, draft: TaskFailure, agent: CurrentAgent, db: DatabaseDep
) -> Task:
    """Give up your attempt: back to the pool after a backoff (retry) or failed for good."""
    return await db.run(
        lambda conn: tasks.fail(
            conn,
            task_id=task_id,
            agent=agent,
            reason=draft.reason,
            retry=draft.retry,
            retry_after_s=draft.retry_after_s,
        )
    )


@router.post("/v1/tasks/{task_id}/abstain")
async def abstain_task(
    task_id: UUID, draft: TaskAbstention, agent: CurrentAgent, db: DatabaseDep
) -> Task:
    """Decline the task: it is never offered to you again, and goes back to the pool if yours."""
    return await db.run(
        lambda conn: tasks.abstain(
            conn, task_id=task_id, agent=agent, reason=draft.reason, confidence=draft.confidence
        )
    )
