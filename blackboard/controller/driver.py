"""The controller process: leases runs, drives each with its protocol, carries out turns.

Runs inside the API process by default, and as `blackboard worker` processes when asked.
Each run is driven by one controller at a time (a lease on the run row, renewed while it
drives); when a controller dies its lease runs out and another takes the run over,
replaying its finished turns (see program.py) and carrying on from the first open one.
"""

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

from langchain_core.language_models import BaseChatModel

from blackboard.background import cancel_and_wait
from blackboard.controller.llm import TurnDecision, decide, model_from_spec
from blackboard.controller.program import Offered, Outcome, Program, Stop
from blackboard.controller.protocols import PROTOCOLS
from blackboard.drafts import ArtifactDraft
from blackboard.errors import BlackboardError
from blackboard.records import Agent, Run, Turn
from blackboard.services import turns
from blackboard.services.schemas import SchemaCache
from blackboard.services.validation import validate_body
from blackboard.store import agents as agent_store
from blackboard.store import events as event_store
from blackboard.store import run_endings
from blackboard.store import runs as run_store
from blackboard.store.database import Database
from blackboard.store.events import EventDraft
from blackboard.store.runs import LostRun

log = logging.getLogger(__name__)

EXTERNAL_POLL_S = 0.05


class Controller:
    """Drives runs until cancelled."""

    def __init__(
        self,
        db: Database,
        schemas: SchemaCache,
        *,
        lease_s: float = 15.0,
        poll_s: float = 0.2,
        max_runs: int = 32,
        models: dict[str, BaseChatModel] | None = None,
    ) -> None:
        self.db = db
        self.schemas = schemas
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.max_runs = max_runs
        self.name = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.models: dict[str, BaseChatModel] = dict(models or {})
        self.active: dict[UUID, asyncio.Task[None]] = {}

    async def run_forever(self) -> None:
        """Pick up drivable runs as they appear; drive up to `max_runs` at once.

        Cancelling it stops the runs it drives too; their leases let another controller
        resume them.
        """
        try:
            await self._take_runs()
        finally:
            await cancel_and_wait(list(self.active.values()))

    async def _take_runs(self) -> None:
        while True:
            try:
                while len(self.active) < self.max_runs:
                    async with self.db.connection() as conn:
                        run = await run_store.take_drivable(
                            conn, controller=self.name, lease_s=self.lease_s
                        )
                    if run is None:
                        break
                    task = asyncio.create_task(self.drive(run))
                    self.active[run.id] = task
                    task.add_done_callback(self._forget_run(run.id))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("controller could not take runs; retrying")
            await asyncio.sleep(self.poll_s)

    def _forget_run(self, run_id: UUID) -> Callable[[asyncio.Task[None]], None]:
        def forget(_: asyncio.Task[None]) -> None:
            self.active.pop(run_id, None)

        return forget

    async def drive(self, run: Run) -> None:
        """Drive one run to its end (or until another controller takes it over)."""
        driving = asyncio.current_task()
        assert driving is not None
        renewing = asyncio.create_task(self._renew(run, driving))
        try:
            async with self.db.connection() as conn:
                roster = await agent_store.get_many(conn, agent_ids=run.roster)
                if run.turns_used == 0 and not await run_store.turns_of(conn, run_id=run.id):
                    await self._event(run, "run.started", controller=self.name)
            registered = PROTOCOLS[run.protocol]
            program = Program(
                self.db, run, {a.id: a for a in roster}, self._run_turn, registered.default_view
            )
            await program.load()
            try:
                reason = await registered.run(program)
                status = "completed"
            except Stop as stop:
                reason, status = stop.reason, "stopped"
            await self._finish(run, status, reason)
        except LostRun:
            log.info("run %s was taken over by another controller", run.id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or a lost database: record why the run ended
            log.exception("run %s failed", run.id)
            try:
                await self._finish(run, "stopped", f"controller error: {exc}")
            except Exception:
                log.exception("could not record the failure of run %s", run.id)
        finally:
            renewing.cancel()

    async def _renew(self, run: Run, driving: "asyncio.Task[Any]") -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                async with self.db.connection() as conn:
                    await run_store.renew_lease(
                        conn, run_id=run.id, lease_token=run.lease_token, lease_s=self.lease_s
                    )
            except LostRun:
                driving.cancel()  # this drive, not a newer one of the same run
                return
            except Exception:
                log.exception("could not renew the lease on run %s", run.id)

    async def _finish(self, run: Run, status: str, reason: str) -> None:
        async with self.db.transaction() as conn:
            finished = await run_endings.finish(
                conn,
                run_id=run.id,
                board_id=run.board_id,
                lease_token=run.lease_token,
                status=status,
                reason=reason,
            )
            await event_store.append(
                conn,
                board_id=run.board_id,
                events=[
                    EventDraft(
                        f"run.{status}",
                        subject_id=run.id,
                        data={
                            "reason": reason,
                            "turns": finished.turns_used,
                            "tokens": finished.tokens_used,
                        },
                    )
                ],
            )

    async def _event(self, run: Run, kind: str, **data: Any) -> None:
        async with self.db.connection() as conn:
            await event_store.append(
                conn, board_id=run.board_id, events=[EventDraft(kind, subject_id=run.id, data=data)]
            )

    async def _run_turn(self, p: Program, offered: Offered, agent: Agent) -> Outcome | None:
        if agent.model:
            return await self._model_turn(offered, agent)
        await self._external_turn(await offered.stored())
        return None

    async def _external_turn(self, turn: Turn) -> None:
        """Wait for the agent to answer over REST; past the deadline the turn times out."""
        while True:
            async with self.db.connection() as conn:
                state = await run_store.turn_state(conn, turn_id=turn.id)
            assert state is not None
            if state.status != "offered":
                return
            if not state.open:
                async with self.db.transaction() as conn:
                    await turns.close_unanswered(
                        conn, turn=turn, status="timed_out", reason="no answer by the deadline"
                    )
                return
            await asyncio.sleep(EXTERNAL_POLL_S)

    def model_for(self, spec: str) -> BaseChatModel:
        """Return the chat model for a spec (built once per controller)."""
        if spec not in self.models:
            self.models[spec] = model_from_spec(spec)
        return self.models[spec]

    async def _model_turn(self, offered: Offered, agent: Agent) -> Outcome | None:
        """Call the agent's model with the bundle alone (while the offer is being written),
        and record what it did."""
        assert agent.model is not None
        names = list(offered.bundle.get("artifact_types", []))
        found = self.schemas.remembered(names)
        if found is None:
            async with self.db.connection() as conn:  # a type not registered is absent
                found = await self.schemas.validators(conn, names=names)
        validators = {name: compiled for name, (_, compiled) in found.items()}

        def validate(decision: TurnDecision) -> list[str]:
            problems = []
            for i, out in enumerate(decision.artifacts):
                checked = validators.get(out.type)
                if checked is None:
                    problems.append(f"artifacts[{i}]: type {out.type!r} is not registered")
                    continue
                try:
                    validate_body(checked, out.body, f"/artifacts/{i}/body")
                except BlackboardError as exc:
                    problems += [f"{e.path}: {e.message}" for e in getattr(exc, "errors", [])]
            return problems

        started = time.perf_counter()
        try:
            call = await decide(
                self.model_for(agent.model),
                bundle=offered.bundle,
                validate=validate,
                model_name=agent.model,
            )
        except Exception as exc:  # the model endpoint failed: the turn is invalid, the run goes on
            turn = await offered.stored()
            async with self.db.transaction() as conn:
                await turns.close_unanswered(
                    conn,
                    turn=turn,
                    status="invalid",
                    reason=f"model call failed: {exc}",
                    call={
                        "model": agent.model,
                        "latency_ms": (time.perf_counter() - started) * 1000,
                    },
                )
            return None
        record = call.to_dict()
        tokens = (call.tokens_in or 0) + (call.tokens_out or 0)
        turn = await offered.stored()
        try:
            if call.outcome == "acted" and call.decision is not None:
                d = call.decision
                async with self.db.connection() as conn:  # one statement (see turns.complete)
                    closed, published = await turns.complete(
                        conn,
                        turn_id=turn.id,
                        agent=agent,
                        role=d.role or "contributor",
                        drafts=[
                            ArtifactDraft(type=o.type, body=o.body, key=o.key, parents=o.parents)
                            for o in d.artifacts
                        ],
                        rationale=d.rationale,
                        confidence=d.confidence,
                        schemas=self.schemas,
                        call=record,
                        tokens=tokens,
                        offered=turn,
                    )
                return Outcome(closed, published)
            if call.outcome == "abstained" and call.decision is not None:
                async with self.db.connection() as conn:  # one statement (see turns.abstain)
                    abstained = await turns.abstain(
                        conn,
                        turn_id=turn.id,
                        agent=agent,
                        reason=call.decision.reason or "declined",
                        confidence=call.decision.confidence,
                        call=record,
                        tokens=tokens,
                        offered=turn,
                    )
                return Outcome(abstained, [])
            async with self.db.transaction() as conn:
                await turns.close_unanswered(
                    conn,
                    turn=turn,
                    status="invalid",
                    reason="; ".join(call.errors) or "invalid output",
                    call=record,
                    tokens=tokens,
                )
        except (BlackboardError, ValueError) as exc:  # e.g. a parent that does not exist
            async with self.db.transaction() as conn:
                await turns.close_unanswered(
                    conn, turn=turn, status="invalid", reason=str(exc), call=record, tokens=tokens
                )
        return None  # invalid: the program reads the closed turn back
