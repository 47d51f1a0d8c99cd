"""The primitives protocols are written with: offer a turn, build its context, await the
outcome, record it — durably, so that a run can be resumed by another controller.

A protocol is a plain async function of a `Program`. Each `turn()` it asks for gets the
next step number; if the run already has a turn at that step (a previous controller
offered or finished it before it died), the program reuses it instead of offering it
again. Protocols are deterministic given the outcomes of their turns, so replaying a
run's finished turns brings the program back to where it stopped — without calling any
agent again for a finished turn.
"""

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from blackboard.controller.views import View, build_bundle
from blackboard.records import Agent, Artifact, Run, Turn
from blackboard.store import artifacts as artifact_store
from blackboard.store import runs as run_store
from blackboard.store.database import Database

TurnRunner = Callable[["Program", "Offered", Agent], Awaitable["Outcome | None"]]
"""Carries out one offered turn (calls a model, or waits for an external agent); returns
its outcome when it has it at hand (None: the program reads it back)."""


class Offered:
    """A turn as offered to its agent: its bundle at once, its stored record when written.

    An offer is a durable write of its own. Nothing the agent does needs to wait for it
    except its answer, so a model is called while its turn's offer commits, and the time
    of one commit comes off every model turn. An external agent can see a turn only once
    it is stored, so its wait starts after that (see driver.py).
    """

    def __init__(self, bundle: dict[str, Any], stored: "asyncio.Future[Turn]") -> None:
        self.bundle = bundle
        self._stored = stored

    @classmethod
    def of(cls, turn: Turn) -> "Offered":
        """A turn offered before (by a controller that resumed the run, say)."""
        stored: asyncio.Future[Turn] = asyncio.get_running_loop().create_future()
        stored.set_result(turn)
        return cls(turn.bundle, stored)

    async def stored(self) -> Turn:
        """The turn as written; LostRun if the run was taken over before it was."""
        return await self._stored


class Stop(Exception):
    """End the run now, with this reason (a budget ran out, the run stalled, …)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Outcome:
    """What one turn came to."""

    turn: Turn
    artifacts: list[Artifact]

    @property
    def acted(self) -> bool:
        """Whether the agent took a role and published."""
        return self.turn.status == "completed"


@dataclass
class Usage:
    """What a run has spent so far, shared by the turns it offers at once."""

    turns: int = 0
    tokens: int = 0


@dataclass
class Program:
    """One run being driven: its parameters, roster, and the primitives."""

    db: Database
    run: Run
    agents: dict[UUID, Agent]
    run_turn: TurnRunner
    default_view: View
    started: float = field(default_factory=time.monotonic)
    _step: int = 0
    _hashes: dict[str, UUID] = field(default_factory=dict)
    existing: dict[int, Turn] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)

    @property
    def roster(self) -> list[Agent]:
        """The run's agents, in roster order."""
        return [self.agents[a] for a in self.run.roster]

    @property
    def rounds(self) -> int:
        """How many rounds the run asks for."""
        return int(self.run.params.get("rounds", 1))

    @functools.cached_property
    def _base_view(self) -> View:
        override = self.run.params.get("view")
        return View.model_validate({**self.default_view.model_dump(), **(override or {})})

    def view(self, **overrides: Any) -> View:
        """The run's view (the protocol's default, or the run's override) with changes."""
        return self._base_view.model_copy(update=overrides)

    def header(self, agent: Agent, phase: str, round_: int, **extra: Any) -> dict[str, Any]:
        """What every step sees besides artifacts: the goal, who it is, what to do."""
        return {
            "run_id": str(self.run.id),
            "protocol": self.run.protocol,
            "phase": phase,
            "round": round_,
            "goal": {"title": self.run.goal or ""},
            "you": {"id": str(agent.id), "name": agent.name, "capabilities": agent.capabilities},
            "artifact_types": [
                "goal",
                "plan",
                "proposal",
                "finding",
                "critique",
                "decision",
                "result",
            ],
            **extra,
        }

    def _guard(self) -> None:
        """Budgets: stop before offering a turn the run can no longer afford."""
        limits = self.run.params
        if limits.get("max_turns") is not None and self.usage.turns >= limits["max_turns"]:
            raise Stop(f"turn budget of {limits['max_turns']} used up")
        if limits.get("max_tokens") is not None and self.usage.tokens >= limits["max_tokens"]:
            raise Stop(f"token budget of {limits['max_tokens']} used up")
        wall = limits.get("max_wall_s")
        if wall is not None and time.monotonic() - self.started >= wall:
            raise Stop(f"wall-time budget of {wall}s used up")

    async def load(self) -> None:
        """Read what the run already did (when a controller resumes it)."""
        async with self.db.connection() as conn:
            for turn in await run_store.turns_of(conn, run_id=self.run.id):
                self.existing[turn.step] = turn
        # every turn offered counts against the turn budget, answered or not yet
        self.usage.turns = max(self.run.turns_used, len(self.existing))
        self.usage.tokens = self.run.tokens_used

    async def turn(
        self,
        agent: Agent,
        *,
        phase: str,
        round: int,
        view: View | None = None,
        inputs: list[UUID] | None = None,
        only_ids: list[UUID] | None = None,
        **extra: Any,
    ) -> Outcome:
        """Offer one turn to `agent` (or pick up the one already at this step) and return
        its outcome once it is answered, declined, invalid, or past its deadline."""
        self._step += 1
        step = self._step
        turn = self.existing.get(step)
        known: Outcome | None = None
        if turn is None or turn.status == "offered":
            if turn is None:
                self._guard()
                # counted when offered, so that turns offered at once cannot overrun the budget
                self.usage.turns += 1
                offered = await self._offer(
                    agent, step, phase, round, view or self.view(), inputs, only_ids, extra
                )
            else:
                offered = Offered.of(turn)
            known = await self.run_turn(self, offered, agent)
            await offered.stored()  # an outcome counts only for an offer that was stored
            turn = known.turn if known is not None else await self._read_back(step)
            self.usage.tokens += int(turn.call.get("tokens_in") or 0) + int(
                turn.call.get("tokens_out") or 0
            )
        published: list[Artifact] = known.artifacts if known is not None else []
        if turn.artifact_ids and not published:
            async with self.db.connection() as conn:
                published = await artifact_store.get_many(conn, ids=turn.artifact_ids)
        self._check_repeats(published)
        return Outcome(turn, published)

    async def _read_back(self, step: int) -> Turn:
        async with self.db.connection() as conn:
            found = await run_store.turn_at(conn, run_id=self.run.id, step=step)
        assert found is not None
        return found

    async def turns(self, offers: list[tuple[Agent, dict[str, Any]]]) -> list[Outcome]:
        """Offer several turns at once (steps numbered in list order) and await them all.

        If one of them ends the run (a budget, a repeat, an error), the others are still
        awaited to their outcome first: a run never ends with turns of it left open."""
        base = self._step
        self._step += len(offers)

        async def one(i: int, agent: Agent, kwargs: dict[str, Any]) -> Outcome:
            sub = Program(
                self.db,
                self.run,
                self.agents,
                self.run_turn,
                self.default_view,
                self.started,
                base + i,
                self._hashes,
                self.existing,  # a resumed run reuses the turns it already has
                self.usage,  # one budget for the whole run
            )
            return await sub.turn(agent, **kwargs)

        settled = await asyncio.gather(
            *(one(i, agent, kwargs) for i, (agent, kwargs) in enumerate(offers)),
            return_exceptions=True,
        )
        results: list[Outcome] = []
        for r in settled:
            if isinstance(r, BaseException):
                raise r
            results.append(r)
        return results

    async def _offer(
        self,
        agent: Agent,
        step: int,
        phase: str,
        round_: int,
        view: View,
        inputs: list[UUID] | None,
        only_ids: list[UUID] | None,
        extra: dict[str, Any],
    ) -> Offered:
        async with self.db.connection() as conn:
            bundle, manifest = await build_bundle(
                conn,
                run=self.run,
                view=view,
                header=self.header(agent, phase, round_, **extra),
                inputs=inputs,
                only_ids=only_ids,
            )
        store = functools.partial(
            run_store.offer_turn,
            turn_id=uuid4(),
            run_id=self.run.id,
            lease_token=self.run.lease_token,
            board_id=self.run.board_id,
            agent_id=agent.id,
            model=agent.model,
            step=step,
            round=round_,
            phase=phase,
            timeout_s=float(self.run.params.get("turn_timeout_s", 60.0)),
            bundle=bundle,
            manifest=manifest,
        )
        written = asyncio.create_task(self.db.run(store, atomic=False))  # one statement
        # should the agent's side fail first, the write's own failure is not left unread
        written.add_done_callback(lambda t: t.cancelled() or t.exception())
        # Let the write go out before the agent's side starts: PostgreSQL then runs it while
        # a model works. Otherwise it waits for the model call's first yield, which for a
        # fast model comes after most of its work (bench_controller: -15% per turn).
        await asyncio.sleep(0)
        return Offered(bundle, written)

    def _check_repeats(self, published: list[Artifact]) -> None:
        """Loop guard: the same content published again in this run stops it."""
        for a in published:
            first = self._hashes.setdefault(a.content_hash, a.id)
            if first != a.id:
                raise Stop(f"repeat: artifact {a.id} repeats the content of {first}")


def stalled(outcomes: list[Outcome]) -> bool:
    """Stall guard: a whole round in which nobody acted."""
    return bool(outcomes) and not any(o.acted for o in outcomes)
