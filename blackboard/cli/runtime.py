"""What `serve` and `migrate` share: finding the database and the admin token."""

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from blackboard.config import Settings
from blackboard.services.credentials import new_admin_token
from blackboard.store.embedded import EmbeddedPostgres


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """Yield the database URL: the configured one, or an embedded server's, stopped
    afterwards if this process owns it (see `blackboard.store.ownership`)."""
    if settings.database_url:
        yield settings.database_url
        return
    embedded = EmbeddedPostgres(settings.pgdata)
    try:
        with stopped_by_sigterm():
            url = embedded.start()
            Console(stderr=True).print(f"PostgreSQL {settings.pgdata}: {embedded.describe()}")
            yield url
    finally:  # also when start-up failed half-way: do not leave a server behind
        embedded.stop()
        if embedded.shared_with:
            Console(stderr=True).print(
                f"PostgreSQL left running for process {embedded.shared_with}"
            )


@contextmanager
def stopped_by_sigterm() -> Iterator[None]:
    """Within, SIGTERM interrupts as Ctrl-C does, so that what the block started is
    stopped on the way out (the default would end the process on the spot)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may handle signals
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def admin_token(settings: Settings) -> tuple[str, str]:
    """Return the admin token and where it comes from, generating and keeping one if unset."""
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value(), "BLACKBOARD_ADMIN_TOKEN"
    path = settings.admin_token_file
    if path.exists():
        return path.read_text().strip(), str(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = new_admin_token()
    # Created readable by the owner only: the token is the keys to every board.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token, str(path)
