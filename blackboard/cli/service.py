"""Starting the service, as `serve` and `demo` both do: check the port before anything else,
start the database (embedded unless configured) and bring its schema up to date, say where
everything is; and, for the demo, serve the API from a background thread.
"""

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pydantic import SecretStr

from blackboard.cli.runtime import admin_token, database_url
from blackboard.config import Settings
from blackboard.store import migrate

Stage = Callable[[str], None]
"""Told what start-up is doing now ("starting PostgreSQL in …", "migrating", …)."""


class PortInUse(Exception):
    """Something already listens where the service would."""


def _quiet(stage: str) -> None:
    pass


def _bound(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # as uvicorn binds: a port left in TIME_WAIT by a stopped service is free again
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}. Is a Blackboard service "
            "already running there? Stop it, or choose another port with --port "
            "(or BLACKBOARD_PORT)."
        ) from exc
    return sock


def check_port(host: str, port: int) -> None:
    """Raise PortInUse unless (host, port) can be listened on now."""
    _bound(host, port).close()


@dataclass(frozen=True)
class Address:
    """Where a running service is, and how to get in."""

    url: str
    admin_token: str
    token_source: str
    data: str

    @property
    def inspector_url(self) -> str:
        """The web inspector's boards list."""
        return f"{self.url}/inspector/"

    @property
    def docs_url(self) -> str:
        """The API reference (Swagger UI)."""
        return f"{self.url}/docs"

    def lines(self) -> list[tuple[str, str]]:
        """(label, value) pairs for a start-up message."""
        return [
            ("API", self.url),
            ("inspector", f"{self.inspector_url}  (log in with the admin token)"),
            ("docs", self.docs_url),
            ("admin token", f"{self.admin_token}  (from {self.token_source})"),
            ("data", self.data),
        ]


def where(settings: Settings) -> str:
    """Where the service's data lives, in words."""
    return "external database" if settings.database_url else f"{settings.pgdata} (embedded)"


@contextlib.contextmanager
def database_ready(settings: Settings, stage: Stage = _quiet) -> Iterator[str]:
    """Yield the URL of the service's database, started (if embedded) and migrated to head;
    an embedded one is stopped again on exit."""
    stage(
        "connecting to the database"
        if settings.database_url
        else f"starting PostgreSQL in {settings.pgdata}"
    )
    with database_url(settings) as url:
        if settings.auto_migrate:
            stage("migrating the database")
            migrate.upgrade(url)
        yield url


@contextlib.contextmanager
def in_background(settings: Settings, stage: Stage = _quiet) -> Iterator[Address]:
    """Serve the API (with its in-process controller) on settings.host:settings.port (0: any
    free port) from a background thread, on a database made ready here; yield its address.
    Everything is stopped again on exit."""
    import uvicorn

    from api.app import create_app

    sock = _bound(settings.host, settings.port)
    try:
        sock.listen(128)
        port = int(sock.getsockname()[1])
        token, source = admin_token(settings)
        with database_ready(settings, stage) as url:
            stage("starting the API")
            served = settings.model_copy(
                update={
                    "database_url": url,
                    "admin_token": SecretStr(token),
                    "port": port,
                    "controller_in_process": True,
                }
            )
            server = uvicorn.Server(
                uvicorn.Config(
                    create_app(served),
                    lifespan="on",
                    log_level="warning",
                    access_log=False,
                    timeout_graceful_shutdown=5,
                )
            )
            thread = threading.Thread(
                target=server.run, kwargs={"sockets": [sock]}, name="blackboard-api", daemon=True
            )
            thread.start()
            try:
                deadline = time.monotonic() + 30
                while not server.started:
                    if not thread.is_alive() or time.monotonic() > deadline:
                        raise RuntimeError("the API did not start")
                    time.sleep(0.01)
                yield Address(f"http://{settings.host}:{port}", token, source, where(settings))
            finally:
                server.should_exit = True
                thread.join(timeout=30)
    finally:
        sock.close()
