"""The A2A methods, answered by the same services as the REST routes.

A message posts a task (services.tasks.post, as `POST /v1/boards/{id}/tasks`); a cancel
is services.tasks.cancel (`POST /v1/tasks/{id}/cancel`); reads go through the poster's
view of its tasks (services.posted_tasks). Streams follow the board's event feed
(services.task_watch), so a stream may be served by any process.
"""

from collections.abc import AsyncGenerator
from uuid import UUID

from a2a.server.context import ServerCallContext
from a2a.server.events.event_queue import Event as A2AEvent
from a2a.server.request_handlers.request_handler import RequestHandler, validate_request_params
from a2a.types.a2a_pb2 import (
    AgentCard,
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTaskPushNotificationConfigsResponse,
    ListTasksRequest,
    ListTasksResponse,
    SendMessageRequest,
    SubscribeToTaskRequest,
    Task,
    TaskPushNotificationConfig,
)
from a2a.utils.errors import (
    ExtendedAgentCardNotConfiguredError,
    PushNotificationNotSupportedError,
    UnsupportedOperationError,
)
from a2a.utils.task import apply_history_length, validate_history_length

from api.a2a import listing, messages
from api.a2a.errors import a2a_error, shaped, translated
from api.a2a.tasks import STATES, a2a_task, artifact_update, status_change, status_update
from blackboard import records
from blackboard.services import artifacts, posted_tasks, task_watch, tasks
from blackboard.services.board_writes import BoardWrites
from blackboard.services.feed import Feeds
from blackboard.services.posted_tasks import PostedTask
from blackboard.store.database import Conn, Database


def caller(context: ServerCallContext) -> records.Agent:
    """The agent making the call (authenticated before the call was dispatched)."""
    agent = context.state["agent"]
    assert isinstance(agent, records.Agent)
    return agent


def task_id_of(text: str) -> UUID:
    """The task id an A2A request names; an id that is no UUID names no task."""
    try:
        return UUID(text)
    except ValueError:
        raise a2a_error(posted_tasks.not_found(text)) from None


class BoardHandler(RequestHandler):
    """A2A over the board's tasks."""

    def __init__(self, db: Database, feeds: Feeds, writes: BoardWrites) -> None:
        self.db = db
        self.feeds = feeds
        self.writes = writes

    async def _post(self, request: SendMessageRequest, agent: records.Agent) -> records.Task:
        """Post the task the message asks for; a message sent again (same messageId, same
        sender) gets the task its first sending posted."""
        board_id = messages.board_of(request)
        draft = messages.task_draft(request)
        message_id = request.message.message_id
        with translated():
            if not message_id:  # nothing to know a sending again by
                return await self.db.run(
                    lambda conn: tasks.post(
                        conn, board_id=board_id, poster=agent, draft=draft, grouped=self.writes
                    ),
                    atomic=False,  # one statement: the task and its event
                )
            return await self.db.run(
                lambda conn: tasks.post_message(
                    conn, board_id=board_id, poster=agent, draft=draft, message_id=message_id
                )
            )

    @validate_request_params
    async def on_message_send(self, params: SendMessageRequest, context: ServerCallContext) -> Task:
        """Post the task; return it at once, submitted (agents take it in their own time:
        follow it with SubscribeToTask or GetTask)."""
        return a2a_task(PostedTask(await self._post(params, caller(context))))

    @validate_request_params
    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[A2AEvent]:
        """Post the task, then stream its updates until it ends."""
        agent = caller(context)
        board_id = messages.board_of(params)
        with translated():
            async with self.db.connection() as conn:
                # nothing logged before the post is about this task: follow from here
                after = await task_watch.start(conn, board_id=board_id)
        task = await self._post(params, agent)
        yield a2a_task(PostedTask(task))
        async for update in self._updates(task, after):
            yield update

    @validate_request_params
    async def on_subscribe_to_task(
        self, params: SubscribeToTaskRequest, context: ServerCallContext
    ) -> AsyncGenerator[A2AEvent]:
        """The task as it stands, then its updates until it ends."""
        agent, task_id = caller(context), task_id_of(params.id)
        with translated():
            async with self.db.connection() as conn:
                board_id = (await posted_tasks.own(conn, task_id=task_id, poster=agent)).board_id
                after = await task_watch.start(conn, board_id=board_id)
                posted = await posted_tasks.get(conn, task_id=task_id, poster=agent)
        if posted.task.status in task_watch.ENDED:
            detail = f"the task is {posted.task.status}: nothing more will happen to it"
            raise UnsupportedOperationError(
                detail, data=shaped("Conflict", detail, status=posted.task.status)
            )
        yield a2a_task(posted)
        async for update in self._updates(posted.task, after):
            yield update

    async def _updates(self, task: records.Task, after: int) -> AsyncGenerator[A2AEvent]:
        state = STATES[task.status]
        async for event in task_watch.watch(
            self.feeds, board_id=task.board_id, task_id=task.id, after=after
        ):
            if event.kind == "task.completed":
                with translated():
                    async with self.db.connection() as conn:
                        result = await artifacts.get(
                            conn, board_id=task.board_id, artifact_id=UUID(event.data["result_id"])
                        )
                yield artifact_update(task.id, task.board_id, result)
            change = status_change(event, task.id, task.board_id, state)
            if change is not None:
                state, message = change
                yield status_update(task.id, task.board_id, state, message)

    @validate_request_params
    async def on_get_task(self, params: GetTaskRequest, context: ServerCallContext) -> Task:
        """One of the caller's tasks, with its result and the abstentions on it."""
        agent, task_id = caller(context), task_id_of(params.id)
        validate_history_length(params)
        with translated():
            async with self.db.connection() as conn:
                posted = await posted_tasks.get(conn, task_id=task_id, poster=agent)
        return apply_history_length(a2a_task(posted), params)

    @validate_request_params
    async def on_list_tasks(
        self, params: ListTasksRequest, context: ServerCallContext
    ) -> ListTasksResponse:
        """The caller's tasks, newest first, a page at a time."""
        return await listing.list_tasks(self.db, caller(context), params)

    @validate_request_params
    async def on_cancel_task(self, params: CancelTaskRequest, context: ServerCallContext) -> Task:
        """Cancel the caller's task while it is still open (no agent holds it)."""
        agent, task_id = caller(context), task_id_of(params.id)

        async def cancel(conn: Conn) -> PostedTask:
            await posted_tasks.own(conn, task_id=task_id, poster=agent)
            await tasks.cancel(conn, task_id=task_id, caller=agent)
            return await posted_tasks.get(conn, task_id=task_id, poster=agent)

        with translated():
            return a2a_task(await self.db.run(cancel))

    async def on_create_task_push_notification_config(
        self, params: TaskPushNotificationConfig, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        """Not offered: follow a task with SubscribeToTask (or a board webhook over REST)."""
        raise PushNotificationNotSupportedError

    async def on_get_task_push_notification_config(
        self, params: GetTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        """Not offered (see on_create_task_push_notification_config)."""
        raise PushNotificationNotSupportedError

    async def on_list_task_push_notification_configs(
        self, params: ListTaskPushNotificationConfigsRequest, context: ServerCallContext
    ) -> ListTaskPushNotificationConfigsResponse:
        """Not offered (see on_create_task_push_notification_config)."""
        raise PushNotificationNotSupportedError

    async def on_delete_task_push_notification_config(
        self, params: DeleteTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> None:
        """Not offered (see on_create_task_push_notification_config)."""
        raise PushNotificationNotSupportedError

    async def on_get_extended_agent_card(
        self, params: GetExtendedAgentCardRequest, context: ServerCallContext
    ) -> AgentCard:
        """There is only the public card."""
        raise ExtendedAgentCardNotConfiguredError
