"""Shared: no order. Every agent sees the whole board and acts, round after round, until
the rounds or a budget run out."""

from blackboard.controller.program import Program, Stop, stalled
from blackboard.controller.views import View

NAME = "shared"
DEFAULT_VIEW = View(scope="board", latest_only=True)


async def run(p: Program) -> str:
    """All agents at once, each round, on the whole board."""
    for round_ in range(1, p.rounds + 1):
        outcomes = await p.turns(
            [
                (
                    agent,
                    {
                        "phase": "act",
                        "round": round_,
                        "instructions": "The whole board is in the bundle. Contribute "
                        "where you can, or abstain.",
                    },
                )
                for agent in p.roster
            ]
        )
        if stalled(outcomes):
            raise Stop(f"stalled: every agent abstained in round {round_}")
    return f"completed {p.rounds} round(s)"
