"""Sequential: a fixed order. Each agent sees the goal and what its predecessors in this
run produced, chooses its own role (free text, may be new) and publishes — or abstains."""

from blackboard.controller.program import Outcome, Program, Stop, stalled
from blackboard.controller.views import View

NAME = "sequential"
DEFAULT_VIEW = View(scope="run", latest_only=True)


async def run(p: Program) -> str:
    """Round after round, every agent in roster order takes one turn."""
    for round_ in range(1, p.rounds + 1):
        outcomes: list[Outcome] = []
        for agent in p.roster:
            outcomes.append(
                await p.turn(
                    agent,
                    phase="act",
                    round=round_,
                    instructions="Read what your predecessors published. Choose the role "
                    "you can best fill now and publish your contribution, or abstain if "
                    "nothing here is within your competence.",
                )
            )
        if stalled(outcomes):
            raise Stop(f"stalled: every agent abstained in round {round_}")
    return f"completed {p.rounds} round(s)"
