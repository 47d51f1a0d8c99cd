"""What `blackboard demo` prints: a status line from the first moment, a line per finished
turn and the stop reason of every run as it goes, then the figures of each run, where to
look at them in the inspector, and curl commands that read them from the API."""

from collections import Counter
from typing import TYPE_CHECKING

from rich.console import Console
from rich.status import Status
from rich.table import Table

from blackboard.key_patterns import KeyPattern

if TYPE_CHECKING:  # the SDK loads with the driver, after the status line shows
    from blackboard.cli.demo_driver import DemoSummary, RunSummary, TurnLine

_STATUS_STYLE = {
    "completed": "green",
    "abstained": "yellow",
    "timed_out": "red",
    "invalid": "red",
}


def _plain(console: Console, line: str) -> None:
    """A line to copy: never wrapped, never styled."""
    console.print(line, soft_wrap=True, highlight=False, markup=False)


class LiveReport:
    """Prints the demo as it goes (a `demo_driver.Observer`). On a terminal the current
    stage is a spinner's status line; elsewhere (a pipe, a log) each stage is a line."""

    def __init__(self, console: Console, protocols: tuple[str, ...]) -> None:
        self.console = console
        self.protocols = protocols
        self._status: Status | None = None
        if console.is_terminal:
            self._status = console.status("starting…")
            self._status.start()

    def close(self) -> None:
        """Stop the status line (before the final report)."""
        if self._status is not None:
            self._status.stop()
            self._status = None

    def stage(self, what: str) -> None:
        if self._status is not None:
            self._status.update(what)
        elif "thinking" not in what:  # a step's wait is a spinner's business, not a log's
            self.console.print(f"[dim]… {what}[/dim]", highlight=False)

    def ready(self, summary: "DemoSummary") -> None:
        how = "started here" if summary.started_service else "already running"
        self.console.print(
            f"[bold]Blackboard demo[/bold] — service {summary.url} ({how}, "
            f"ready in {summary.startup_s:.1f} s), data {summary.data}",
            highlight=False,
        )
        self.console.print(
            f"goal: {summary.goal!r}; protocols: {', '.join(self.protocols)}", highlight=False
        )

    def turn(self, protocol: str, turn: "TurnLine") -> None:
        style = _STATUS_STYLE.get(turn.status, "white")
        what = (
            f"as [bold]{turn.role}[/bold], {turn.artifacts} artifact(s)"
            if turn.status == "completed"
            else (turn.reason or "")
        )
        self.console.print(
            f"  [dim]{protocol:<11}[/dim] step {turn.step:>2} r{turn.round} {turn.phase:<10} "
            f"{turn.agent:<12} [{style}]{turn.status:<9}[/{style}] {what} "
            f"[dim](saw {turn.shown}, hidden {turn.hidden})[/dim]",
            highlight=False,
        )

    def run_done(self, run: "RunSummary") -> None:
        style = "green" if run.status == "completed" else "yellow"
        self.console.print(
            f"  [bold]{run.protocol}[/bold] [{style}]{run.status}[/{style}]: "
            f"{run.stop_reason or 'no reason given'}",
            highlight=False,
        )


def _run_tables(console: Console, run: "RunSummary") -> None:
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
    revised = ", ".join(run.revised_keys) or "none"
    console.print(
        f"stop reason: [bold]{run.stop_reason}[/bold]   turns: {len(run.turns)}   "
        f"tokens: {run.tokens}   duplicate work: {run.duplicates}   revised keys: {revised}   "
        f"wall time (the service's): {_seconds(run.wall_s)}",
        highlight=False,
    )
    _fencing(console, run)


def _fencing(console: Console, run: "RunSummary") -> None:
    """Per guard, how many versions of the guarded keys carry a fencing token."""
    for pattern, role in run.guards:
        covered = KeyPattern.parse(pattern)
        keys = [k for k in run.versions_by_key if covered.scope_of(k) is not None]
        for key in keys:
            fenced, versions = run.fenced_by_key.get(key, 0), run.versions_by_key[key]
            console.print(
                f"guard {pattern} → {role}: {key}'s versions were written under fencing "
                f"tokens ({fenced} of {versions})",
                highlight=False,
            )


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


_COMPARED = ("turns", "abstentions", "distinct roles", "artifacts", "tokens", "duplicate work")


def _comparison(console: Console, summary: "DemoSummary") -> None:
    table = Table(title=f"Protocols compared on {summary.goal!r} (figures from the service)")
    table.add_column("protocol")
    table.add_column("status")
    for column in (*_COMPARED, "wall time (s)"):
        table.add_column(column, justify="right")
    for r in summary.runs:
        figures = (len(r.turns), r.abstentions, r.distinct_roles, r.artifact_count, r.tokens)
        wall = "—" if r.wall_s is None else f"{r.wall_s:.2f}"
        table.add_row(r.protocol, r.status, *map(str, (*figures, r.duplicates)), wall)
    console.print(table)


def _where_to_look(console: Console, summary: "DemoSummary", *, compare: bool) -> None:
    console.rule("[bold]Explore[/bold]")
    _plain(console, f"In the browser: {summary.url}/inspector/")
    _plain(console, f"  log in with the admin token {summary.admin_token}")
    for run in summary.runs:
        _plain(console, f"  {run.protocol:<11} board  {summary.board_page(run)}")
        _plain(console, f"  {'':<11} run    {summary.run_page(run)}")
    console.print(
        f"Over the API, as the agent {summary.agent_name!r} (any agent's token reads every board):",
        highlight=False,
    )
    for line in summary.exports():
        _plain(console, line)
    for run in summary.runs:
        _plain(console, f"# {run.protocol}: board {run.board_name}")
        commands = summary.curl_commands(run)
        # side by side, the run and its artifacts each; `demo --protocol P` prints them all
        for command in [commands[3], commands[0]] if compare else commands:
            _plain(console, command)
    if compare:
        _plain(console, "# every run side by side")
        _plain(console, summary.compare_command())


def final_report(
    console: Console, summary: "DemoSummary", *, compare: bool, stopped: bool, fresh: bool
) -> None:
    """The figures of every run, where to look at them, and whether the service still runs."""
    if compare:
        _comparison(console, summary)
    else:
        for run in summary.runs:
            _run_tables(console, run)
    _where_to_look(console, summary, compare=compare)
    if not summary.started_service:
        console.print(f"[dim]The service at {summary.url} keeps running.[/dim]", highlight=False)
    elif fresh:
        console.print(
            "[dim]The service has stopped and its temporary data is gone (--fresh); without "
            "--fresh the boards stay for `blackboard serve`.[/dim]",
            highlight=False,
        )
    elif stopped:
        console.print(
            f"[dim]The service has stopped; its boards stay in {summary.data}. "
            f"`blackboard serve` on the same data dir serves them again at {summary.url} "
            "for the links and commands above (or use --keep).[/dim]",
            highlight=False,
        )
