"""The demo's driver: agents, boards and runs made and followed through the Python SDK.

It acts as any user of the service would, over HTTP with `agents.client.Client`: registers
the reference agents (scripted models that revise their work, by default), creates a board
per protocol, starts a run there and follows it turn by turn, then reads back what the run
did. What it finds is plain data (`DemoSummary`); `demo_report` prints it.
"""

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from agents.client import (
    AbstentionPage,
    Agent,
    AgentCreated,
    Artifact,
    Client,
    NameTaken,
    Page,
    RunDetail,
    Turn,
)

__all__ = [
    "DemoError",
    "DemoSummary",
    "Observer",
    "Quiet",
    "RunSummary",
    "TurnLine",
    "drive",
]

REFERENCE_AGENTS: tuple[tuple[str, str], ...] = (
    ("planner", "planner"),
    ("researcher", "research"),
    ("critic", "critique"),
    ("synthesiser", "synthesis"),
)
"""(name, capability) of the reference agents, in roster order."""

SOLO_AGENT = ("generalist", ",".join(capability for _, capability in REFERENCE_AGENTS))
"""The solo baseline's one agent: every capability of the team in a single agent."""

GUARDS: tuple[tuple[str, str], ...] = (("plan/main", "planner"),)
"""(key pattern, role) guarded on every demo board: only the planner's turn writes the plan,
under the claim the controller takes for that turn. (Not `plan/*`: the coordinator protocol
writes `plan/assignments` as the coordinator.)"""

THINK_S = 0.25
"""How long a scripted agent takes per answer, so that a run lasts long enough for the
inspector's charts over time to show its course (none with --fast)."""

_TERMINAL = {"completed", "stopped"}

T = TypeVar("T")


class DemoError(Exception):
    """The demo cannot go on; the message says why and what to do."""


@dataclass
class TurnLine:
    """One finished turn, as the demo reports it."""

    step: int
    round: int
    phase: str
    agent: str
    status: str
    role: str | None
    reason: str | None
    artifacts: int
    shown: int
    hidden: int


@dataclass
class RunSummary:
    """What one run did, read back over the API."""

    protocol: str
    board_id: str
    board_name: str
    run_id: str
    status: str
    stop_reason: str | None
    turns: list[TurnLine]
    artifacts_by_type: dict[str, int]
    versions_by_key: dict[str, int]
    roles_claimed: dict[str, int]
    abstention_reasons: list[str]
    tokens: int
    wall_s: float | None
    """The service's own: from the run's start to its end."""
    duplicates: int
    guards: list[tuple[str, str]] = field(default_factory=list)
    """(key pattern, role) of the board's guards."""
    fenced_by_key: dict[str, int] = field(default_factory=dict)
    """Versions of each key written under a claim's fencing token."""

    @property
    def abstentions(self) -> int:
        """How many abstentions were recorded on the board."""
        return len(self.abstention_reasons)

    @property
    def artifact_count(self) -> int:
        """Every artifact version published on the board."""
        return sum(self.artifacts_by_type.values())

    @property
    def distinct_roles(self) -> int:
        """How many different roles were claimed."""
        return len(self.roles_claimed)

    @property
    def revised_keys(self) -> list[str]:
        """Keys with more than one version: their history and diff show the revision."""
        return [key for key, versions in self.versions_by_key.items() if versions > 1]


@dataclass
class DemoSummary:
    """The whole demo: the service it used, the agent whose token it prints, and each run."""

    url: str
    admin_token: str
    agent_name: str
    agent_token: str
    goal: str
    data: str
    started_service: bool
    startup_s: float
    data_dir: Path | None = None
    runs: list[RunSummary] = field(default_factory=list)

    def board_page(self, run: RunSummary) -> str:
        """The inspector's page of the run's board."""
        return f"{self.url}/inspector/boards/{run.board_id}"

    def run_page(self, run: RunSummary) -> str:
        """The inspector's page of the run."""
        return f"{self.url}/inspector/runs/{run.run_id}"

    def exports(self) -> list[str]:
        """Shell lines that the curl commands rely on: the URL and an agent's token."""
        return [f"export BB={self.url}", f"export TOKEN={self.agent_token}"]

    def curl_commands(self, run: RunSummary) -> list[str]:
        """Copy-paste commands (after `exports()`) that read `run`'s history over the API."""
        auth = '-H "Authorization: Bearer $TOKEN"'
        board = f"$BB/v1/boards/{run.board_id}"
        commands = [
            f'curl -s "{board}/artifacts?latest=false" {auth}',
            f'curl -s "{board}/events?after=0" {auth}',
            f'curl -s "{board}/abstentions" {auth}',
            f'curl -s "$BB/v1/runs/{run.run_id}" {auth}',
            f'curl -s "$BB/v1/runs/{run.run_id}/calls" {auth}',
        ]
        commands += [f'curl -s "{board}/keys/{key}/history" {auth}' for key in run.revised_keys]
        commands.append(f'curl -s "$BB/v1/runs/{run.run_id}/metrics" {auth}')
        commands.append(f'curl -s "{board}/guards" {auth}')
        return commands

    def compare_command(self) -> str:
        """A copy-paste command that puts every run of the demo side by side."""
        runs = "&".join(f"run_id={r.run_id}" for r in self.runs)
        return f'curl -s "$BB/v1/runs/compare?{runs}" -H "Authorization: Bearer $TOKEN"'


class Observer(Protocol):
    """Told how the demo goes, as it goes."""

    def stage(self, what: str) -> None:
        """What the demo does now (starting PostgreSQL, a run's next step, …)."""

    def ready(self, summary: DemoSummary) -> None:
        """The service answers and the agents are registered."""

    def turn(self, protocol: str, turn: TurnLine) -> None:
        """A turn of a run has finished."""

    def run_done(self, run: RunSummary) -> None:
        """A run has ended."""


class Quiet:
    """An observer that ignores it all."""

    def stage(self, what: str) -> None:
        pass

    def ready(self, summary: DemoSummary) -> None:
        pass

    def turn(self, protocol: str, turn: TurnLine) -> None:
        pass

    def run_done(self, run: RunSummary) -> None:
        pass


def _unique(create: Callable[[str], T], name: str) -> T:
    """`create(name)`, or with `-2`, `-3`, … appended while the name is taken (a demo run
    again on the same data keeps the earlier demos' agents and boards)."""
    for n in range(1, 1000):
        try:
            return create(name if n == 1 else f"{name}-{n}")
        except NameTaken:
            continue
    raise DemoError(f"every name from {name!r} to {name}-999 is taken")


def _pages(read: Callable[[int], Page[T]]) -> Iterator[T]:
    after = 0
    while True:
        page = read(after)
        yield from page.items
        if not page.items:
            return
        after = page.next_after


def _turn_line(turn: Turn, names: dict[str, str], manifest: dict[str, object]) -> TurnLine:
    shown = manifest.get("shown")
    return TurnLine(
        step=turn.step,
        round=turn.round,
        phase=turn.phase,
        agent=names.get(str(turn.agent_id), str(turn.agent_id)),
        status=turn.status,
        role=turn.role,
        reason=turn.reason,
        artifacts=len(turn.artifact_ids),
        shown=len(shown) if isinstance(shown, list) else 0,
        hidden=int(str(manifest.get("hidden_total") or 0)),
    )


class _Demo:
    """The runs of one demo, on one service, by one set of agents."""

    def __init__(self, client: Client, goal: str, observer: Observer) -> None:
        self.client = client
        self.goal = goal
        self.observer = observer
        self.agents: dict[str, AgentCreated] = {}

    def register(self, model: str | None, think_s: float) -> AgentCreated:
        """Register the reference agents and the solo agent; return the planner."""
        for name, capabilities in (*REFERENCE_AGENTS, SOLO_AGENT):
            spec = model or f"scripted:{capabilities}?revise=true&think_s={think_s:g}"

            def create(n: str, caps: str = capabilities, spec: str = spec) -> AgentCreated:
                return self.client.register_agent(
                    n, caps.split(","), description=f"demo agent ({caps})", model=spec
                )

            self.agents[name] = _unique(create, name)
        return self.agents["planner"]

    def names(self) -> dict[str, str]:
        return {str(a.id): a.name for a in self.agents.values()}

    def run(self, protocol: str, rounds: int, *, poll_s: float, timeout_s: float) -> RunSummary:
        """Run `protocol` on a board of its own; follow it to its end; read back its figures."""
        roster: list[Agent] = (
            [self.agents[SOLO_AGENT[0]]]
            if protocol == "solo"
            else [self.agents[name] for name, _ in REFERENCE_AGENTS]
        )
        board = _unique(
            lambda n: self.client.create_board(n, mission=f"{self.goal} ({protocol})"),
            f"demo-{protocol}",
        )
        for pattern, role in GUARDS:
            self.client.create_guard(board.id, pattern, role)
        run = self.client.start_run(
            board.id, protocol, [a.id for a in roster], self.goal, rounds=rounds
        )
        names = self.names()
        reported: set[str] = set()
        deadline = time.monotonic() + timeout_s
        while True:
            detail = self.client.get_run(run.id)
            for turn in sorted(detail.turns, key=lambda t: t.step):
                if turn.status == "offered":
                    agent = names.get(str(turn.agent_id), "?")
                    self.observer.stage(f"{protocol}: step {turn.step}, {agent} is thinking")
                elif str(turn.id) not in reported:
                    reported.add(str(turn.id))
                    self.observer.turn(protocol, _turn_line(turn, names, turn.manifest))
            if detail.run.status in _TERMINAL:
                break
            if time.monotonic() > deadline:
                raise DemoError(f"the {protocol} run did not finish within {timeout_s:.0f} s")
            time.sleep(poll_s)
        summary = self._summary(protocol, board.name, detail)
        self.observer.run_done(summary)
        return summary

    def _summary(self, protocol: str, board_name: str, detail: RunDetail) -> RunSummary:
        run, names = detail.run, self.names()
        manifests = {c.turn_id: c.manifest for c in self.client.run_calls(run.id)}
        artifacts: list[Artifact] = list(
            _pages(
                lambda after: self.client.list_artifacts(
                    run.board_id, latest=False, after=after, limit=500
                )
            )
        )

        def abstentions(after: int) -> AbstentionPage:
            return self.client.list_abstentions(run.board_id, after=after, limit=500)

        wall_s = None
        if run.started_at is not None and run.ended_at is not None:
            wall_s = round((run.ended_at - run.started_at).total_seconds(), 3)
        metrics = self.client.run_metrics(run.id)
        return RunSummary(
            protocol=protocol,
            board_id=str(run.board_id),
            board_name=board_name,
            run_id=str(run.id),
            status=run.status,
            stop_reason=run.stop_reason,
            turns=[
                _turn_line(t, names, manifests.get(t.id, t.manifest))
                for t in sorted(detail.turns, key=lambda t: t.step)
            ],
            artifacts_by_type=dict(Counter(a.type for a in artifacts)),
            versions_by_key=dict(Counter(a.key for a in artifacts)),
            roles_claimed=dict(Counter(c.role for c in detail.claims)),
            abstention_reasons=[a.reason for a in _pages(abstentions)],
            tokens=run.tokens_used,
            wall_s=wall_s,
            # the service's own figure: the same content from different agents
            duplicates=int(metrics["summary"]["duplicate_artifacts"]),
            guards=[(g.key_pattern, g.role) for g in self.client.list_guards(run.board_id)],
            fenced_by_key=dict(Counter(a.key for a in artifacts if a.fencing_token is not None)),
        )


def drive(
    client: Client,
    summary: DemoSummary,
    protocols: tuple[str, ...],
    *,
    rounds: int,
    model: str | None,
    observer: Observer,
    fast: bool,
    timeout_s: float,
) -> None:
    """Register the agents, then run each protocol in turn, adding its figures to `summary`
    (`client` carries the admin token)."""
    demo = _Demo(client, summary.goal, observer)
    observer.stage("registering the agents")
    planner = demo.register(model, 0.0 if fast else THINK_S)
    summary.agent_name, summary.agent_token = planner.name, planner.token
    observer.ready(summary)
    for protocol in protocols:
        observer.stage(f"{protocol}: starting the run")
        summary.runs.append(
            demo.run(protocol, rounds, poll_s=0.02 if fast else 0.05, timeout_s=timeout_s)
        )
