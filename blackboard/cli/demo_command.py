"""`blackboard demo` — an offline, end-to-end tour: a real service, model-backed agents, a run.

The demo is the composition root at work: it starts PostgreSQL (embedded unless
BLACKBOARD_DATABASE_URL is set) and the API in this process, then acts like any user
would — over HTTP only: it registers the reference agents (scripted models by default),
creates a board per protocol, starts a run and follows it turn by turn. `run_demo` returns
a `DemoSummary` (plain data); the command only prints it.
"""

import contextlib
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from blackboard.config import Settings

__all__ = [
    "DEFAULT_GOAL",
    "PROTOCOLS",
    "DemoSummary",
    "RunSummary",
    "TurnLine",
    "register",
    "run_demo",
]

PROTOCOLS = ("sequential", "coordinator", "broadcast", "shared", "solo")
"""Every built-in protocol; `solo` is the single-agent baseline."""

DEFAULT_GOAL = "Explain why the sky is blue"

REFERENCE_AGENTS: tuple[tuple[str, str], ...] = (
    ("planner", "planner"),
    ("researcher", "research"),
    ("critic", "critique"),
    ("synthesiser", "synthesis"),
)
"""(name, capability) of the reference agents, in roster order."""

SOLO_AGENT = ("generalist", ",".join(capability for _, capability in REFERENCE_AGENTS))
"""The solo baseline's one agent: every capability of the team in a single agent."""

_TERMINAL = {"completed", "stopped"}


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
    run_id: str
    status: str
    stop_reason: str | None
    turns: list[TurnLine]
    artifacts_by_type: dict[str, int]
    roles_claimed: dict[str, int]
    abstention_reasons: list[str]
    tokens: int
    wall_s: float
    duplicates: int
    keys: list[str]

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


@dataclass
class DemoSummary:
    """The whole demo: where it ran and every run's figures."""

    url: str
    admin_token: str
    goal: str
    data_dir: Path
    embedded: bool
    startup_s: float
    runs: list[RunSummary] = field(default_factory=list)

    @property
    def port(self) -> int:
        """The port the API listened on."""
        return int(self.url.rsplit(":", 1)[1])

    def curl_commands(self, run: RunSummary) -> list[str]:
        """Copy-paste commands to inspect `run`'s history over the API."""
        auth = f'-H "Authorization: Bearer {self.admin_token}"'
        board = f"{self.url}/v1/boards/{run.board_id}"
        commands = [
            f'curl -s "{board}/artifacts?latest=false" {auth}',
            f'curl -s "{board}/events?after=0" {auth}',
            f'curl -s "{board}/abstentions" {auth}',
            f'curl -s "{self.url}/v1/runs/{run.run_id}" {auth}',
            f'curl -s "{self.url}/v1/runs/{run.run_id}/calls" {auth}',
        ]
        if run.keys:
            commands.append(f'curl -s "{board}/keys/{run.keys[0]}/history" {auth}')
        commands.append(f'curl -s "{self.url}/v1/runs/{run.run_id}/metrics" {auth}')
        return commands

    def compare_command(self) -> str:
        """A copy-paste command that puts every run of the demo side by side."""
        runs = "&".join(f"run_id={r.run_id}" for r in self.runs)
        auth = f'-H "Authorization: Bearer {self.admin_token}"'
        return f'curl -s "{self.url}/v1/runs/compare?{runs}" {auth}'


TurnCallback = Callable[[str, TurnLine], None]


def _listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


@contextlib.contextmanager
def serving(settings: Settings, port: int = 0) -> Iterator[tuple[str, str]]:
    """Start the database (embedded unless configured), migrate, and serve the API with its
    in-process controller on 127.0.0.1 in a background thread; yield (url, admin token).
    Everything is stopped again on exit."""
    import uvicorn

    from api.app import create_app
    from blackboard.cli.runtime import admin_token, database_url
    from blackboard.store import migrate

    token, _ = admin_token(settings)
    with database_url(settings) as url:
        if settings.auto_migrate:
            migrate.upgrade(url)
        sock = _listening_socket("127.0.0.1", port)
        port = int(sock.getsockname()[1])
        served = settings.model_copy(
            update={
                "database_url": url,
                "admin_token": SecretStr(token),
                "host": "127.0.0.1",
                "port": port,
                "controller_in_process": True,
            }
        )
        config = uvicorn.Config(
            create_app(served),
            lifespan="on",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="blackboard-demo-api", daemon=True
        )
        thread.start()
        try:
            deadline = time.monotonic() + 30
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("the API did not start")
                time.sleep(0.01)
            yield f"http://127.0.0.1:{port}", token
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            sock.close()


def _all_items(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list endpoint paged with `after` / `next_after`."""
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        r = client.get(path, params={**params, "after": after, "limit": 500})
        r.raise_for_status()
        page = r.json()
        items.extend(page["items"])
        if not page["items"] or page.get("next_after") is None:
            return items
        after = page["next_after"]


def _register_agents(client: httpx.Client, model: str | None) -> dict[str, dict[str, Any]]:
    agents: dict[str, dict[str, Any]] = {}
    for name, capabilities in (*REFERENCE_AGENTS, SOLO_AGENT):
        r = client.post(
            "/v1/agents",
            json={
                "name": name,
                "capabilities": capabilities.split(","),
                "description": f"demo agent ({capabilities})",
                "model": model or f"scripted:{capabilities}",
            },
        )
        r.raise_for_status()
        agents[name] = r.json()
    return agents


def _turn_line(turn: dict[str, Any], names: dict[str, str]) -> TurnLine:
    manifest = turn.get("manifest") or {}
    return TurnLine(
        step=int(turn["step"]),
        round=int(turn["round"]),
        phase=str(turn["phase"]),
        agent=names.get(str(turn["agent_id"]), str(turn["agent_id"])),
        status=str(turn["status"]),
        role=turn.get("role"),
        reason=turn.get("reason"),
        artifacts=len(turn.get("artifact_ids") or []),
        shown=len(manifest.get("shown") or []),
        hidden=int(manifest.get("hidden_total") or 0),
    )


def _one_run(
    client: httpx.Client,
    *,
    protocol: str,
    goal: str,
    rounds: int,
    agents: dict[str, dict[str, Any]],
    on_turn: TurnCallback | None,
    poll_s: float,
    pace_s: float,
    timeout_s: float,
) -> RunSummary:
    names = {a["id"]: name for name, a in agents.items()}
    team = [agents[name] for name, _ in REFERENCE_AGENTS]
    roster = [agents[SOLO_AGENT[0]]] if protocol == "solo" else team
    r = client.post(
        "/v1/boards", json={"name": f"demo-{protocol}", "mission": f"{goal} ({protocol})"}
    )
    r.raise_for_status()
    board_id = r.json()["id"]
    started = time.monotonic()
    r = client.post(
        f"/v1/boards/{board_id}/runs",
        json={
            "protocol": protocol,
            "roster": [a["id"] for a in roster],
            "goal": goal,
            "rounds": rounds,
        },
    )
    r.raise_for_status()
    run_id = r.json()["id"]
    reported: set[str] = set()
    deadline = started + timeout_s
    while True:
        r = client.get(f"/v1/runs/{run_id}")
        r.raise_for_status()
        detail = r.json()
        for turn in sorted(detail["turns"], key=lambda t: t["step"]):
            if turn["status"] != "offered" and turn["id"] not in reported:
                reported.add(turn["id"])
                if on_turn is not None:
                    on_turn(protocol, _turn_line(turn, names))
                    if pace_s:
                        time.sleep(pace_s)
        if detail["run"]["status"] in _TERMINAL:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"the {protocol} run did not finish within {timeout_s:.0f} s")
        time.sleep(poll_s)
    wall_s = time.monotonic() - started

    r = client.get(f"/v1/runs/{run_id}/calls")
    r.raise_for_status()
    calls = sorted(r.json()["items"], key=lambda c: c["step"])
    by_turn = {c["turn_id"]: c for c in calls}
    turns = [
        _turn_line({**t, "manifest": by_turn.get(t["id"], t).get("manifest")}, names)
        for t in sorted(detail["turns"], key=lambda t: t["step"])
    ]
    artifacts = _all_items(client, f"/v1/boards/{board_id}/artifacts", latest="false")
    # the service's own figure: the same content from different agents
    r = client.get(f"/v1/runs/{run_id}/metrics")
    r.raise_for_status()
    duplicates = int(r.json()["summary"]["duplicate_artifacts"])
    abstentions = _all_items(client, f"/v1/boards/{board_id}/abstentions")
    run = detail["run"]
    return RunSummary(
        protocol=protocol,
        board_id=board_id,
        run_id=run_id,
        status=run["status"],
        stop_reason=run.get("stop_reason"),
        turns=turns,
        artifacts_by_type=dict(Counter(a["type"] for a in artifacts)),
        roles_claimed=dict(Counter(c["role"] for c in detail["claims"])),
        abstention_reasons=[a["reason"] for a in abstentions],
        tokens=int(run.get("tokens_used") or 0),
        wall_s=wall_s,
        duplicates=duplicates,
        keys=list(dict.fromkeys(a["key"] for a in artifacts)),
    )


@contextlib.contextmanager
def _data_dir(settings: Settings, data_dir: Path | None) -> Iterator[Settings]:
    """Settings on `data_dir`, or on a fresh temporary one removed afterwards."""
    if data_dir is not None:
        yield settings.model_copy(update={"data_dir": data_dir})
        return
    tmp = Path(tempfile.mkdtemp(prefix="blackboard-demo-"))
    try:
        yield settings.model_copy(update={"data_dir": tmp})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_demo(
    settings: Settings,
    protocols: tuple[str, ...] = ("sequential",),
    *,
    rounds: int = 1,
    goal: str = DEFAULT_GOAL,
    model: str | None = None,
    data_dir: Path | None = None,
    on_turn: TurnCallback | None = None,
    on_ready: Callable[[DemoSummary], None] | None = None,
    fast: bool = False,
    timeout_s: float = 120.0,
    hold: Callable[[DemoSummary], None] | None = None,
    port: int = 0,
) -> DemoSummary:
    """Serve Blackboard, run each of `protocols` on its own board with the reference agents,
    and return what happened. `port` 0 picks a free one; `fast` keeps rounds at 1 and skips
    cosmetic pauses; `hold`, if given, is called with the summary while the service still
    runs (to keep serving)."""
    if unknown := [p for p in protocols if p not in PROTOCOLS]:
        raise ValueError(f"unknown protocol(s): {', '.join(unknown)}")
    if fast:
        rounds = 1
    began = time.monotonic()
    with (
        _data_dir(settings, data_dir) as demo_settings,
        serving(demo_settings, port) as (
            url,
            token,
        ),
    ):
        summary = DemoSummary(
            url=url,
            admin_token=token,
            goal=goal,
            data_dir=demo_settings.data_dir.resolve(),
            embedded=not demo_settings.database_url,
            startup_s=time.monotonic() - began,
        )
        if on_ready is not None:
            on_ready(summary)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            agents = _register_agents(client, model)
            for protocol in protocols:
                summary.runs.append(
                    _one_run(
                        client,
                        protocol=protocol,
                        goal=goal,
                        rounds=rounds,
                        agents=agents,
                        on_turn=on_turn,
                        poll_s=0.02 if fast else 0.05,
                        pace_s=0.0 if fast else 0.05,
                        timeout_s=timeout_s,
                    )
                )
        if hold is not None:
            hold(summary)
    return summary


# ----------------------------------------------------------------------------- printing


_STATUS_STYLE = {
    "completed": "green",
    "abstained": "yellow",
    "timed_out": "red",
    "invalid": "red",
}


def _print_turn(console: Console, protocol: str, turn: TurnLine) -> None:
    style = _STATUS_STYLE.get(turn.status, "white")
    what = (
        f"as [bold]{turn.role}[/bold], {turn.artifacts} artifact(s)"
        if turn.status == "completed"
        else (turn.reason or "")
    )
    console.print(
        f"  [dim]{protocol:<11}[/dim] step {turn.step:>2} r{turn.round} {turn.phase:<10} "
        f"{turn.agent:<12} [{style}]{turn.status:<9}[/{style}] {what} "
        f"[dim](saw {turn.shown}, hidden {turn.hidden})[/dim]"
    )


def _print_run(console: Console, summary: DemoSummary, run: RunSummary) -> None:
    console.rule(f"[bold]{run.protocol}[/bold] — {run.status}: {run.stop_reason}")
    types = Table(title="Artifacts per type (every version)")
    types.add_column("type")
    types.add_column("count", justify="right")
    for type_, count in sorted(run.artifacts_by_type.items()):
        types.add_row(type_, str(count))
    types.add_row("[bold]total[/bold]", f"[bold]{run.artifact_count}[/bold]")
    console.print(types)

    roles = Table(title="Roles claimed")
    roles.add_column("role")
    roles.add_column("claims", justify="right")
    for role, count in sorted(run.roles_claimed.items()):
        roles.add_row(role, str(count))
    console.print(roles)

    console.print(f"[bold]Abstentions: {run.abstentions}[/bold]")
    if run.abstention_reasons:
        absent = Table()
        absent.add_column("reason")
        absent.add_column("count", justify="right")
        for reason, count in Counter(run.abstention_reasons).most_common():
            absent.add_row(reason, str(count))
        console.print(absent)

    context = Table(title="Context per turn (from the calls' manifests)")
    for column in ("step", "agent", "phase", "status", "role", "shown", "hidden"):
        context.add_column(
            column, justify="right" if column in ("step", "shown", "hidden") else "left"
        )
    for t in run.turns:
        context.add_row(
            str(t.step), t.agent, t.phase, t.status, t.role or "", str(t.shown), str(t.hidden)
        )
    console.print(context)
    console.print(
        f"stop reason: [bold]{run.stop_reason}[/bold]   turns: {len(run.turns)}   "
        f"tokens: {run.tokens}   duplicate work: {run.duplicates}   wall time: {run.wall_s:.2f} s"
    )
    console.print("[bold]Inspect the history:[/bold]")
    for command in summary.curl_commands(run):
        console.print(command, soft_wrap=True, highlight=False, markup=False)


_COMPARED = ("turns", "abstentions", "distinct roles", "artifacts", "tokens", "duplicate work")


def _print_comparison(console: Console, summary: DemoSummary) -> None:
    table = Table(title=f"Protocols compared on {summary.goal!r}")
    table.add_column("protocol")
    table.add_column("status")
    for column in (*_COMPARED, "wall time (s)"):
        table.add_column(column, justify="right")
    for r in summary.runs:
        figures = (len(r.turns), r.abstentions, r.distinct_roles, r.artifact_count, r.tokens)
        table.add_row(r.protocol, r.status, *map(str, (*figures, r.duplicates)), f"{r.wall_s:.2f}")
    console.print(table)
    console.print("[bold]The same side by side, from the service:[/bold]")
    console.print(summary.compare_command(), soft_wrap=True, highlight=False, markup=False)
    console.print("[bold]Inspect each run (and its board's artifacts):[/bold]")
    for run in summary.runs:
        console.print(f"# {run.protocol}", highlight=False, markup=False)
        # the run and its board's artifacts; `demo --protocol P` prints the full set
        for command in [summary.curl_commands(run)[i] for i in (3, 0)]:
            console.print(command, soft_wrap=True, highlight=False, markup=False)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def register(app: typer.Typer) -> None:
    """Add the `demo` command to `app`."""

    @app.command()
    def demo(
        protocol: Annotated[
            str, typer.Option(help=f"Protocol to run: {', '.join(PROTOCOLS)}.")
        ] = "sequential",
        compare: Annotated[
            bool, typer.Option("--compare", help="Run every protocol and compare them.")
        ] = False,
        rounds: Annotated[int, typer.Option(min=1, max=50, help="Rounds per run.")] = 2,
        data_dir: Annotated[
            Path | None,
            typer.Option(help="Data directory to keep (default: a fresh temporary one)."),
        ] = None,
        fast: Annotated[
            bool, typer.Option("--fast", help="One round, no cosmetic pauses (for tests).")
        ] = False,
        model: Annotated[
            str | None,
            typer.Option(help="Model spec for every agent (default: scripted per capability)."),
        ] = None,
        goal: Annotated[str, typer.Option(help="The goal of the runs.")] = DEFAULT_GOAL,
        keep: Annotated[
            bool, typer.Option("--keep", help="Keep serving after the demo until Ctrl-C.")
        ] = False,
    ) -> None:
        """Run a protocol end to end, offline: embedded PostgreSQL, the API, scripted
        model-backed agents (planner, researcher, critic, synthesiser), and a summary."""
        console = Console()
        if protocol not in PROTOCOLS:
            raise typer.BadParameter(
                f"choose one of {', '.join(PROTOCOLS)}", param_hint="--protocol"
            )
        protocols = PROTOCOLS if compare else (protocol,)

        def ready(summary: DemoSummary) -> None:
            where = f"{summary.data_dir} (embedded)" if summary.embedded else "external database"
            console.print(
                f"[bold]Blackboard demo[/bold] — API {summary.url}, data {where}, "
                f"ready in {summary.startup_s:.1f} s"
            )
            console.print(f"goal: {summary.goal!r}; protocols: {', '.join(protocols)}")

        def hold(summary: DemoSummary) -> None:
            if not keep:
                return
            _report(console, summary, compare=compare)
            console.print(f"[bold]Serving at {summary.url}[/bold] — Ctrl-C to stop.")
            signal.signal(signal.SIGTERM, _interrupt)  # stop PostgreSQL on SIGTERM too
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(1)

        began = time.monotonic()
        summary = run_demo(
            Settings(),
            protocols,
            rounds=rounds,
            goal=goal,
            model=model,
            data_dir=data_dir,
            on_turn=lambda p, t: _print_turn(console, p, t),
            on_ready=ready,
            fast=fast,
            hold=hold,
        )
        if not keep:
            _report(console, summary, compare=compare)
            if data_dir is not None and summary.embedded:
                again = f"blackboard serve --data-dir {summary.data_dir} --port {summary.port}"
                console.print(
                    f"[dim]The service has stopped; `{again}` serves this history again "
                    "for the commands above.[/dim]"
                )
            elif summary.embedded:
                console.print(
                    "[dim]The service has stopped and its temporary data is gone: use "
                    "--keep to keep serving, or --data-dir to keep the data.[/dim]"
                )
        console.print(f"total wall time {time.monotonic() - began:.1f} s")


def _report(console: Console, summary: DemoSummary, *, compare: bool) -> None:
    if compare:
        _print_comparison(console, summary)
    else:
        for run in summary.runs:
            _print_run(console, summary, run)
