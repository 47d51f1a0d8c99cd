"""Solo: one agent does the whole goal — the single-agent baseline to compare against."""

from blackboard.controller.program import Program, Stop
from blackboard.controller.views import View

NAME = "solo"
DEFAULT_VIEW = View(scope="run", latest_only=True)


async def run(p: Program) -> str:
    """The first agent of the roster takes every turn."""
    agent = p.roster[0]
    for round_ in range(1, p.rounds + 1):
        outcome = await p.turn(
            agent,
            phase="act",
            round=round_,
            instructions="You alone work on this goal: publish your next contribution.",
        )
        if not outcome.acted:
            raise Stop(f"the solo agent stopped acting in round {round_}")
    return f"completed {p.rounds} round(s)"
