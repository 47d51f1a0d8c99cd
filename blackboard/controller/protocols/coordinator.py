"""Coordinator: the first agent sees the goal and the roster and publishes an assignment;
each other agent sees only the goal and its own assignment and executes it; the
coordinator then sees everything and synthesises the result."""

from typing import Any

from blackboard.controller.program import Program, Stop
from blackboard.controller.views import View

NAME = "coordinator"
DEFAULT_VIEW = View(scope="run", latest_only=True)


def _assignment_for(plan_body: dict[str, Any], agent_id: str) -> str | None:
    assignments = plan_body.get("assignments")
    if isinstance(assignments, dict):
        task = assignments.get(agent_id)
        return str(task) if task else None
    return None


async def run(p: Program) -> str:
    """Assign, execute, synthesise."""
    coordinator, workers = p.roster[0], p.roster[1:]
    roster = [{"id": str(a.id), "name": a.name, "capabilities": a.capabilities} for a in workers]
    assigned = await p.turn(
        coordinator,
        phase="assign",
        round=1,
        view=p.view(types=["goal"]),
        roster=roster,
        instructions="Assign each roster member a part of the goal: publish a plan whose "
        "body has `assignments`: {agent_id: task}.",
    )
    if not assigned.acted:
        raise Stop("the coordinator declined to assign work")
    plan = assigned.artifacts[0]
    for worker in workers:
        task = _assignment_for(plan.body, str(worker.id))
        if task is None:
            continue  # not assigned anything: nothing to do
        await p.turn(
            worker,
            phase="execute",
            round=1,
            only_ids=[],  # the assignment text is all it sees of the board
            assignment=task,
            instructions="Carry out your assignment and publish the result of it, or "
            "abstain if it is outside your competence.",
        )
    await p.turn(
        coordinator,
        phase="synthesize",
        round=1,
        instructions="Synthesise what the others produced into one result.",
    )
    return "assigned, executed, synthesised"
