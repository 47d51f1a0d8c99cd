"""`blackboard` — serve the API, migrate the database, print the version."""

import contextlib
import inspect
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

import blackboard
from blackboard import defaults
from blackboard.cli import agent_command, demo_command, mcp_command

if TYPE_CHECKING:
    from blackboard.config import Settings

app = typer.Typer(
    name="blackboard",
    help="A shared-artifact coordination service for LLM agents.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        help="Data directory (embedded PostgreSQL, admin token).",
        envvar="BLACKBOARD_DATA_DIR",
        show_envvar=True,
        show_default=defaults.DATA_DIR,
    ),
]


APP = "api.app:create_app"
"""The API, as the factory that each worker process calls."""


class _Shutdown(Exception):
    """SIGTERM arrived."""


def _raise_shutdown(signum: int, frame: object) -> None:
    raise _Shutdown


def _settings(**overrides: object) -> "Settings":
    from blackboard.config import Settings

    settings = Settings()
    return settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            help="Interface to bind.",
            envvar="BLACKBOARD_HOST",
            show_envvar=True,
            show_default=defaults.HOST,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="Port to bind.",
            envvar="BLACKBOARD_PORT",
            show_envvar=True,
            show_default=str(defaults.PORT),
        ),
    ] = None,
    data_dir: DataDir = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="API worker processes.",
            envvar="BLACKBOARD_WORKERS",
            show_envvar=True,
            show_default=str(defaults.WORKERS),
        ),
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
) -> None:
    """Start the API (and an embedded PostgreSQL unless one is configured).

    Without BLACKBOARD_DATABASE_URL it runs an embedded PostgreSQL in the data directory,
    migrates it, and stops it again on Ctrl-C or SIGTERM.
    """
    import uvicorn

    from blackboard.cli import service
    from blackboard.cli import workers as workers_module
    from blackboard.cli.runtime import admin_token

    settings = _settings(host=host, port=port, data_dir=data_dir, workers=workers)
    try:  # before anything else: a busy port must not cost a database start
        service.check_port(settings.host, settings.port)
    except service.PortInUse as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(1) from None
    token, token_source = admin_token(settings)
    with service.database_ready(settings) as url:
        # Workers are separate processes that read their settings from the environment.
        os.environ["BLACKBOARD_DATABASE_URL"] = url
        os.environ["BLACKBOARD_ADMIN_TOKEN"] = token
        address = service.Address(
            f"http://{settings.host}:{settings.port}", token, token_source, service.where(settings)
        )
        console.print(f"[bold]Blackboard {blackboard.__version__}[/bold]")
        for label, value in address.lines():
            console.print(f"  {label:<11} {value}", highlight=False)
        # uvicorn re-raises SIGTERM once it has shut down; turning that into an exception
        # (as SIGINT already is) lets the `with` above stop the embedded PostgreSQL.
        signal.signal(signal.SIGTERM, _raise_shutdown)
        options: dict[str, Any] = {
            "factory": True,
            "host": settings.host,
            "port": settings.port,
            "loop": "uvloop",
            "http": "httptools",
            "log_level": settings.log_level,
            "access_log": access_log,
        }
        status = 0
        with contextlib.suppress(KeyboardInterrupt, _Shutdown):
            if settings.workers > 1 and workers_module.reuse_port_supported():
                config = uvicorn.Config(APP, **options)
                status = workers_module.Workers(config, settings.workers).run()
            else:
                uvicorn.run(APP, workers=settings.workers, **options)
        console.print("stopping the database…" if not settings.database_url else "stopped")
    if status:
        raise typer.Exit(status)


@app.command()
def worker(
    data_dir: DataDir = None,
    max_runs: Annotated[int, typer.Option(help="Runs driven at once by this worker.")] = 32,
) -> None:
    """Drive runs in this process (a controller without the API).

    Start several for more capacity or to take over the runs of one that dies; set
    BLACKBOARD_CONTROLLER_IN_PROCESS=false on the API processes to leave runs to workers.
    """
    import asyncio

    from blackboard.cli.runtime import database_url
    from blackboard.controller.driver import Controller
    from blackboard.services.schemas import SchemaCache
    from blackboard.store.database import Database

    settings = _settings(data_dir=data_dir)

    async def drive(url: str) -> None:
        db = Database(url, pool_size=settings.pool_size)
        await db.open()
        try:
            controller = Controller(
                db, SchemaCache(), lease_s=settings.run_lease_s, max_runs=max_runs
            )
            console.print(f"worker {controller.name} driving runs")
            await controller.run_forever()
        finally:
            await db.close()

    signal.signal(signal.SIGTERM, _raise_shutdown)
    with database_url(settings) as url, contextlib.suppress(KeyboardInterrupt, _Shutdown):
        asyncio.run(drive(url))


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    data_dir: DataDir = None,
) -> None:
    """Upgrade the database schema to REVISION (default: head)."""
    from blackboard.cli.runtime import database_url
    from blackboard.store import migrate as migrations

    with database_url(_settings(data_dir=data_dir)) as url:
        migrations.upgrade(url, revision)
    console.print(f"migrated to {revision}")


agent_command.register(app)
demo_command.register(app)
mcp_command.register(app)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(blackboard.__version__)


def _unwrapped(text: str) -> str:
    """`text` with each paragraph on one line: typer's rich help keeps a docstring's line
    breaks, which then break lines again in the middle of the terminal."""
    return "\n\n".join(" ".join(p.split()) for p in inspect.cleandoc(text).split("\n\n"))


for _command in app.registered_commands:
    _command.help = _unwrapped(_command.help or inspect.getdoc(_command.callback) or "")
