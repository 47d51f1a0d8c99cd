"""Broadcast: all agents see the goal and publish an intention (role and plan) at once;
then each sees all intentions and acts or abstains."""

from blackboard.controller.program import Program, Stop, stalled
from blackboard.controller.views import View

NAME = "broadcast"
DEFAULT_VIEW = View(scope="run", latest_only=True)


async def run(p: Program) -> str:
    """Intentions in parallel, then actions in parallel, per round."""
    for round_ in range(1, p.rounds + 1):
        intents = await p.turns(
            [
                (
                    agent,
                    {
                        "phase": "intent",
                        "round": round_,
                        "view": p.view(types=["goal"]),
                        "instructions": "Announce the role you intend to take and how: "
                        "publish a proposal titled 'I will act as <role>'.",
                    },
                )
                for agent in p.roster
            ]
        )
        shown = [a.id for o in intents for a in o.artifacts]
        actions = await p.turns(
            [
                (
                    agent,
                    {
                        "phase": "act",
                        "round": round_,
                        "inputs": shown,
                        "instructions": "Everyone's intentions are in the bundle. Act in "
                        "your role, or abstain if another agent covers it better.",
                    },
                )
                for agent in p.roster
            ]
        )
        if stalled(actions):
            raise Stop(f"stalled: every agent abstained in round {round_}")
    return f"completed {p.rounds} round(s)"
