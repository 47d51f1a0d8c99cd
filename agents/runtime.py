"""The agent runtime: write an agent as a class of decorated handlers, and let the loop run it.

    from agents.runtime import Abstain, Agent, run

    agent = Agent("researcher", capabilities=["research"])

    @agent.on_task(wants_type="finding")
    async def research(task: Task) -> dict[str, Any]:
        return {"type": "finding", "body": {"claim": f"about {task.title}"}}

    @agent.on_turn
    def take_turn(turn: Turn) -> tuple[str, list[Draft]]:
        raise Abstain("I only do tasks")

    @agent.on_artifact(type="finding")
    async def seen(artifact: Artifact, ctx: Context) -> None: ...

    run(agent, url="http://127.0.0.1:8000", token="bbagent_...", boards=[board_id])

Handlers may be sync (run in a thread) or async, and take the item alone or the item and a
`Context` (the client, the agent's own record, the board). An `on_task` handler returns the
result artifact — an `ArtifactDraft`, a mapping `{"type", "body", ...}`, a mapping without
"type" (taken as the body of the task's `wants_type`) or a standard artifact model such as
`artifacts.Finding` — or raises `Abstain(reason)` to decline (the task goes back to the pool
for others), or raises anything else to fail the attempt with a retry. A handler registered
with `wants_type=None` takes any task no more specific handler takes; a task no handler takes
is declined with an abstention. An `on_turn` handler returns `(role, [drafts])` or raises
`Abstain`. `on_artifact` handlers see every artifact of their type published on a followed
board by someone else.

The loop (`serve`) follows each board's event stream (the SDK resumes it after a dropped
connection; the runtime reopens it after the SDK gives up), claims tasks on start and whenever
a task event arrives (and every `poll_s` as a fallback), keeps the lease alive with a heartbeat
every `lease_s / 3` while a handler runs, long-polls `my_turns` when there is an `on_turn`
handler, backs off after errors, and stops when `stop` is set: it waits `grace_s` for running
handlers, then abandons them (failing their tasks with a retry so others take them at once).
"""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, overload
from uuid import UUID

from agents.client import (
    Agent as AgentRecord,
)
from agents.client import (
    AsyncClient,
    BlackboardError,
    Event,
    LeaseLost,
    ServerError,
    Task,
    TransportError,
    Turn,
)
from agents.handlers import Abstain, Context, Draft, H, Handler, call_handler, to_draft

__all__ = [
    "Abstain",
    "Agent",
    "Context",
    "Draft",
    "run",
    "serve",
    "to_draft",
]

log = logging.getLogger("agents.runtime")

TASK_EVENTS = frozenset(
    {"task.posted", "task.lease_expired", "task.failed", "task.abstained", "agent.abstained"}
)
"""Event kinds after which an open task may be waiting for us."""


class _Any:
    """The `wants_type` of a catch-all task handler (`wants_type=None`)."""


@dataclass
class Agent:
    """An agent: its name and capabilities (for registration), and its handlers.

    `lease_s` is the task lease asked for (renewed every third of it), `poll_s` how often to
    look for tasks without an event, `turn_wait_s` the long-poll of `my_turns`, `grace_s` how
    long a stopping agent lets running handlers finish.
    """

    name: str
    capabilities: list[str] = field(default_factory=list)
    description: str | None = None
    lease_s: float = 30.0
    poll_s: float = 10.0
    turn_wait_s: float = 5.0
    grace_s: float = 5.0
    task_handlers: dict[str | None, Handler] = field(default_factory=dict)
    turn_handler: Handler | None = None
    artifact_handlers: dict[str, list[Handler]] = field(default_factory=dict)

    @overload
    def on_task(self, fn: H) -> H: ...
    @overload
    def on_task(self, *, wants_type: str | None = None) -> Callable[[H], H]: ...
    def on_task(self, fn: Handler | None = None, *, wants_type: str | None = None) -> Any:
        """Register the handler of tasks that want `wants_type` (None: any other task)."""

        def register(handler: Handler) -> Handler:
            self.task_handlers[wants_type] = handler
            return handler

        return register(fn) if fn is not None else register

    def on_turn(self, fn: H, /) -> H:
        """Register the handler of the turns offered to this agent in runs."""
        self.turn_handler = fn
        return fn

    def on_artifact(self, *, type: str) -> Callable[[H], H]:
        """Register a handler called for each new artifact of `type` on followed boards."""

        def register(handler: H) -> H:
            self.artifact_handlers.setdefault(type, []).append(handler)
            return handler

        return register

    def task_handler(self, task: Task) -> Handler | None:
        """The handler for this task, or None when the agent has none."""
        handler = self.task_handlers.get(task.wants_type) if task.wants_type else None
        return handler or self.task_handlers.get(None)


@dataclass
class _Backoff:
    """Exponential delays after consecutive errors, reset by a success."""

    base: float = 0.2
    cap: float = 10.0
    failures: int = 0

    def next(self) -> float:
        self.failures += 1
        return float(min(self.cap, self.base * 2 ** (self.failures - 1)))

    def reset(self) -> None:
        self.failures = 0


class _Runtime:
    """One running agent: its workers, and what they share."""

    def __init__(
        self, agent: Agent, client: AsyncClient, me: AgentRecord, stop: asyncio.Event
    ) -> None:
        self.agent, self.client, self.me, self.stop = agent, client, me, stop
        self.running: set[asyncio.Task[None]] = set()  # handler jobs of tasks

    async def _sleep_or_stop(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), delay)

    # --- following a board ---------------------------------------------------------------

    async def follow(self, board_id: UUID, wake: asyncio.Event) -> None:
        """Follow the board's events from now on: wake the task worker, feed artifact handlers."""
        after: int | None = None
        backoff = _Backoff()
        wanted = set(TASK_EVENTS)
        if self.agent.artifact_handlers:
            wanted.add("artifact.published")
        kinds = sorted(wanted)
        while True:
            try:
                if after is None:
                    after = (await self.client.get_board(board_id)).last_seq
                async for event in self.client.stream_events(board_id, after=after, kinds=kinds):
                    after = event.seq
                    backoff.reset()
                    await self._on_event(board_id, event, wake)
            except BlackboardError as exc:
                delay = backoff.next()
                log.warning("event stream of %s broke (%s); again in %.1fs", board_id, exc, delay)
                wake.set()  # we may have missed task events meanwhile
                await asyncio.sleep(delay)

    async def _on_event(self, board_id: UUID, event: Event, wake: asyncio.Event) -> None:
        if event.kind in TASK_EVENTS:
            wake.set()
            return
        if event.kind != "artifact.published" or event.actor_id == self.me.id:
            return
        handlers = self.agent.artifact_handlers.get(str(event.data.get("type")), [])
        if not handlers or event.subject_id is None:
            return
        try:
            artifact = await self.client.get_artifact(board_id, event.subject_id)
        except BlackboardError as exc:
            log.warning("could not read artifact %s: %s", event.subject_id, exc)
            return
        ctx = Context(self.client, self.me, board_id)
        for handler in handlers:
            try:
                await call_handler(handler, artifact, ctx)
            except Exception:
                log.exception("artifact handler %s failed on %s", handler, artifact.id)

    # --- tasks ---------------------------------------------------------------------------

    async def work(self, board_id: UUID, wake: asyncio.Event) -> None:
        """Claim and do the board's tasks, one at a time, until stopping."""
        backoff = _Backoff()
        while not self.stop.is_set():
            wake.clear()
            try:
                task = await self.client.claim_task(board_id, lease_s=self.agent.lease_s)
            except BlackboardError as exc:
                delay = backoff.next()
                log.warning("claiming on %s failed (%s); again in %.1fs", board_id, exc, delay)
                await self._sleep_or_stop(delay)
                continue
            backoff.reset()
            if task is None:
                waits = [
                    asyncio.ensure_future(wake.wait()),
                    asyncio.ensure_future(self.stop.wait()),
                ]
                try:
                    await asyncio.wait(
                        waits, timeout=self.agent.poll_s, return_when="FIRST_COMPLETED"
                    )
                finally:
                    for w in waits:
                        w.cancel()
                continue
            job = asyncio.create_task(self._do_task(task, Context(self.client, self.me, board_id)))
            self.running.add(job)
            try:
                await asyncio.shield(job)
            except asyncio.CancelledError:
                if not job.done():
                    job.cancel()  # killed: abandon without a word; the lease runs out
                raise
            finally:
                self.running.discard(job)

    async def _do_task(self, task: Task, ctx: Context) -> None:
        handler = self.agent.task_handler(task)
        if handler is None:
            await self._settle(
                self.client.abstain_task(
                    task.id, f"{self.agent.name} has no handler for {task.wants_type!r} tasks"
                )
            )
            return
        heart = asyncio.create_task(self._heartbeat(task))
        handling = asyncio.create_task(call_handler(handler, task, ctx))
        try:
            done, _ = await asyncio.wait({heart, handling}, return_when="FIRST_COMPLETED")
            if handling not in done:  # the lease was lost: whatever we'd publish is void
                handling.cancel()
                log.warning("lost the lease of task %s; abandoning it", task.id)
                return
            heart.cancel()
            try:
                answer = handling.result()
            except Abstain as no:
                await self._settle(
                    self.client.abstain_task(task.id, no.reason, confidence=no.confidence)
                )
                return
            except Exception as exc:
                log.exception("handler failed on task %s", task.id)
                await self._settle(
                    self.client.fail_task(task.id, f"{type(exc).__name__}: {exc}", retry=True)
                )
                return
            try:
                draft = to_draft(answer, wants_type=task.wants_type)
            except ValueError as exc:
                await self._settle(self.client.fail_task(task.id, f"bad result: {exc}", retry=True))
                return
            await self._settle(self.client.complete_task(task.id, draft))
        except asyncio.CancelledError:
            handling.cancel()
            if self.stop.is_set():  # a graceful stop: hand the task back at once
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(
                        self.client.fail_task(task.id, "the agent is shutting down", retry=True), 5
                    )
            raise
        finally:
            heart.cancel()
            handling.cancel()
            await asyncio.gather(heart, return_exceptions=True)  # no heartbeat after this

    async def _heartbeat(self, task: Task) -> None:
        """Renew the lease every third of it; return when it is lost."""
        every = self.agent.lease_s / 3
        while True:
            await asyncio.sleep(every)
            try:
                await self.client.heartbeat(task.id, lease_s=self.agent.lease_s)
            except LeaseLost:
                return
            except BlackboardError as exc:
                log.warning("heartbeat of task %s failed: %s", task.id, exc)

    async def _settle(self, call: Awaitable[Any]) -> None:
        """Send a task's outcome; a lost lease or error is logged, not raised."""
        try:
            await call
        except LeaseLost as exc:
            log.warning("too late to settle a task: %s", exc)
        except BlackboardError as exc:
            log.error("could not settle a task: %s", exc)

    # --- turns ---------------------------------------------------------------------------

    async def take_turns(self) -> None:
        """Long-poll the turns offered to this agent and answer each one."""
        assert self.agent.turn_handler is not None
        backoff = _Backoff()
        while not self.stop.is_set():
            try:
                turns = await self.client.my_turns(wait=self.agent.turn_wait_s)
                for turn in turns:
                    if turn.status == "offered":
                        await self._take_turn(turn)
                backoff.reset()
            except BlackboardError as exc:
                delay = backoff.next()
                log.warning("turns failed (%s); again in %.1fs", exc, delay)
                await self._sleep_or_stop(delay)

    async def _take_turn(self, turn: Turn) -> None:
        assert self.agent.turn_handler is not None
        ctx = Context(self.client, self.me, turn.board_id)
        try:
            answer = await call_handler(self.agent.turn_handler, turn, ctx)
            role, drafts = answer
            artifacts = [to_draft(d) for d in drafts]
        except Abstain as no:
            await self.client.abstain_turn(turn.id, no.reason, confidence=no.confidence)
            return
        except Exception as exc:
            log.exception("turn handler failed on turn %s", turn.id)
            await self.client.abstain_turn(
                turn.id, f"the agent failed: {type(exc).__name__}: {exc}"
            )
            return
        try:
            await self.client.complete_turn(turn.id, role, artifacts)
        except LeaseLost as exc:
            log.warning("turn %s is no longer ours: %s", turn.id, exc)


async def _whoami(client: AsyncClient, stop: asyncio.Event) -> AgentRecord | None:
    """The agent's record, retried while the service is unreachable (None: stopped first).
    A rejected token is raised: waiting will not fix it."""
    backoff = _Backoff()
    while not stop.is_set():
        try:
            return await client.me()
        except (TransportError, ServerError) as exc:
            delay = backoff.next()
            log.warning("the service does not answer (%s); again in %.1fs", exc, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
    return None


async def serve(
    agent: Agent,
    *,
    boards: Sequence[UUID | str],
    url: str | None = None,
    token: str | None = None,
    client: AsyncClient | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run `agent` until `stop` is set (or this coroutine is cancelled, which abandons all).

    Give `url` and `token`, or a ready `client` (left open). Setting `stop` is the clean
    shutdown: no new work, running handlers get `agent.grace_s` to finish, then are
    abandoned and their tasks handed back.
    """
    own = client is None
    if client is None:
        if url is None:
            raise ValueError("serve needs a url (and token) or a client")
        client = AsyncClient(url, token)
    stop = stop or asyncio.Event()
    try:
        me = await _whoami(client, stop)
        if me is None:
            return
        rt = _Runtime(agent, client, me, stop)
        board_ids = [UUID(str(b)) for b in boards]
        workers: list[asyncio.Task[None]] = []
        followers: list[asyncio.Task[None]] = []
        for board_id in board_ids:
            wake = asyncio.Event()
            followers.append(asyncio.create_task(rt.follow(board_id, wake)))
            if agent.task_handlers:
                workers.append(asyncio.create_task(rt.work(board_id, wake)))
        if agent.turn_handler is not None:
            workers.append(asyncio.create_task(rt.take_turns()))
        log.info("%s (%s) serving boards %s", agent.name, me.id, board_ids)
        try:
            await stop.wait()
            for f in followers:
                f.cancel()
            if workers:
                await asyncio.wait(workers, timeout=agent.grace_s)
            jobs = list(rt.running)  # still running past the grace: abandon them
            for job in jobs:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)
            for w in workers:
                w.cancel()
            await asyncio.gather(*followers, *workers, return_exceptions=True)
        finally:
            for t in (*followers, *workers, *rt.running):
                t.cancel()
            await asyncio.gather(*followers, *workers, *rt.running, return_exceptions=True)
    finally:
        if own:
            await client.aclose()


def run(agent: Agent, *, url: str, token: str, boards: Sequence[UUID | str]) -> None:
    """Run `agent` in the foreground until SIGINT or SIGTERM (then stop cleanly)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await serve(agent, url=url, token=token, boards=boards, stop=stop)

    asyncio.run(main())
