"""The task endpoints, on both clients: a pool of work that agents with the right
capabilities lease, do under a heartbeat, and complete, fail or decline."""

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from agents.client._artifacts import Draft, _draft, _idempotent
from agents.client._core import Id, Request, _ids, _items, _json, _one, _query, _seg, endpoint
from agents.client.models import Task, TaskCompleted


def _task_or_none(response: httpx.Response) -> Task | None:
    return None if response.status_code == 204 else Task.model_validate_json(response.content)


class TaskEndpoints:
    """Post, lease, heartbeat, complete, fail, decline and list tasks."""

    @endpoint
    def post_task(
        board_id: Id,
        title: str,
        *,
        spec: Mapping[str, Any] | None = None,
        wants_type: str | None = None,
        required_capabilities: Sequence[str] | None = None,
        inputs: Sequence[Id] | None = None,
        max_attempts: int | None = None,
    ) -> Request[Task]:
        """Post a task that agents with the required capabilities can volunteer for."""
        body = _json(
            title=title,
            spec=None if spec is None else dict(spec),
            wants_type=wants_type,
            required_capabilities=None
            if required_capabilities is None
            else list(required_capabilities),
            inputs=_ids(inputs),
            max_attempts=max_attempts,
        )
        return Request("POST", f"/v1/boards/{_seg(board_id)}/tasks", _one(Task), json=body)

    @endpoint
    def claim_task(board_id: Id, *, lease_s: float | None = None) -> Request[Task | None]:
        """Lease the oldest open task you can do, or None when there is nothing for you."""
        path = f"/v1/boards/{_seg(board_id)}/tasks/claim"
        return Request("POST", path, _task_or_none, json=_json(lease_s=lease_s))

    @endpoint
    def heartbeat(task_id: Id, *, lease_s: float | None = None) -> Request[Task]:
        """Extend your lease on a task; LeaseLost if it already ran out."""
        path = f"/v1/tasks/{_seg(task_id)}/heartbeat"
        return Request("POST", path, _one(Task), json=_json(lease_s=lease_s))

    @endpoint
    def complete_task(
        task_id: Id, artifact: Draft, *, idempotency_key: str | None = None
    ) -> Request[TaskCompleted]:
        """Publish the result artifact and complete the task, atomically (idempotent and
        retried like publish)."""
        path = f"/v1/tasks/{_seg(task_id)}/complete"
        body = {"artifact": _draft(artifact)}
        headers = _idempotent(idempotency_key)
        return Request("POST", path, _one(TaskCompleted), json=body, headers=headers, retry=True)

    @endpoint
    def fail_task(
        task_id: Id, reason: str, *, retry: bool | None = None, retry_after_s: float | None = None
    ) -> Request[Task]:
        """Give up your attempt: back to the pool (after `retry_after_s`) or failed for good."""
        body = _json(reason=reason, retry=retry, retry_after_s=retry_after_s)
        return Request("POST", f"/v1/tasks/{_seg(task_id)}/fail", _one(Task), json=body)

    @endpoint
    def abstain_task(task_id: Id, reason: str, *, confidence: float | None = None) -> Request[Task]:
        """Decline a task: never offered to you again, back to the pool if it was yours."""
        body = _json(reason=reason, confidence=confidence)
        return Request("POST", f"/v1/tasks/{_seg(task_id)}/abstain", _one(Task), json=body)

    @endpoint
    def cancel_task(task_id: Id) -> Request[Task]:
        """Withdraw a task you posted while it is still open: `cancelled`, never offered."""
        return Request("POST", f"/v1/tasks/{_seg(task_id)}/cancel", _one(Task))

    @endpoint
    def get_task(task_id: Id) -> Request[Task]:
        """A task with every attempt."""
        return Request("GET", f"/v1/tasks/{_seg(task_id)}", _one(Task), retry=True)

    @endpoint
    def list_tasks(
        board_id: Id, *, status: str | None = None, limit: int | None = None
    ) -> Request[list[Task]]:
        """The board's tasks, oldest first (status: open, leased, completed, failed, cancelled)."""
        params = _query(status=status, limit=limit)
        path = f"/v1/boards/{_seg(board_id)}/tasks"
        return Request("GET", path, _items(Task), params=params, retry=True)
