"""Board tasks as A2A tasks, and the events about a task as A2A task updates.

State mapping: open -> submitted, leased -> working, completed -> completed, failed ->
failed, cancelled -> canceled. Leases, holders and fencing tokens stay internal. Each
abstention on the task is an agent message in the task's history (and the latest is its
status message while it is still open); a completed task has one artifact, its result
version as a data part (`application/json`), with type, key, version and artifact id in
the artifact's metadata.
"""

from typing import Any
from uuid import UUID

from a2a.types.a2a_pb2 import (
    Artifact,
    Message,
    Part,
    Role,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from google.protobuf.json_format import ParseDict
from google.protobuf.struct_pb2 import Struct, Value
from google.protobuf.timestamp_pb2 import Timestamp

from blackboard import records
from blackboard.services.posted_tasks import PostedTask

STATES: dict[str, TaskState] = {
    "open": TaskState.TASK_STATE_SUBMITTED,
    "leased": TaskState.TASK_STATE_WORKING,
    "completed": TaskState.TASK_STATE_COMPLETED,
    "failed": TaskState.TASK_STATE_FAILED,
    "cancelled": TaskState.TASK_STATE_CANCELED,
}
STATUSES = {state: status for status, state in STATES.items()}


def struct(values: dict[str, Any]) -> Struct:
    """A protobuf Struct of JSON values."""
    s = Struct()
    s.update(values)
    return s


def board_message(task_id: UUID, board_id: UUID, seq: int, text: str, **meta: Any) -> Message:
    """A message from the board about the task, for the event at `seq` (its id)."""
    return Message(
        message_id=f"event-{seq}",
        task_id=str(task_id),
        context_id=str(board_id),
        role=Role.ROLE_AGENT,
        parts=[Part(text=text)],
        metadata=struct({"seq": seq, **meta}),
    )


def abstention_message(
    task_id: UUID, board_id: UUID, seq: int, agent_id: UUID | None, reason: str, confidence: Any
) -> Message:
    """An agent's abstention on the task (logged at `seq`), as a message from the board."""
    return board_message(
        task_id,
        board_id,
        seq,
        f"an agent declined this task: {reason}",
        kind="agent.abstained",
        agent_id=str(agent_id) if agent_id else None,
        confidence=confidence,
    )


def result_artifact(result: records.Artifact) -> Artifact:
    """The task's result version as an A2A artifact with one JSON data part."""
    return Artifact(
        artifact_id=str(result.id),
        name=result.key,
        parts=[Part(data=ParseDict(result.body, Value()), media_type="application/json")],
        metadata=struct(
            {
                "type": result.type,
                "key": result.key,
                "version": result.version,
                "artifact_id": str(result.id),
            }
        ),
    )


def _timestamp(task: records.Task) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(task.updated_at)
    return stamp


def a2a_task(posted: PostedTask) -> Task:
    """The A2A view of one of the caller's tasks."""
    task = posted.task
    history = [
        abstention_message(task.id, task.board_id, a.seq, a.agent_id, a.reason, a.confidence)
        for a in posted.abstentions
    ]
    status = TaskStatus(state=STATES[task.status], timestamp=_timestamp(task))
    if task.status == "failed" and task.last_error:
        status.message.CopyFrom(
            Message(
                message_id=f"failed-{task.id}",
                task_id=str(task.id),
                context_id=str(task.board_id),
                role=Role.ROLE_AGENT,
                parts=[Part(text=task.last_error)],
            )
        )
    elif task.status == "open" and history:
        status.message.CopyFrom(history[-1])
    return Task(
        id=str(task.id),
        context_id=str(task.board_id),
        status=status,
        artifacts=[result_artifact(posted.result)] if posted.result else [],
        history=history,
        metadata=struct(
            {
                "title": task.title,
                "spec": task.spec,
                "wants_type": task.wants_type,
                "required_capabilities": list(task.required_capabilities),
                "attempt": task.attempt,
                "max_attempts": task.max_attempts,
            }
        ),
    )


def status_update(
    task_id: UUID, board_id: UUID, state: TaskState, message: Message | None = None
) -> TaskStatusUpdateEvent:
    """A change of the task's state (with a message saying why, if there is one)."""
    status = TaskStatus(state=state)
    status.timestamp.GetCurrentTime()
    if message is not None:
        status.message.CopyFrom(message)
    return TaskStatusUpdateEvent(task_id=str(task_id), context_id=str(board_id), status=status)


def artifact_update(
    task_id: UUID, board_id: UUID, result: records.Artifact
) -> TaskArtifactUpdateEvent:
    """The task's result, whole."""
    return TaskArtifactUpdateEvent(
        task_id=str(task_id),
        context_id=str(board_id),
        artifact=result_artifact(result),
        last_chunk=True,
    )


def status_change(
    event: records.Event, task_id: UUID, board_id: UUID, state: TaskState
) -> tuple[TaskState, Message | None] | None:
    """The task's new state after `event` (in `state` before it), with a message saying
    why when there is more to say; None if the event changes nothing a client sees."""
    data, seq = event.data, event.seq
    match event.kind:
        case "task.claimed":
            return TaskState.TASK_STATE_WORKING, None
        case "task.completed":
            return TaskState.TASK_STATE_COMPLETED, None
        case "task.cancelled":
            return TaskState.TASK_STATE_CANCELED, None
        case "task.lease_expired" if data.get("status") == "open":
            text = "the agent working on it went quiet: the task is back on the board"
            return TaskState.TASK_STATE_SUBMITTED, board_message(task_id, board_id, seq, text)
        case "task.failed":
            final = bool(data.get("final"))
            text = f"an attempt failed: {data.get('reason')}"
            message = board_message(task_id, board_id, seq, text, kind=event.kind, final=final)
            return (
                TaskState.TASK_STATE_FAILED if final else TaskState.TASK_STATE_SUBMITTED,
                message,
            )
        case "agent.abstained":
            message = abstention_message(
                task_id, board_id, seq, event.actor_id, str(data.get("reason")),
                data.get("confidence"),
            )  # fmt: skip
            returned = bool(data.get("returned_to_pool"))
            return (TaskState.TASK_STATE_SUBMITTED if returned else state), message
    return None
