"""`blackboard agent run MODULE:ATTR` — run an agent written with `agents.runtime`.

The command line is the composition root, the one place in `blackboard` that may import
`agents`: it loads the agent object and hands it to the runtime, which talks to the service
over HTTP like any external agent.
"""

import importlib
from typing import Annotated

import typer

__all__ = ["load_agent", "register"]

agent_app = typer.Typer(help="Run agents written with agents.runtime.", no_args_is_help=True)


def load_agent(spec: str) -> object:
    """The object named by `MODULE:ATTR` (called first if it is a factory, not an Agent)."""
    from agents.runtime import Agent

    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise typer.BadParameter(f"expected MODULE:ATTR, got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise typer.BadParameter(f"cannot import {module_name!r}: {exc}") from exc
    found: object = module
    for part in attr.split("."):
        try:
            found = getattr(found, part)
        except AttributeError as exc:
            raise typer.BadParameter(f"{module_name!r} has no {attr!r}") from exc
    if not isinstance(found, Agent) and callable(found):
        try:
            found = found()
        except TypeError as exc:
            raise typer.BadParameter(f"{spec} is neither an Agent nor a factory: {exc}") from exc
    if not isinstance(found, Agent):
        raise typer.BadParameter(f"{spec} is a {type(found).__name__}, not an agents.runtime.Agent")
    return found


@agent_app.command("run")
def run_agent(
    agent: Annotated[str, typer.Argument(help="The agent to run, as MODULE:ATTR.")],
    url: Annotated[
        str, typer.Option(help="The service's base URL.", envvar="BLACKBOARD_URL")
    ] = "http://127.0.0.1:8000",
    token: Annotated[
        str, typer.Option(help="The agent's token.", envvar="BLACKBOARD_AGENT_TOKEN")
    ] = "",
    board: Annotated[
        list[str] | None,
        typer.Option("--board", help="A board id to follow (repeat; default: every board)."),
    ] = None,
) -> None:
    """Run an agent against the service until Ctrl-C or SIGTERM."""
    from agents.client import BlackboardError, Client
    from agents.runtime import Agent, run

    loaded = load_agent(agent)
    assert isinstance(loaded, Agent)
    if not token:
        raise typer.BadParameter("an agent token is needed (--token or BLACKBOARD_AGENT_TOKEN)")
    boards = list(board or [])
    try:
        if not boards:
            with Client(url, token) as client:
                boards = [str(b.id) for b in client.list_boards(limit=500)]
    except BlackboardError as exc:
        typer.echo(f"cannot reach {url}: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"running {loaded.name} on {len(boards)} board(s) at {url}", err=True)
    run(loaded, url=url, token=token, boards=boards)


def register(app: typer.Typer) -> None:
    """Add the `agent` command group to the CLI."""
    app.add_typer(agent_app, name="agent")
