"""`blackboard demo` — an offline tour that leaves boards to explore.

It works on the data of `blackboard serve` (BLACKBOARD_DATA_DIR, default ./.blackboard): if
a service already answers at the configured address it runs there, otherwise it starts one
(`service.in_background`) and stops it afterwards, leaving the boards for `serve`. `--fresh`
uses a throw-away data directory and any free port instead. The runs themselves are made
through the SDK (`demo_driver`); what is printed is `demo_report`'s.

Only light modules are imported at the top, so that the status line shows within a moment
of the command starting, before the service's own imports.
"""

import contextlib
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from blackboard.cli.demo_report import LiveReport, final_report

if TYPE_CHECKING:
    from blackboard.cli.demo_driver import DemoSummary, Observer
    from blackboard.cli.service import Address
    from blackboard.config import Settings

__all__ = ["DEFAULT_GOAL", "PROTOCOLS", "register", "run_demo"]

PROTOCOLS = ("sequential", "coordinator", "broadcast", "shared", "solo")
"""Every built-in protocol; `solo` is the single-agent baseline."""

DEFAULT_GOAL = "Explain why the sky is blue"


def _answers(url: str) -> bool:
    from agents.client import BlackboardError, Client

    with Client(url, timeout=2, retries=0) as client:
        try:
            return client.health().status == "ok"
        except BlackboardError:
            return False


def _known_admin_token(settings: "Settings", url: str) -> tuple[str, str]:
    from blackboard.cli.demo_driver import DemoError

    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value(), "BLACKBOARD_ADMIN_TOKEN"
    if settings.admin_token_file.exists():
        return settings.admin_token_file.read_text().strip(), str(settings.admin_token_file)
    raise DemoError(
        f"a service answers at {url}, but there is no admin token for it here (neither "
        f"BLACKBOARD_ADMIN_TOKEN nor {settings.admin_token_file}): run the demo with the "
        "data dir that service uses, or with --fresh"
    )


@contextlib.contextmanager
def _service(
    settings: "Settings", fresh: bool, observer: "Observer"
) -> Iterator[tuple["Address", bool]]:
    """Yield the address of the service the demo uses, and whether it was started here."""
    from blackboard.cli import service

    if fresh:
        tmp = Path(tempfile.mkdtemp(prefix="blackboard-demo-"))
        try:
            throwaway = settings.model_copy(update={"data_dir": tmp, "port": 0})
            with service.in_background(throwaway, observer.stage) as address:
                yield address, True
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    url = f"http://{settings.host}:{settings.port}"
    observer.stage(f"looking for a service at {url}")
    if _answers(url):
        token, source = _known_admin_token(settings, url)
        yield service.Address(url, token, source, service.where(settings)), False
        return
    with service.in_background(settings, observer.stage) as address:
        yield address, True


def run_demo(
    settings: "Settings",
    protocols: tuple[str, ...] = ("sequential",),
    *,
    rounds: int = 2,
    goal: str | None = None,
    model: str | None = None,
    fresh: bool = False,
    observer: "Observer | None" = None,
    fast: bool = False,
    timeout_s: float = 120.0,
    hold: "Callable[[DemoSummary], None] | None" = None,
) -> "DemoSummary":
    """Run each of `protocols` on a board of its own, on the service of `settings` (found
    running, or started here and stopped afterwards), and return what happened. `fast`
    keeps rounds at 1 and the agents quick; `hold`, if given, is called with the summary
    while the service still runs."""
    from agents.client import APIError, Client
    from blackboard.cli.demo_driver import DemoError, DemoSummary, Quiet, drive

    if unknown := [p for p in protocols if p not in PROTOCOLS]:
        raise ValueError(f"unknown protocol(s): {', '.join(unknown)}")
    observer = observer or Quiet()
    began = time.monotonic()
    with _service(settings, fresh, observer) as (address, started):
        summary = DemoSummary(
            url=address.url,
            admin_token=address.admin_token,
            agent_name="",
            agent_token="",
            goal=goal or DEFAULT_GOAL,
            data=address.data,
            started_service=started,
            startup_s=time.monotonic() - began,
            data_dir=None if fresh else settings.data_dir.resolve(),
        )
        with Client(address.url, address.admin_token) as client:
            try:
                drive(
                    client,
                    summary,
                    protocols,
                    rounds=rounds,
                    model=model,
                    observer=observer,
                    fast=fast,
                    timeout_s=timeout_s,
                )
            except APIError as exc:
                raise DemoError(f"the service at {address.url} refused: {exc}") from exc
        if hold is not None:
            hold(summary)
    return summary


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def register(app: typer.Typer) -> None:
    """Add the `demo` command to `app`."""

    @app.command()
    def demo(
        protocol: Annotated[
            str | None,
            typer.Option(
                help=f"Protocol to run: {', '.join(PROTOCOLS)}.", show_default="sequential"
            ),
        ] = None,
        compare: Annotated[
            bool, typer.Option("--compare", help="Run every protocol and compare them.")
        ] = False,
        rounds: Annotated[int, typer.Option(min=1, max=50, help="Rounds per run.")] = 2,
        fresh: Annotated[
            bool,
            typer.Option(
                "--fresh", help="Use a throw-away data dir and port (removed afterwards)."
            ),
        ] = False,
        fast: Annotated[
            bool, typer.Option("--fast", help="Agents answer without pauses (for tests).")
        ] = False,
        model: Annotated[
            str | None,
            typer.Option(
                help="Model spec for every agent.",
                show_default="scripted per capability",
            ),
        ] = None,
        goal: Annotated[str, typer.Option(help="The goal of the runs.")] = DEFAULT_GOAL,
        keep: Annotated[
            bool, typer.Option("--keep", help="Keep serving after the demo until Ctrl-C.")
        ] = False,
    ) -> None:
        """Run a protocol end to end, offline, and leave its boards to explore.

        Uses the service at BLACKBOARD_HOST:BLACKBOARD_PORT if one answers, else starts one
        on BLACKBOARD_DATA_DIR (as `serve` does) and stops it afterwards; the boards stay.
        Scripted model-backed agents (planner, researcher, critic, synthesiser) take turns.
        """
        console = Console()
        began = time.monotonic()
        if protocol is not None and protocol not in PROTOCOLS:
            raise typer.BadParameter(
                f"choose one of {', '.join(PROTOCOLS)}", param_hint="--protocol"
            )
        if compare and protocol is not None:
            raise typer.BadParameter(
                "--compare runs every protocol; leave out --protocol", param_hint="--protocol"
            )
        protocols = PROTOCOLS if compare else (protocol or "sequential",)
        report = LiveReport(console, protocols)  # first, so that something shows at once
        report.stage("loading the service")
        from blackboard.cli.demo_driver import DemoError
        from blackboard.cli.service import PortInUse
        from blackboard.config import Settings

        def hold(summary: "DemoSummary") -> None:
            report.close()
            final_report(console, summary, compare=compare, stopped=False, fresh=fresh)
            console.print(f"[bold]Serving at {summary.url}[/bold] — Ctrl-C to stop.")
            signal.signal(signal.SIGTERM, _interrupt)  # stop PostgreSQL on SIGTERM too
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(1)

        try:
            summary = run_demo(
                Settings(),
                protocols,
                rounds=rounds,
                goal=goal,
                model=model,
                fresh=fresh,
                observer=report,
                fast=fast,
                hold=hold if keep else None,
            )
        except (DemoError, PortInUse) as exc:
            report.close()
            console.print(f"[red]{exc}[/red]", highlight=False)
            raise typer.Exit(1) from None
        finally:
            report.close()
        if not keep:
            stopped = summary.started_service
            final_report(console, summary, compare=compare, stopped=stopped, fresh=fresh)
        console.print(f"total wall time {time.monotonic() - began:.1f} s", highlight=False)
