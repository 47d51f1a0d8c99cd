"""The keeper of an embedded PostgreSQL: stops it if its owner ends without doing so.

Run by the owner as `python -m blackboard.store.keeper PGDATA` with a pipe as standard
input (see `ownership`). It reads until end of file, which comes when the owner closes
the pipe after stopping the server, or when the owner dies, however it dies. Then, if
no other process has taken the server over, it stops it.
"""

import logging
import os
import sys
from pathlib import Path

from blackboard.store.embedded import EmbeddedPostgres
from blackboard.store.ownership import Ownership

log = logging.getLogger("blackboard.keeper")


def keep(pgdata: Path) -> None:
    """Wait for the owner to end; stop its server if it left one nobody owns."""
    owner = os.getppid()
    sys.stdin.buffer.read()
    ownership = Ownership(pgdata)
    if not ownership.claim(wait_s=10, record=False, ended=owner):
        return  # taken over by another process: its server now
    try:
        if EmbeddedPostgres(pgdata).stop_abandoned():
            log.warning("stopped the PostgreSQL in %s: its owner ended without", pgdata)
    finally:
        ownership.release()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="blackboard keeper: %(message)s")
    keep(Path(sys.argv[1]))
