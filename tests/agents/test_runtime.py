"""The agent runtime against the real app over real HTTP (the `live_server`, since the
runtime follows event streams): tasks done and completed, a killed agent's task redone by
another, a reference agent abstaining outside its competence, and a solo run taken by an
external runtime agent."""

import asyncio
import contextlib
import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from agents.client import AsyncClient, Task
from agents.reference import PLAN_KEY, make_critic, make_planner, make_researcher
from agents.runtime import Abstain, Agent, Context, Draft, serve, to_draft
from artifacts import Finding
from blackboard.cli.agent_command import load_agent
from tests.support.api import ADMIN_TOKEN


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    """Wait until `check()` holds (polling), or fail."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


@pytest.fixture
async def admin(live_server: Any) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(live_server.url, ADMIN_TOKEN) as client:
        yield client


async def register(admin: AsyncClient, capabilities: list[str]) -> tuple[str, uuid.UUID]:
    """Register an agent; return its token and id."""
    created = await admin.register_agent(f"agent-{uuid.uuid4().hex[:8]}", capabilities)
    return created.token, created.id


@contextlib.asynccontextmanager
async def running(
    agent: Agent, url: str, token: str, boards: list[Any]
) -> AsyncIterator[asyncio.Task[None]]:
    """Serve `agent` in the background; stop it cleanly afterwards."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(agent, url=url, token=token, boards=boards, stop=stop))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def fast(agent: Agent) -> Agent:
    agent.poll_s, agent.turn_wait_s, agent.grace_s = 0.5, 0.5, 1.0
    return agent


async def test_on_task_agent_completes_posted_tasks(live_server: Any, admin: AsyncClient) -> None:
    board = await admin.create_board("tasks")
    token, agent_id = await register(admin, ["research"])
    agent = fast(Agent("finder", capabilities=["research"]))
    seen: list[str] = []

    @agent.on_task(wants_type="finding")
    async def find(task: Task) -> Draft:
        seen.append(task.title)
        return Finding(claim=f"answer to {task.title}", evidence=["a test"])

    first = await admin.post_task(board.id, "before start", wants_type="finding")
    async with running(agent, live_server.url, token, [board.id]):
        await eventually(lambda: _status(admin, first.id, "completed"))
        more = [
            await admin.post_task(
                board.id, f"q{i}", wants_type="finding", required_capabilities=["research"]
            )
            for i in range(3)
        ]
        for posted in more:
            await eventually(functools.partial(_status, admin, posted.id, "completed"))

    assert sorted(seen) == ["before start", "q0", "q1", "q2"]
    results = (await admin.list_artifacts(board.id, type="finding")).items
    assert len(results) == 4 and {r.author_id for r in results} == {agent_id}
    for posted in [first, *more]:
        done = await admin.get_task(posted.id)
        assert done.result_id in {r.id for r in results}
        assert (
            next(r for r in results if r.id == done.result_id).body["claim"].endswith(posted.title)
        )


async def _status(admin: AsyncClient, task_id: uuid.UUID, status: str) -> bool:
    return (await admin.get_task(task_id)).status == status


async def test_killed_agent_task_is_redone_by_another(live_server: Any, admin: AsyncClient) -> None:
    board = await admin.create_board("kill")
    token_a, id_a = await register(admin, ["research"])
    token_b, id_b = await register(admin, ["research"])
    started = asyncio.Event()

    stuck = fast(Agent("stuck", capabilities=["research"], lease_s=0.5))

    @stuck.on_task
    async def block(task: Task) -> Draft:
        started.set()
        await asyncio.Event().wait()  # never returns
        raise AssertionError("unreachable")

    task = await admin.post_task(board.id, "boiling point", wants_type="finding")
    a = asyncio.create_task(serve(stuck, url=live_server.url, token=token_a, boards=[board.id]))
    await asyncio.wait_for(started.wait(), 10)
    await asyncio.sleep(1.5)  # three leases long: only the heartbeats keep it
    held = await admin.get_task(task.id)
    assert (held.status, held.holder_id, held.attempt) == ("leased", id_a, 1)

    a.cancel()  # killed: no completion, no failure, no more heartbeats
    with pytest.raises(asyncio.CancelledError):
        await a
    assert (await admin.get_task(task.id)).status == "leased"

    other = fast(Agent("other", capabilities=["research"], lease_s=5.0))
    other.poll_s = 0.2

    @other.on_task
    def answer(task: Task) -> Draft:
        return {"claim": "100 C at sea level"}  # the body; the type is the task's wants_type

    async with running(other, live_server.url, token_b, [board.id]):
        await eventually(lambda: _status(admin, task.id, "completed"))

    done = await admin.get_task(task.id)
    results = (await admin.list_artifacts(board.id, type="finding")).items
    assert len(results) == 1 and results[0].author_id == id_b and done.result_id == results[0].id
    assert done.attempts is not None
    assert [(t.agent_id, t.outcome) for t in done.attempts] == [
        (id_a, "lease_expired"),
        (id_b, "completed"),
    ]


async def test_reference_critic_abstains_and_leaves_the_task_to_others(
    live_server: Any, admin: AsyncClient
) -> None:
    board = await admin.create_board("competence")
    critic_token, critic_id = await register(admin, ["critique"])
    task = await admin.post_task(board.id, "what boils at 100 C?", wants_type="finding")

    async with running(fast(make_critic()), live_server.url, critic_token, [board.id]):

        async def abstained() -> bool:
            return bool((await admin.list_abstentions(board.id, task=task.id)).items)

        await eventually(abstained)
    page = await admin.list_abstentions(board.id, task=task.id)
    assert [a.agent_id for a in page.items] == [critic_id]
    assert "finding" in page.items[0].reason
    left = await admin.get_task(task.id)
    assert left.status == "open" and left.result_id is None

    researcher_token, researcher_id = await register(admin, ["research"])
    async with running(fast(make_researcher()), live_server.url, researcher_token, [board.id]):
        await eventually(lambda: _status(admin, task.id, "completed"))
    result = await admin.get_artifact(board.id, str((await admin.get_task(task.id)).result_id))
    assert result.type == "finding" and result.author_id == researcher_id


async def test_solo_run_with_an_external_runtime_agent(
    live_server: Any, admin: AsyncClient
) -> None:
    board = await admin.create_board("solo")
    token, agent_id = await register(admin, ["research"])
    async with running(fast(make_researcher()), live_server.url, token, [board.id]):
        run = await admin.start_run(
            board.id, "solo", [agent_id], "Boil water", rounds=1, turn_timeout_s=10
        )

        async def finished() -> bool:
            return (await admin.get_run(run.id)).run.status not in ("pending", "running")

        await eventually(finished)
    detail = await admin.get_run(run.id)
    assert detail.run.status == "completed", detail.run.stop_reason
    assert [(t.status, t.role) for t in detail.turns] == [("completed", "researcher")]
    findings = (await admin.list_artifacts(board.id, type="finding")).items
    assert len(findings) == 1 and findings[0].author_id == agent_id
    assert "Boil water" in findings[0].body["claim"]


def test_to_draft_accepts_models_mappings_and_bodies() -> None:
    assert to_draft(Finding(claim="x")).type == "finding"
    assert to_draft({"claim": "x"}, wants_type="finding").body["claim"] == "x"
    draft = to_draft({"type": "finding", "body": Finding(claim="y"), "tags": ["t"]})
    assert draft.body["claim"] == "y" and draft.tags == ["t"]
    with pytest.raises(ValueError):
        to_draft({"claim": "x"})
    assert isinstance(Abstain("no").reason, str)


def test_cli_loads_agents_and_factories() -> None:
    import typer

    assert isinstance(load_agent("agents.reference:critic"), Agent)
    made = load_agent("agents.reference:make_planner")  # a factory is called
    assert isinstance(made, Agent) and made.capabilities == ["planner"]
    for bad in ("agents.reference", "agents.reference:nope", "agents.runtime:Abstain"):
        with pytest.raises(typer.BadParameter):
            load_agent(bad)


async def test_clean_stop_hands_an_unfinished_task_back(
    live_server: Any, admin: AsyncClient
) -> None:
    board = await admin.create_board("stop")
    token, agent_id = await register(admin, [])
    started = asyncio.Event()
    slow = fast(Agent("slow", lease_s=30.0))
    slow.grace_s = 0.2

    @slow.on_task
    async def block(task: Task) -> Draft:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    task = await admin.post_task(board.id, "never finished")
    async with running(slow, live_server.url, token, [board.id]):
        await asyncio.wait_for(started.wait(), 10)
    # stopped: the handler was abandoned after the grace and the task handed back at once
    back = await admin.get_task(task.id)
    assert back.status == "open" and back.holder_id is None
    assert back.attempts is not None and back.attempts[0].agent_id == agent_id
    assert back.attempts[0].outcome == "failed"


async def test_a_task_handler_writes_a_guarded_key_while_holding_its_role(
    live_server: Any, admin: AsyncClient
) -> None:
    board = await admin.create_board("guarded")
    await admin.create_guard(board.id, "color/{scope}", "node")
    token, agent_id = await register(admin, ["paint"])
    agent = fast(Agent("painter", capabilities=["paint"]))

    @agent.on_task
    async def paint(task: Task, ctx: Context) -> Draft:
        async with ctx.hold_role("node", task.title) as hold:
            await hold.publish("finding", {"claim": "red"}, key=f"color/{task.title}")
        return Finding(claim=f"painted {task.title}")

    posted = await admin.post_task(board.id, "7")
    async with running(agent, live_server.url, token, [board.id]):
        await eventually(lambda: _status(admin, posted.id, "completed"))
    [painted] = await admin.history(board.id, "color/7")
    assert painted.author_id == agent_id and painted.role == "node"
    claim = await admin.get_claim(str(painted.claim_id))
    assert claim.status == "released" and painted.fencing_token == claim.fencing_token


async def test_reference_planner_writes_the_guarded_plan_holding_its_role(
    live_server: Any, admin: AsyncClient
) -> None:
    board = await admin.create_board("guarded plan")
    await admin.create_guard(board.id, "plan/*", "planner")
    token, agent_id = await register(admin, ["planner"])
    posted = await admin.post_task(board.id, "Boil water", wants_type="plan")
    async with running(fast(make_planner()), live_server.url, token, [board.id]):
        await eventually(lambda: _status(admin, posted.id, "completed"))
    [kept] = await admin.history(board.id, PLAN_KEY)
    assert kept.author_id == agent_id and kept.role == "planner"
    claim = await admin.get_claim(str(kept.claim_id))
    assert claim.status == "released" and kept.fencing_token == claim.fencing_token
    result = await admin.get_artifact(board.id, str((await admin.get_task(posted.id)).result_id))
    assert result.type == "plan" and result.parents == [kept.id]
